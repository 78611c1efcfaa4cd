package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Brings an existing shop's notifyRules up to the time fields (event
// "date", dateField, offset, at, repeat, window, throttle, debounce,
// digest) and notifyMessages up to the throttle's index. InstallCollections
// only adds what is missing. Down is a no-op: the added fields are harmless
// to an older plugin.
func init() {
	m.Register(func(app core.App) error {
		return notify.InstallCollections(app, "users")
	}, nil)
}
