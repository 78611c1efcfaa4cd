package pb_migrations

import (
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Brings an existing shop's plugin collections up to the measured version:
// notifyMessages gains variant, openedAt, clickedAt and the signed links;
// notifyTemplates gains variant and weight, its unique index becoming
// (key, locale, variant); the notifyStats view is created. On a new shop,
// where 1732000001 created everything, it changes nothing. Down is a
// no-op: the added fields are harmless to an older plugin.
func init() {
	m.Register(func(app core.App) error {
		return notify.InstallCollections(app, "users")
	}, nil)
}
