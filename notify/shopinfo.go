package notify

import (
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// ShopContacts is the shop's name and contacts exactly as every message's
// layout shows them: Config.Shop, filled in from the dashboard's
// Application settings (application name, URL, sender address), read
// afresh so that an edit there shows at once, with the name and address
// the owner gave for locale in notifyBrand ("" for the default ones).
// Without the plugin registered on app, it is the dashboard settings alone.
func ShopContacts(app core.App, locale string) Shop {
	if p, ok := app.Store().Get(pluginStoreKey).(*plugin); ok {
		return p.shopIn(locale)
	}
	settings, err := app.Settings().Clone() // a copy: an admin may be saving them
	if err != nil {
		return Shop{}
	}
	meta := settings.Meta
	return Shop{Name: meta.AppName, URL: strings.TrimRight(meta.AppURL, "/"), Email: meta.SenderAddress}
}
