package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/templates"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Gives an existing shop's templates the default SMS texts: only where a
// template of a seeded key and language has no sms text yet, so an owner's
// own text is never overwritten. A new shop got them with its templates.
func init() {
	m.Register(func(app core.App) error {
		if err := notify.InstallCollections(app, "users"); err != nil { // the sms field
			return err
		}
		defaults, err := templates.Defaults()
		if err != nil {
			return err
		}
		for _, t := range defaults {
			text := t.Fields["sms"]
			if text == "" {
				continue
			}
			recs, err := app.FindAllRecords(notify.TemplatesCollection, dbx.HashExp{"key": t.Key, "locale": t.Locale, "sms": ""})
			if err != nil {
				return err
			}
			for _, rec := range recs {
				rec.Set("sms", text)
				if err := app.Save(rec); err != nil {
					return err
				}
			}
		}
		return nil
	}, nil)
}
