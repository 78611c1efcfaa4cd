package notify

import (
	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Template keys of the security alerts. Their .Data: "at", when the change
// was saved (a date string for the date func); for an email change also
// "oldEmail" and "newEmail".
const (
	TemplatePasswordChanged = "auth.password-changed"
	TemplateEmailChanged    = "auth.email-changed"
)

// securityChannels are the channels a security alert goes out on: every
// one the user has; Send drops those they cannot receive or turned off.
var securityChannels = []string{channels.Email, channels.Telegram, channels.WebPush, channels.Inbox}

// bindSecurityAlerts queues a security alert, in the write's transaction,
// whenever a user's password or email changes: by the user themselves, a
// superuser, a password reset or PocketBase's email-change confirmation,
// which all save the record.
func (p *plugin) bindSecurityAlerts() {
	p.app.OnRecordUpdateExecute(p.cfg.UsersCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookSecurityAlerts,
		Func: func(e *core.RecordEvent) error {
			// Read the change before the write: after it the record's
			// original state is the new one.
			old := e.Record.Original()
			oldEmail, newEmail := old.Email(), e.Record.Email()
			emailChanged := oldEmail != newEmail
			// Get("password") is the plain text, set only in this request;
			// the stored hash tells a real change from a re-save.
			passwordChanged := old.GetString(core.FieldNamePassword+":hash") != e.Record.GetString(core.FieldNamePassword+":hash")
			if !emailChanged && !passwordChanged {
				return e.Next()
			}
			original := e.App
			defer func() { e.App = original }()
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				if err := e.Next(); err != nil {
					return err
				}
				at := outbox.DBTime(p.cfg.Now())
				var alerts []Message
				if passwordChanged {
					alerts = append(alerts, Message{
						User: e.Record.Id, Template: TemplatePasswordChanged, Channels: securityChannels,
						Category: CategorySecurity, Data: map[string]any{"at": at},
					})
				}
				if emailChanged {
					data := map[string]any{"at": at, "oldEmail": oldEmail, "newEmail": newEmail}
					alerts = append(alerts, Message{
						User: e.Record.Id, Template: TemplateEmailChanged, Channels: securityChannels,
						Category: CategorySecurity, Data: data,
					})
					// The old address too: whoever lost the account to
					// someone else still reads it.
					if oldEmail != "" {
						alerts = append(alerts, Message{
							User: e.Record.Id, To: oldEmail, Template: TemplateEmailChanged,
							Channels: []string{channels.Email}, Category: CategorySecurity, Data: data,
						})
					}
				}
				for _, m := range alerts {
					if err := Send(txApp, m); err != nil {
						// A missing or disabled template must not lock the
						// customer out of changing their password: the
						// change stands, and the owner reads why no alert
						// went out in the logs.
						txApp.Logger().Error("notify: a security alert was not queued",
							"template", m.Template, "user", m.User, "error", err)
					}
				}
				return nil
			})
		},
		// Outermost but the enqueue transaction: other hooks on the write
		// run inside, so a failing one rolls the alert back with it.
		Priority: -999,
	})
}
