package pb_migrations_test

import (
	"os"
	"testing"

	"github.com/pbnotify/pbnotify/notify"
	_ "github.com/pbnotify/pbnotify/pb_migrations"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// An existing shop gets the account-email templates it lacks from
// 1732000015, and keeps the ones it has, edited or not.
func TestAccountEmailTemplatesForExistingShops(t *testing.T) {
	empty := t.TempDir()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: empty})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	defer os.RemoveAll(app.DataDir())

	// A shop from before: no auth.otp at all, and an edited verification.
	otp, err := app.FindAllRecords(notify.TemplatesCollection, dbx.HashExp{"key": notify.TemplateOTP})
	if err != nil || len(otp) != 2 {
		t.Fatalf("a new shop has %d auth.otp templates (%v); want ru and en", len(otp), err)
	}
	for _, r := range otp {
		if err := app.Delete(r); err != nil {
			t.Fatal(err)
		}
	}
	edited, err := app.FindFirstRecordByFilter(notify.TemplatesCollection, "key = {:k} && locale = 'en'", dbx.Params{"k": notify.TemplateVerification})
	if err != nil {
		t.Fatal(err)
	}
	edited.Set("subject", "Our own subject")
	if err := app.Save(edited); err != nil {
		t.Fatal(err)
	}

	var up func(core.App) error
	for _, m := range core.AppMigrations.Items() {
		if m.File == "1732000015_account_emails.go" {
			up = m.Up
		}
	}
	if up == nil {
		t.Fatal("migration 1732000015_account_emails.go is not registered")
	}
	if err := up(app); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{notify.TemplateVerification, notify.TemplatePasswordReset, notify.TemplateEmailChange, notify.TemplateOTP, notify.TemplateLoginAlert} {
		for _, locale := range []string{"en", "ru"} {
			n, err := app.CountRecords(notify.TemplatesCollection, dbx.HashExp{"key": key, "locale": locale, "active": true})
			if err != nil || n != 1 {
				t.Errorf("%s/%s: %d active templates (%v); want 1", locale, key, n, err)
			}
		}
	}
	got, err := app.FindRecordById(notify.TemplatesCollection, edited.Id)
	if err != nil || got.GetString("subject") != "Our own subject" {
		t.Errorf("the owner's edited template was changed: %v %v", got, err)
	}
}
