package hooks

import (
	"net/http"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookShopInfoRoute binds GET ShopInfoPath.
const HookShopInfoRoute = "__shopInfoRoute__"

// ShopInfoPath answers anyone with the shop's name and contacts, the ones
// its messages are signed with, so that the storefront shows the same;
// ?lang= picks the owner's name and address for that language.
const ShopInfoPath = "/api/shop/info"

// ShopInfo is the answer of ShopInfoPath.
type ShopInfo struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
}

func bindShopInfo(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookShopInfoRoute,
		Func: func(se *core.ServeEvent) error {
			se.Router.GET(ShopInfoPath, func(e *core.RequestEvent) error {
				// ?lang=ru: the name and address the owner gave in Russian.
				s := notify.ShopContacts(e.App, e.Request.URL.Query().Get("lang"))
				// Edited in the dashboard: never kept stale by a cache.
				e.Response.Header().Set("Cache-Control", "no-cache")
				return e.JSON(http.StatusOK, ShopInfo{Name: s.Name, URL: s.URL, Email: s.Email, Phone: s.Phone, Address: s.Address})
			})
			return se.Next()
		},
	})
}
