package hooks_test

import (
	"slices"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
)

// emailOnly are the account emails that carry a link or a code: by email
// alone, never by SMS.
var emailOnly = map[string]bool{
	notify.TemplateVerification: true, notify.TemplatePasswordReset: true,
	notify.TemplateEmailChange: true, notify.TemplateOTP: true,
}

// A new shop's templates come with SMS texts that pass the plugin's
// save-time checks; the 1732000008 migration gives them to an existing
// shop's templates that have none, and leaves an owner's own text be.
func TestSMSTextsMigration(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	app := shop.App
	recs, err := app.FindAllRecords(notify.TemplatesCollection)
	if err != nil {
		t.Fatal(err)
	}
	recs = slices.DeleteFunc(recs, func(r *core.Record) bool { return emailOnly[r.GetString("key")] })
	if len(recs) == 0 {
		t.Fatal("no seeded templates")
	}
	for _, rec := range recs {
		if rec.GetString("sms") == "" {
			t.Errorf("seeded %s/%s has no sms text", rec.GetString("locale"), rec.GetString("key"))
		}
		if err := app.Save(rec); err != nil {
			t.Errorf("re-saving the seeded %s/%s: %v", rec.GetString("locale"), rec.GetString("key"), err)
		}
	}

	// An existing shop from before: no SMS texts, but one the owner wrote.
	for i, rec := range recs {
		rec.Set("sms", "")
		if i == 0 {
			rec.Set("sms", "Owner's own text")
		}
		if err := app.Save(rec); err != nil {
			t.Fatal(err)
		}
	}
	var up func(core.App) error
	for _, m := range core.AppMigrations.Items() {
		if m.File == "1732000008_sms_texts.go" {
			up = m.Up
		}
	}
	if up == nil {
		t.Fatal("the SMS texts migration is not registered")
	}
	if err := up(app); err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		got, err := app.FindRecordById(notify.TemplatesCollection, rec.Id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i == 0 && got.GetString("sms") != "Owner's own text":
			t.Errorf("the owner's sms text became %q", got.GetString("sms"))
		case i > 0 && got.GetString("sms") == "":
			t.Errorf("%s/%s still has no sms text", got.GetString("locale"), got.GetString("key"))
		}
	}
}
