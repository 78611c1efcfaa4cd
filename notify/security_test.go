package notify_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

// The security alerts of issue 13, item 2: a password or email change of a
// users record queues auth.password-changed or auth.email-changed in the
// write's transaction, on every channel the user has, the email change to
// the old address too.

func TestPasswordChangeAlert(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")

	// A name change is not a security event: nothing is queued (in the
	// request's transaction, so there is nothing to wait for).
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{"name": "Anna K."})
	if got := shop.Messages("template ~ 'auth.%'"); len(got) != 0 {
		t.Fatalf("a name change queued %d security alerts; want none", len(got))
	}

	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{
		"oldPassword": "password123", "password": "n3w-s3cret-pass", "passwordConfirm": "n3w-s3cret-pass",
	})
	sent := shop.WaitMessage("template = {:t} && channel = 'email'", map[string]any{"t": notify.TemplatePasswordChanged}, notify.StatusSent)
	if sent.GetString("category") != notify.CategorySecurity || sent.GetString("to") != "anna@example.org" {
		t.Errorf("alert category=%q to=%q; want security to anna@example.org", sent.GetString("category"), sent.GetString("to"))
	}
	m := emailTo(t, shop, "anna@example.org", "password was changed")
	text := part(t, m, "text/plain")
	if strings.Contains(text, "n3w-s3cret-pass") {
		t.Errorf("the alert shows the new password:\n%s", text)
	}
	// The inbox too: every channel the user has.
	inbox := shop.WaitMessage("template = {:t} && channel = 'inbox'", map[string]any{"t": notify.TemplatePasswordChanged}, notify.StatusSent)
	if inbox.GetString("user") != anna.ID {
		t.Errorf("inbox alert user = %q; want %q", inbox.GetString("user"), anna.ID)
	}
	if n := len(shop.Messages("template = {:t} && channel = 'email'", map[string]any{"t": notify.TemplateEmailChanged})); n != 0 {
		t.Errorf("a password change queued %d email-changed alerts", n)
	}
}

func TestEmailChangeAlertReachesTheOldAddress(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSent)

	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, admin, map[string]any{"email": "anna.new@example.org"})

	toOld := shop.WaitMessage("template = {:t} && channel = 'email' && to = 'anna@example.org'",
		map[string]any{"t": notify.TemplateEmailChanged}, notify.StatusSent)
	toNew := shop.WaitMessage("template = {:t} && channel = 'email' && to = 'anna.new@example.org'",
		map[string]any{"t": notify.TemplateEmailChanged}, notify.StatusSent)
	for _, m := range []string{toOld.GetString("user"), toNew.GetString("user")} {
		if m != anna.ID {
			t.Errorf("alert user = %q; want %q (the user's preferences apply)", m, anna.ID)
		}
	}
	for _, addr := range []string{"anna@example.org", "anna.new@example.org"} {
		m := emailTo(t, shop, addr, "email address was changed")
		text := part(t, m, "text/plain")
		if !strings.Contains(text, "anna@example.org") || !strings.Contains(text, "anna.new@example.org") {
			t.Errorf("the alert to %s does not say what changed:\n%s", addr, text)
		}
	}
	if n := len(shop.Messages("template = {:t}", map[string]any{"t": notify.TemplatePasswordChanged})); n != 0 {
		t.Errorf("an email change queued %d password-changed alerts", n)
	}
}

func TestEmailChangeConfirmAlerts(t *testing.T) {
	t.Parallel()
	// PocketBase's own email-change flow saves the record: the alert goes
	// to both addresses.
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "ru")
	user, err := shop.App.FindRecordById("users", anna.ID)
	if err != nil {
		t.Fatal(err)
	}
	token, err := user.NewEmailChangeToken("anna.new@example.org")
	if err != nil {
		t.Fatal(err)
	}
	shop.MustDo(204, "POST", "/api/collections/users/confirm-email-change", "", map[string]any{
		"token": token, "password": "password123",
	})
	for _, addr := range []string{"anna@example.org", "anna.new@example.org"} {
		shop.WaitMessage("template = {:t} && channel = 'email' && to = {:to}",
			map[string]any{"t": notify.TemplateEmailChanged, "to": addr}, notify.StatusSent)
		emailTo(t, shop, addr, "Адрес почты")
	}
}
