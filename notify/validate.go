package notify

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pocketbase/dbx"
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
