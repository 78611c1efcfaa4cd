package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		return notify.InstallCollections(app, "users")
	}, func(app core.App) error {
		for _, name := range []string{notify.MessagesCollection, notify.RulesCollection, notify.TemplatesCollection} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
