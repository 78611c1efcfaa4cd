package notify

import (
	"fmt"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// MigrationFile is the name of the migration the plugin registers for its
// collections. It sorts before any app migration named by PocketBase's
// convention (a Unix timestamp), so an app's own migrations that seed
// templates and rules always find the collections there.
const MigrationFile = "0000000000_pbnotify_collections.go"

var migrationOnce sync.Once

// registerMigration adds the plugin's migration to PocketBase's app
// migrations, which `serve` and `migrate` apply: it runs
// InstallCollections on the first start and again on every later one,
// which changes nothing unless a newer version of the plugin brought
// fields or indexes (InstallCollections is idempotent). The migrations
// list is global to the process, so the first Register's users collection
// is the one installed for.
func registerMigration(usersCollection string) {
	migrationOnce.Do(func() {
		core.AppMigrations.Add(&core.Migration{
			File: MigrationFile,
			Up: func(txApp core.App) error {
				return InstallCollections(txApp, usersCollection)
			},
			ReapplyCondition: func(core.App, *core.MigrationsRunner, string) (bool, error) {
				return true, nil
			},
		})
	})
}

// TemplateSeed is a template SeedTemplates adds: its key, locale and
// notifyTemplates fields by name (subject, html, text, telegram, pushTitle,
// pushBody, pushUrl, sms).
type TemplateSeed struct {
	Key, Locale string
	Fields      map[string]string
}

// SeedTemplates adds, active, each template app does not have yet (by key
// and locale); one it has, perhaps edited by the owner, is left as it is.
// Call it from your app's migration: it runs after the plugin's own
// (MigrationFile), and each template is validated as a dashboard save is.
func SeedTemplates(app core.App, seeds []TemplateSeed) error {
	coll, err := app.FindCollectionByNameOrId(TemplatesCollection)
	if err != nil {
		return fmt.Errorf("SeedTemplates: %w (is the plugin's migration applied?)", err)
	}
	for _, t := range seeds {
		n, err := app.CountRecords(coll, dbx.HashExp{"key": t.Key, "locale": t.Locale})
		if err != nil {
			return fmt.Errorf("SeedTemplates: %s/%s: %w", t.Locale, t.Key, err)
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
			return fmt.Errorf("SeedTemplates: %s/%s: %w", t.Locale, t.Key, err)
		}
	}
	return nil
}

// RuleSeed is a rule SeedRules adds: its unique name and its other
// notifyRules fields by name (collection, event, changed, condition,
// recipient, template, channels, mode, category, delay, …). It is active
// unless Fields says "active": false.
type RuleSeed struct {
	Name   string
	Fields map[string]any
}

// SeedRules adds each rule app has no rule of that name for; one it has,
// perhaps edited by the owner, is left as it is. Seed the templates the
// rules name first: a rule is validated as a dashboard save is, and one
// whose template is missing or does not fit its collection is refused.
func SeedRules(app core.App, seeds []RuleSeed) error {
	coll, err := app.FindCollectionByNameOrId(RulesCollection)
	if err != nil {
		return fmt.Errorf("SeedRules: %w (is the plugin's migration applied?)", err)
	}
	for _, r := range seeds {
		n, err := app.CountRecords(coll, dbx.HashExp{"name": r.Name})
		if err != nil {
			return fmt.Errorf("SeedRules: %q: %w", r.Name, err)
		}
		if n > 0 {
			continue
		}
		rec := core.NewRecord(coll)
		rec.Set("active", true)
		rec.Load(r.Fields)
		rec.Set("name", r.Name)
		if err := app.Save(rec); err != nil {
			return fmt.Errorf("SeedRules: %q: %w", r.Name, err)
		}
	}
	return nil
}
