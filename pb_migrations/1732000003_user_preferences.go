package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// notifyPrefs holds each customer's channel and category choices
// (notify.Preferences); the user edits it like any field of their profile.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.Fields.Add(&core.JSONField{Name: "notifyPrefs", MaxSize: 4096})
		return app.Save(users)
	}, func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.Fields.RemoveByName("notifyPrefs")
		return app.Save(users)
	})
}
