package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Brings the plugin's collections of an existing shop up to this version
// (notifyRules.problem). InstallCollections only adds what is missing, so
// on a new shop, where 1732000001 created everything, it changes nothing.
// Down is a no-op: the added fields are harmless to an older plugin.
func init() {
	m.Register(func(app core.App) error {
		return notify.InstallCollections(app, "users")
	}, nil)
}
