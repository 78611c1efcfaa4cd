package hooks_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/hooks"
	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// TestShopInfo: anyone reads the shop's name and contact address, the ones
// its emails are signed with, from the dashboard's settings; an edit there
// shows at once, in the storefront's source and in the next email alike.
func TestShopInfo(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{})
	su := shop.SuperuserToken()
	info := shop.MustDo(200, "GET", hooks.ShopInfoPath, "", nil)
	if info.String("name") != "Test Shop" || info.String("email") != "shop@example.org" || info.String("url") != "http://shop.test" {
		t.Errorf("shop info = %s; want the dashboard's Test Shop, shop@example.org, http://shop.test", info.Body)
	}

	shop.MustDo(200, "PATCH", "/api/settings", su, map[string]any{"meta": map[string]any{
		"appName": "Лист и Зерно", "senderAddress": "hello@leafbean.example",
	}})
	info = shop.MustDo(200, "GET", hooks.ShopInfoPath, "", nil)
	if info.String("name") != "Лист и Зерно" || info.String("email") != "hello@leafbean.example" {
		t.Errorf("shop info after the edit = %s; want Лист и Зерно, hello@leafbean.example", info.Body)
	}
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(200, "POST", ordersURL, anna.Token, map[string]any{
		"customer": anna.ID, "items": []any{shop.Item("Tea", 1, 100)},
	})
	html, err := emailPart(t, shop, "anna@example.org", "#1001", "text/html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Лист и Зерно", "hello@leafbean.example"} {
		if !strings.Contains(html, want) {
			t.Errorf("the confirmation does not show %q as the storefront does", want)
		}
	}
}
