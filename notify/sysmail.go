package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/sysmail"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Template keys of PocketBase's own account emails, sent through the
// outbox instead of PocketBase's fixed English ones (category security).
// What each template sees in .Data:
//
//   - auth.verification: link, token
//   - auth.password-reset: link, token, minutes (how long the link works)
//   - auth.email-change: link, token, newEmail, minutes
//   - auth.otp: code, otpId, minutes
//   - auth.login-alert: at (a date string for the date func), ip,
//     userAgent
//
// The link is the one PocketBase would have sent: from the collection's
// own email template (Collections → users → Options → Mail templates), so
// a shop that points it at its own page keeps it; by default PocketBase's
// pages under {Application URL}/_/#/auth/….
const (
	TemplateVerification  = "auth.verification"
	TemplatePasswordReset = "auth.password-reset"
	TemplateEmailChange   = "auth.email-change"
	TemplateOTP           = "auth.otp"
	TemplateLoginAlert    = "auth.login-alert"
)

// bindSysmail sends PocketBase's own emails to the users collection
// through the outbox: queued in the caller's transaction when there is one,
// sent, retried and logged like every other message, in the customer's
// language. The link or code goes by email alone, to the address PocketBase
// would have used, and is kept apart from the row and masked in the log
// (package sysmail). The login alert goes on every channel the customer has.
//
// A handler that cannot queue (its template was deleted or disabled) lets
// PocketBase send its own email, so no customer is ever locked out. Other
// auth collections (superusers) keep PocketBase's emails.
func (p *plugin) bindSysmail() {
	users := p.cfg.UsersCollection
	bind := func(h *hook.TaggedHook[*core.MailerRecordEvent], fn func(e *core.MailerRecordEvent) error) {
		// Last: it replaces PocketBase's own send, the end of the chain, so
		// an app's handlers (a pb_hooks file changing the message) still run
		// first, and what they set (e.Message.To, the link in its HTML) is
		// what goes out.
		h.Bind(&hook.Handler[*core.MailerRecordEvent]{Id: HookSysmail, Func: fn, Priority: 999})
	}
	bind(p.app.OnMailerRecordVerificationSend(users), func(e *core.MailerRecordEvent) error {
		token := metaString(e, "token")
		link := p.actionLink(e, token, "confirm-verification")
		return p.queueAccountMail(e, TemplateVerification, map[string]any{},
			map[string]string{"token": token, "link": link},
			e.Record.Collection().VerificationToken.DurationTime(), nil)
	})
	bind(p.app.OnMailerRecordPasswordResetSend(users), func(e *core.MailerRecordEvent) error {
		token := metaString(e, "token")
		ttl := e.Record.Collection().PasswordResetToken.DurationTime()
		link := p.actionLink(e, token, "confirm-password-reset")
		return p.queueAccountMail(e, TemplatePasswordReset, map[string]any{"minutes": minutes(ttl)},
			map[string]string{"token": token, "link": link}, ttl, nil)
	})
	bind(p.app.OnMailerRecordEmailChangeSend(users), func(e *core.MailerRecordEvent) error {
		token := metaString(e, "token")
		ttl := e.Record.Collection().EmailChangeToken.DurationTime()
		link := p.actionLink(e, token, "confirm-email-change")
		// The new address is not a secret: the customer typed it, and the
		// email-changed alert names it anyway.
		data := map[string]any{"newEmail": metaString(e, "newEmail"), "minutes": minutes(ttl)}
		return p.queueAccountMail(e, TemplateEmailChange, data,
			map[string]string{"token": token, "link": link}, ttl, nil)
	})
	bind(p.app.OnMailerRecordOTPSend(users), func(e *core.MailerRecordEvent) error {
		otpID := metaString(e, "otpId")
		ttl := e.Record.Collection().OTP.DurationTime()
		// PocketBase records where it sent the code (the OTP's sentTo), and
		// signing in with it then verifies that address. The code goes to
		// that one address only, so it is recorded when queued.
		sentTo := func(txApp core.App, to string) error {
			otp, err := txApp.FindOTPById(otpID)
			if err != nil || otp.SentTo() != "" {
				return nil // deleted meanwhile, or sent to another address first: as PocketBase
			}
			otp.SetSentTo(to)
			if err := txApp.Save(otp); err != nil {
				return fmt.Errorf("recording the OTP's sentTo: %w", err)
			}
			return nil
		}
		return p.queueAccountMail(e, TemplateOTP, map[string]any{"otpId": otpID, "minutes": minutes(ttl)},
			map[string]string{"code": metaString(e, "password")}, ttl, sentTo)
	})
	bind(p.app.OnMailerRecordAuthAlertSend(users), func(e *core.MailerRecordEvent) error {
		if e.Record == nil || e.Record.IsNew() {
			return e.Next() // the dashboard's test email: no customer to send to
		}
		info := sysmail.ParseAlertInfo(metaString(e, "info"))
		err := Send(e.App, Message{
			User: e.Record.Id, Template: TemplateLoginAlert, Channels: securityChannels,
			Category: CategorySecurity,
			Data:     map[string]any{"at": outbox.DBTime(p.cfg.Now()), "ip": info.IP, "userAgent": info.UserAgent},
		})
		if err != nil {
			e.App.Logger().Error("notify: the login alert was not queued; PocketBase sends its own",
				"user", e.Record.Id, "error", err)
			return e.Next()
		}
		return nil
	})
}

// queueAccountMail queues one of PocketBase's account emails for
// e.Record, by email to the address PocketBase would have used, in place of
// PocketBase's own (whose e.Next is not called). secret is kept apart from
// the row (see package sysmail) until ttl, when the token or code stops
// working. then runs in the same transaction.
func (p *plugin) queueAccountMail(e *core.MailerRecordEvent, template string, data map[string]any,
	secret map[string]string, ttl time.Duration, then func(txApp core.App, to string) error) error {
	if e.Record == nil || e.Record.IsNew() || len(e.Message.To) == 0 {
		return e.Next() // the dashboard's test email: no customer to send to
	}
	to := e.Message.To[0].Address
	now := p.cfg.Now()
	err := e.App.RunInTransaction(func(txApp core.App) error {
		ref, err := sysmail.Put(txApp, secret, now.Add(ttl), now)
		if err != nil {
			return err
		}
		data[sysmail.RefKey] = ref
		err = Send(txApp, Message{
			User: e.Record.Id, To: to, Template: template, Channels: []string{channels.Email},
			Category: CategorySecurity, Data: data, requested: true,
		})
		if err != nil {
			return err
		}
		if then != nil {
			return then(txApp, to)
		}
		return nil
	})
	if err != nil {
		// A missing or disabled template must not lock the customer out:
		// PocketBase's own email goes out instead.
		e.App.Logger().Error("notify: an account email was not queued; PocketBase sends its own",
			"template", template, "user", e.Record.Id, "error", err)
		return e.Next()
	}
	return nil
}

// actionLink is the link PocketBase's email would have carried: the one
// in its rendered message that holds the token, else PocketBase's default
// page for action.
func (p *plugin) actionLink(e *core.MailerRecordEvent, token, action string) string {
	fallback := strings.TrimRight(p.settings.get().Meta.AppURL, "/") + "/_/#/auth/" + action + "/" + token
	if e.Message == nil {
		return fallback
	}
	return sysmail.Link(e.Message.HTML, token, fallback)
}

func metaString(e *core.MailerRecordEvent, key string) string {
	s, _ := e.Meta[key].(string)
	return s
}

// minutes is how long a link or code works, in whole minutes (at least 1).
func minutes(d time.Duration) int {
	return max(1, int(d/time.Minute))
}
