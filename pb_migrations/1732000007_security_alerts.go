package pb_migrations

import (
	"slices"

	"github.com/pbnotify/pbnotify/notify"
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
		return seedTemplates(app, func(key string) bool { return slices.Contains(securityAlertTemplates, key) })
	}, nil)
}
