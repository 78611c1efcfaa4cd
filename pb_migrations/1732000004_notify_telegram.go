package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Adds the Telegram links collection and the link tokens table to databases
// created before them; InstallCollections only creates what is missing.
func init() {
	m.Register(func(app core.App) error {
		return notify.InstallCollections(app, "users")
	}, func(app core.App) error {
		if c, err := app.FindCollectionByNameOrId(notify.TelegramLinksCollection); err == nil {
			return app.Delete(c)
		}
		return nil
	})
}
