package hooks_test

import (
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The security alerts' templates are seeded on a new shop, pass the
// plugin's save-time checks, and the 1732000007 migration adds them to an
// existing shop that lacks them, nothing twice, leaving an edited one be.
func TestSecurityAlertsMigration(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	app := shop.App
	keys := []any{notify.TemplatePasswordChanged, notify.TemplateEmailChanged}
	rows := func(when string) []*core.Record {
		t.Helper()
		recs, err := app.FindAllRecords(notify.TemplatesCollection, dbx.In("key", keys...))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 4 {
			t.Fatalf("%s: %d security alert templates; want 4 (2 keys × en, ru)", when, len(recs))
		}
		return recs
	}
	for _, rec := range rows("new shop") {
		if err := app.Save(rec); err != nil {
			t.Errorf("re-saving the seeded %s/%s: %v", rec.GetString("locale"), rec.GetString("key"), err)
		}
	}

	// An existing shop from before: no security alert templates, but for
	// one the owner already wrote.
	var edited *core.Record
	for _, rec := range rows("before") {
		if rec.GetString("key") == notify.TemplatePasswordChanged && rec.GetString("locale") == "en" {
			edited = rec
			continue
		}
		if err := app.Delete(rec); err != nil {
			t.Fatal(err)
		}
	}
	edited.Set("subject", "Owner's own subject")
	if err := app.Save(edited); err != nil {
		t.Fatal(err)
	}
	var up func(core.App) error
	for _, m := range core.AppMigrations.Items() {
		if m.File == "1732000007_security_alerts.go" {
			up = m.Up
		}
	}
	if up == nil {
		t.Fatal("the security alerts migration is not registered")
	}
	for range 2 {
		if err := app.RunInTransaction(up); err != nil {
			t.Fatalf("security alerts migration on an existing shop: %v", err)
		}
	}
	rows("existing shop, migrated twice")
	got, err := app.FindRecordById(notify.TemplatesCollection, edited.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetString("subject") != "Owner's own subject" {
		t.Errorf("the migration overwrote the owner's template: subject %q", got.GetString("subject"))
	}
}
