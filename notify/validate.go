package notify

import (
	"errors"
	"fmt"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
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

func (p *plugin) validateTemplate(app core.App, rec *core.Record) error {
	src := sourceFromRecord(rec)
	ct, err := compile(src)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fieldError(fe.Field, "does not parse: "+fe.Err.Error())
		}
		return err
	}
	for _, coll := range p.collectionsForTemplate(app, src.Key) {
		view, err := p.sampleView(app, coll, src.Locale)
		if err != nil {
			return err
		}
		if _, err := ct.render(view, ""); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return fieldError(fe.Field, fmt.Sprintf("does not render against a sample %s record: %v", coll.Name, fe.Err))
			}
			return err
		}
	}
	return nil
}

// collectionsForTemplate finds the collections whose records a template is
// rendered with: those of the rules that use it, or, for a template no rule
// uses yet, the one its key names (order.* → orders, payment.* → payments,
// user.* → users).
func (p *plugin) collectionsForTemplate(app core.App, key string) []*core.Collection {
	var out []*core.Collection
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		if c, err := app.FindCachedCollectionByNameOrId(name); err == nil {
			seen[name] = true
			out = append(out, c)
		}
	}
	if rules, err := app.FindAllRecords(RulesCollection); err == nil {
		for _, r := range rules {
			if r.GetString("template") == key {
				add(r.GetString("collection"))
			}
		}
	}
	if len(out) == 0 {
		prefix, _, _ := strings.Cut(key, ".")
		for _, name := range []string{prefix + "s", prefix} {
			add(name)
		}
	}
	return out
}
