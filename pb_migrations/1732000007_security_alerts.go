package pb_migrations

import (
	"fmt"
	"slices"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/templates"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// securityAlertTemplates are the templates the plugin's security alerts
// send (notify.HookSecurityAlerts); no rule sends them.
var securityAlertTemplates = []string{notify.TemplatePasswordChanged, notify.TemplateEmailChanged}

// Security alerts: the templates of the password-changed and email-changed
// alerts, in every locale. New shops already got them from 1732000002;
// existing ones get what they lack, and a template the owner already has
// (perhaps edited) is left as it is. Down is a no-op: the rows may be
// edited, and without them the alerts are only logged as not queued.
func init() {
	m.Register(func(app core.App) error {
		defaults, err := templates.Defaults()
		if err != nil {
			return fmt.Errorf("security alerts: %w", err)
		}
		coll, err := app.FindCollectionByNameOrId(notify.TemplatesCollection)
		if err != nil {
			return fmt.Errorf("security alerts: %w", err)
		}
		for _, t := range defaults {
			if !slices.Contains(securityAlertTemplates, t.Key) {
				continue
			}
			n, err := app.CountRecords(coll, dbx.HashExp{"key": t.Key, "locale": t.Locale})
			if err != nil {
				return fmt.Errorf("security alerts: template %s/%s: %w", t.Locale, t.Key, err)
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
				return fmt.Errorf("security alerts: template %s/%s: %w", t.Locale, t.Key, err)
			}
		}
		return nil
	}, nil)
}
