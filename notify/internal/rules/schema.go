package rules

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// CheckSchemaChange tells whether changing a collection from old to next
// (next nil: deleting it) would break any of the active rules: their
// collection, changed field, condition, guard or recipient path. The error
// names every such rule and what breaks; nil when none would break. A rule
// that was already broken before the change is not held against it.
func CheckSchemaChange(app core.App, active []*Rule, old, next *core.Collection, usersCollection string) error {
	after := &schemaOverlay{App: app, old: old, next: next}
	var problems []string
	for _, rule := range active {
		if Check(app, rule, usersCollection) != nil {
			continue
		}
		if err := Check(after, rule, usersCollection); err != nil {
			problems = append(problems, fmt.Sprintf("rule %q would break (%v)", rule.Name, err))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	what := "changing"
	if next == nil {
		what = "deleting"
	}
	return fmt.Errorf("%s %s is refused: %s; change or disable it in %s first",
		what, old.Name, strings.Join(problems, "; "), CollectionName)
}

// schemaOverlay is the app as it would look after the change: lookups of
// the changed collection return its next state (nothing once deleted or
// under its old name once renamed); everything else is the app's. Rule
// checks and PocketBase's filter resolver look collections up through it.
type schemaOverlay struct {
	core.App
	old, next *core.Collection
}

func (o *schemaOverlay) FindCachedCollectionByNameOrId(nameOrID string) (*core.Collection, error) {
	if c, handled, err := o.lookup(nameOrID); handled {
		return c, err
	}
	return o.App.FindCachedCollectionByNameOrId(nameOrID)
}

func (o *schemaOverlay) FindCollectionByNameOrId(nameOrID string) (*core.Collection, error) {
	if c, handled, err := o.lookup(nameOrID); handled {
		return c, err
	}
	return o.App.FindCollectionByNameOrId(nameOrID)
}

func (o *schemaOverlay) lookup(nameOrID string) (*core.Collection, bool, error) {
	if o.next != nil && (o.next.Id == nameOrID || strings.EqualFold(o.next.Name, nameOrID)) {
		return o.next, true, nil
	}
	if o.old.Id == nameOrID || strings.EqualFold(o.old.Name, nameOrID) {
		return nil, true, sql.ErrNoRows
	}
	return nil, false, nil
}
