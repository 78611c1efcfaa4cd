// Command plugin is a PocketBase app with the notification plugin: the
// README's "Using the plugin in your own PocketBase app", kept here so
// that a test builds and runs it (and checks the README shows this file).
package main

import (
	"log"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	// Your own migration, named explicitly: m.Register otherwise names a
	// migration after its .go file, and a second one in the same file
	// would be taken for the first and never run. The plugin's own
	// migration (notify.MigrationFile) creates its collections before it.
	m.Register(func(app core.App) error {
		if err := notify.SeedTemplates(app, []notify.TemplateSeed{{
			Key: "user.welcome", Locale: "en",
			Fields: map[string]string{
				"subject":  "Welcome to {{.Shop.Name}}",
				"text":     "Hello {{.User.Name}}, your account is ready.",
				"html":     "<p>Hello {{.User.Name}}, your account is ready.</p>",
				"telegram": "Hello {{.User.Name}}, your account is ready.",
				// The in-app inbox and web push show these two.
				"pushTitle": "Welcome to {{.Shop.Name}}",
				"pushBody":  "Your account is ready.",
			},
		}}); err != nil {
			return err
		}
		return notify.SeedRules(app, []notify.RuleSeed{{
			Name: "Welcome",
			Fields: map[string]any{
				"collection": "users", "event": "create", "recipient": "id",
				"template": "user.welcome", "category": notify.CategoryTransactional,
				"channels": []string{"email", "inbox"}, "mode": notify.ModeAll,
			},
		}})
	}, nil, "1750000000_seed_notifications.go")
}

func main() {
	app := pocketbase.New()

	// NOTIFY_* variables (README, "Environment variables"); set fields
	// of cfg here to fix them in code instead.
	cfg, err := notify.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	if err := notify.Register(app, cfg); err != nil {
		log.Fatal(err)
	}
	// `./app notify vapid` prints the web push key; see NewCommand.
	app.RootCmd.AddCommand(notify.NewCommand(app))

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
