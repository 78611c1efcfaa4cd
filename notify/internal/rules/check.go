package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
)

// MaxDelay is the longest delay a rule may ask for.
const MaxDelay = 366 * 24 * time.Hour

// fieldError is a validation error on one field of the rule record, which
// PocketBase's API answers with 400 and the dashboard shows by the field.
func fieldError(field, msg string) error {
	return validation.Errors{field: validation.NewError("validation_notify_rule", msg)}
}

// Validate parses a notifyRules record being saved and checks it: the
// delay, that every channel is one of channels (the registered ones), and,
// for an active rule, Check. An inactive rule is checked against the schema
// when it is activated, so an admin can always switch off a rule that a
// schema change broke. It returns the rule and validation.Errors keyed by
// the offending field. The caller checks what this package does not know
// (the template).
func Validate(app core.App, rec *core.Record, channels []string, usersCollection string) (*Rule, error) {
	rule, err := FromRecord(rec)
	var pe *ParseError
	if errors.As(err, &pe) {
		return nil, fieldError(pe.Field, pe.Msg)
	}
	if err != nil {
		field := "delay"
		if strings.HasPrefix(err.Error(), "escalateAfter") {
			field = "escalateAfter"
		}
		return nil, fieldError(field, err.Error())
	}
	if rule.Mode == ModeEscalate {
		switch {
		case rule.EscalateAfter <= 0:
			return nil, fieldError("escalateAfter", "set how long a step may go unread before the next channel gets the message, e.g. 30m")
		case rule.EscalateAfter > MaxDelay:
			return nil, fieldError("escalateAfter", "must be at most a year")
		case len(rule.Channels) < 2:
			return nil, fieldError("channels", "an escalating rule needs at least two channels, in the order to try them")
		}
	}
	if rule.Delay > MaxDelay {
		return nil, fieldError("delay", "must be at most a year")
	}
	if err := checkTime(rule); err != nil {
		return nil, err
	}
	for _, ch := range rule.Channels {
		if !slices.Contains(channels, ch) {
			return nil, fieldError("channels", fmt.Sprintf("unknown channel %q; this shop has %s", ch, strings.Join(channels, ", ")))
		}
	}
	if !rule.Active {
		return rule, nil
	}
	if err := Check(app, rule, usersCollection); err != nil {
		return nil, err
	}
	return rule, nil
}

// Check checks a rule against the collections app knows: the watched
// collection, the changed field, the condition and guard filters, and the
// recipient path (single relations leading to usersCollection). It
// returns validation.Errors keyed by the offending field.
func Check(app core.App, rule *Rule, usersCollection string) error {
	coll, err := app.FindCachedCollectionByNameOrId(rule.Collection)
	if err != nil {
		return fieldError("collection", fmt.Sprintf("there is no collection %q", rule.Collection))
	}
	switch {
	case coll.IsView():
		return fieldError("collection", "view collections have no writes to react to")
	case strings.HasPrefix(coll.Name, "notify"):
		return fieldError("collection", "rules cannot watch the plugin's own collections")
	}
	if rule.Event == EventDate {
		switch f := coll.Fields.GetByName(rule.DateField); f.(type) {
		case *core.DateField, *core.AutodateField:
		case nil:
			return fieldError("dateField", fmt.Sprintf("%s has no field %q", coll.Name, rule.DateField))
		default:
			return fieldError("dateField", fmt.Sprintf("%q of %s is a %s field, not a date field", rule.DateField, coll.Name, f.Type()))
		}
	}
	if rule.Changed != "" && coll.Fields.GetByName(rule.Changed) == nil {
		return fieldError("changed", fmt.Sprintf("%s has no field %q", coll.Name, rule.Changed))
	}
	for _, f := range []struct{ field, filter string }{{"condition", rule.Condition}, {"guard", rule.Guard}} {
		if f.filter == "" {
			continue
		}
		resolver := core.NewRecordFieldResolver(app, coll, &core.RequestInfo{}, true)
		if _, err := search.FilterData(f.filter).BuildExpr(resolver); err != nil {
			return fieldError(f.field, fmt.Sprintf("is not a valid filter for %s: %v", coll.Name, err))
		}
	}
	if err := checkRecipientPath(app, coll, rule.Recipient, usersCollection); err != nil {
		return fieldError("recipient", err.Error())
	}
	return nil
}

// checkRecipientPath checks statically that a field path leads from coll to
// a user: relations all the way, the last one pointing at the users
// collection ("id" on the users collection itself). "@staff" instead
// needs the users collection's bool field StaffField.
func checkRecipientPath(app core.App, coll *core.Collection, path []string, usersCollection string) error {
	users, err := app.FindCachedCollectionByNameOrId(usersCollection)
	if err != nil {
		return fmt.Errorf("there is no users collection %q", usersCollection)
	}
	if len(path) == 1 && path[0] == StaffRecipient {
		if _, ok := users.Fields.GetByName(StaffField).(*core.BoolField); !ok {
			return fmt.Errorf("%s needs a bool field %q on %s to tell who the staff are", StaffRecipient, StaffField, users.Name)
		}
		return nil
	}
	for _, name := range path {
		if strings.HasPrefix(name, "@") {
			return fmt.Errorf("%q is not a recipient; use a field path to the user (customer, order.customer, id) or %s", strings.Join(path, "."), StaffRecipient)
		}
	}
	cur := coll
	for i, name := range path {
		last := i == len(path)-1
		if last && name == "id" {
			if cur.Id != users.Id {
				return fmt.Errorf("\"id\" is a user only on the %s collection, not on %s", users.Name, cur.Name)
			}
			return nil
		}
		rel, ok := cur.Fields.GetByName(name).(*core.RelationField)
		if !ok {
			return fmt.Errorf("%q is not a relation field of %s", name, cur.Name)
		}
		if rel.IsMultiple() {
			return fmt.Errorf("%q of %s holds several records; the recipient path needs single relations", name, cur.Name)
		}
		next, err := app.FindCachedCollectionByNameOrId(rel.CollectionId)
		if err != nil {
			return fmt.Errorf("%q of %s points to a collection that no longer exists", name, cur.Name)
		}
		if last && next.Id != users.Id {
			return fmt.Errorf("%q points to %s, not to %s", strings.Join(path, "."), next.Name, users.Name)
		}
		cur = next
	}
	return nil
}

// checkTime checks the time fields of a rule against each other; Check
// checks the date field against the collection.
func checkTime(rule *Rule) error {
	if rule.Event == EventDate {
		switch {
		case rule.DateField == "":
			return fieldError("dateField", "a date rule needs the record's date field to count from, e.g. startsAt")
		case rule.Changed != "":
			return fieldError("changed", "a date rule is rescheduled whenever its record is written; leave changed empty")
		case rule.Delay != 0:
			return fieldError("delay", "a date rule is timed by offset (e.g. -24h), not delay")
		case rule.Debounce:
			return fieldError("debounce", "a date rule keeps one pending message per record already; debounce is for create and update rules")
		case rule.Digest != 0:
			return fieldError("digest", "digest gathers create, update and delete rules; a date rule sends one message per record")
		case rule.Mode == ModeEscalate:
			return fieldError("mode", "a date rule cannot escalate")
		case rule.When.Offset > MaxDelay || rule.When.Offset < -MaxDelay:
			return fieldError("offset", "must be within a year either way")
		}
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"dateField", rule.DateField != ""}, {"offset", rule.When.Offset != 0},
			{"at", rule.When.At != nil}, {"repeat", rule.When.Yearly},
		} {
			if f.set {
				return fieldError(f.name, fmt.Sprintf("%s is only for rules with event %q", f.name, EventDate))
			}
		}
	}
	if rule.Debounce && rule.Delay <= 0 {
		return fieldError("delay", "debounce needs a delay: how long after the last write the message goes out, e.g. 1h")
	}
	if rule.Debounce && rule.Event == EventDelete {
		return fieldError("debounce", "a deleted record is not written again; debounce is for create and update rules")
	}
	if rule.Debounce && rule.Digest != 0 {
		return fieldError("digest", "use either debounce or digest")
	}
	if rule.Digest > MaxDelay {
		return fieldError("digest", "must be at most a year")
	}
	if rule.Digest != 0 && rule.Mode == ModeEscalate {
		return fieldError("digest", "a digest cannot escalate")
	}
	if rule.Throttle.Per > MaxDelay {
		return fieldError("throttle", "its duration must be at most a year")
	}
	return nil
}
