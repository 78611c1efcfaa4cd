package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The plugin's collections and internal tables. A later version that adds
// one registers another migration calling InstallCollections again: it
// creates only what is missing.
func init() {
	m.Register(func(app core.App) error {
		return notify.InstallCollections(app, "users")
	}, func(app core.App) error {
		for _, name := range []string{
			notify.TelegramLinksCollection, notify.PushSubscriptionsCollection,
			notify.MessagesCollection, notify.RulesCollection, notify.TemplatesCollection,
		} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
