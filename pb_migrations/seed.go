package pb_migrations

import (
	"fmt"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/templates"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// seedTemplates adds the embedded default templates that want selects and
// the shop does not have yet (by key and locale): a template the owner
// already has, perhaps edited, is left as it is. On a new shop it adds
// every one selected.
func seedTemplates(app core.App, want func(key string) bool) error {
	defaults, err := templates.Defaults()
	if err != nil {
		return fmt.Errorf("seedTemplates: %w", err)
	}
	coll, err := app.FindCollectionByNameOrId(notify.TemplatesCollection)
	if err != nil {
		return fmt.Errorf("seedTemplates: %w", err)
	}
	for _, t := range defaults {
		if !want(t.Key) {
			continue
		}
		n, err := app.CountRecords(coll, dbx.HashExp{"key": t.Key, "locale": t.Locale})
		if err != nil {
			return fmt.Errorf("seedTemplates: %s/%s: %w", t.Locale, t.Key, err)
		}
		if n > 0 {
			continue
		}
		rec := core.NewRecord(coll)
		rec.Set("key", t.Key)
		rec.Set("locale", t.Locale)
		rec.Set("active", true)
		for field, body := range t.Fields {
			rec.Set(field, body)
		}
		if err := app.Save(rec); err != nil {
			return fmt.Errorf("seedTemplates: %s/%s: %w", t.Locale, t.Key, err)
		}
	}
	return nil
}
