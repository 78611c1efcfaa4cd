package notify

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/search"
)

// bindValidation refuses templates and rules that would fail at send time.
// It runs on every save (dashboard, REST API, app.Save), before anything is
// written, so the stored version stays as it was.
func (p *plugin) bindValidation() {
	p.app.OnRecordValidate(TemplatesCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookValidateTemplate,
		Func: func(e *core.RecordEvent) error {
			if err := p.validateTemplate(e.App, e.Record); err != nil {
				return err
			}
			return e.Next()
		},
	})
	p.app.OnRecordValidate(RulesCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookValidateRule,
		Func: func(e *core.RecordEvent) error {
			if err := p.validateRule(e.App, e.Record); err != nil {
				return err
			}
			return e.Next()
		},
	})
}

func fieldError(field, msg string) error {
	return validation.Errors{field: validation.NewError("validation_notify", msg)}
}

// validateTemplate checks a template on save against sample records of
// the collections it is used with.
func (p *plugin) validateTemplate(app core.App, rec *core.Record) error {
	src := render.SourceFromRecord(rec)
	colls, err := p.collectionsForTemplate(app, src.Key)
	if err != nil {
		return err
	}
	return render.Validate(app, src, colls, p.shop())
}

// collectionsForTemplate finds the collections whose records a template is
// rendered with: those of the rules that use it, or, for a template no rule
// uses yet, the one its key names.
func (p *plugin) collectionsForTemplate(app core.App, key string) ([]*core.Collection, error) {
	rules, err := app.FindAllRecords(RulesCollection, dbx.HashExp{"template": key})
	if err != nil && !errors.Is(err, sql.ErrNoRows) { // no rules collection yet: no rules
		return nil, fmt.Errorf("collectionsForTemplate: %w", err)
	}
	used := make([]string, len(rules))
	for i, r := range rules {
		used[i] = r.GetString("collection")
	}
	return render.Collections(app, key, used), nil
}

func (p *plugin) validateRule(app core.App, rec *core.Record) error {
	rule, err := ruleFromRecord(rec)
	if err != nil {
		return fieldError("delay", err.Error())
	}
	if rule.Delay > 366*24*time.Hour {
		return fieldError("delay", "must be at most a year")
	}
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
	if err := p.checkRecipientPath(app, coll, rule.Recipient); err != nil {
		return fieldError("recipient", err.Error())
	}
	n, err := app.CountRecords(TemplatesCollection, dbx.HashExp{"key": rule.Template})
	if err != nil {
		return err
	}
	if n == 0 {
		return fieldError("template", fmt.Sprintf("there is no template with key %q; create it in %s first", rule.Template, TemplatesCollection))
	}
	return nil
}

// checkRecipientPath checks statically that a field path leads from coll to
// a user: relations all the way, the last one pointing at the users
// collection ("id" on the users collection itself).
func (p *plugin) checkRecipientPath(app core.App, coll *core.Collection, path []string) error {
	users, err := app.FindCachedCollectionByNameOrId(p.cfg.UsersCollection)
	if err != nil {
		return err
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
			return err
		}
		if last && next.Id != users.Id {
			return fmt.Errorf("%q points to %s, not to %s", strings.Join(path, "."), next.Name, users.Name)
		}
		cur = next
	}
	return nil
}
