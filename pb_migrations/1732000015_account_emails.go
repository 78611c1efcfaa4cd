package pb_migrations

import (
	"slices"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// accountEmailTemplates are the templates of PocketBase's own emails sent
// through the plugin (notify.HookSysmail); no rule sends them.
var accountEmailTemplates = []string{
	notify.TemplateVerification, notify.TemplatePasswordReset, notify.TemplateEmailChange,
	notify.TemplateOTP, notify.TemplateLoginAlert,
}

// PocketBase's own emails: the templates of the verification, password
// reset, email change, one-time code and new sign-in emails, in every
// locale. New shops already got them from 1732000002; existing ones get
// what they lack, and a template the owner already has (perhaps edited) is
// left as it is. Down is a no-op: the rows may be edited, and without them
// PocketBase sends its own emails again.
func init() {
	m.Register(func(app core.App) error {
		return seedTemplates(app, func(key string) bool { return slices.Contains(accountEmailTemplates, key) })
	}, nil)
}
