package pb_migrations

import (
	"fmt"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/templates"
	"github.com/pocketbase/pocketbase/core"
)

// seedTemplates adds the embedded default templates that want selects and
// the shop does not have yet (by key and locale): a template the owner
// already has, perhaps edited, is left as it is. On a new shop it adds
// every one selected.
func seedTemplates(app core.App, want func(key string) bool) error {
	defaults, err := templates.Defaults()
	if err != nil {
		return fmt.Errorf("seedTemplates: %w", err)
	}
	var seeds []notify.TemplateSeed
	for _, t := range defaults {
		if want(t.Key) {
			seeds = append(seeds, notify.TemplateSeed{Key: t.Key, Locale: t.Locale, Fields: t.Fields})
		}
	}
	return notify.SeedTemplates(app, seeds)
}
