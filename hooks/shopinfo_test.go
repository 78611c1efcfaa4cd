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

// TestShopInfoPerLanguage: the owner names the shop in Russian in the
// brand record; the storefront asks in its language and gets that name,
// and so does a Russian customer's email, while English keeps the
// Application name.
func TestShopInfoPerLanguage(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{})
	su := shop.SuperuserToken()
	brand := shop.MustDo(200, "GET", "/api/collections/notifyBrand/records", su, nil).JSON()["items"].([]any)
	if len(brand) != 1 {
		t.Fatalf("%d brand records; want the one a shop starts with", len(brand))
	}
	id := brand[0].(map[string]any)["id"].(string)
	shop.MustDo(200, "PATCH", "/api/collections/notifyBrand/records/"+id, su, map[string]any{
		"translations": map[string]any{"ru": map[string]any{"name": "Лист и Зерно", "address": "Москва, Тверская 7"}},
	})
	if ru := shop.MustDo(200, "GET", hooks.ShopInfoPath+"?lang=ru", "", nil); ru.String("name") != "Лист и Зерно" || ru.String("address") != "Москва, Тверская 7" {
		t.Errorf("shop info in Russian = %s; want the owner's Russian name and address", ru.Body)
	}
	if en := shop.MustDo(200, "GET", hooks.ShopInfoPath+"?lang=en", "", nil); en.String("name") != "Test Shop" {
		t.Errorf("shop info in English = %s; want the Application name", en.Body)
	}

	ivan := shop.SignUpVerified("Иван", "ivan@example.org", "ru")
	anna := shop.SignUpVerified("Anna", "anna@example.org", "en")
	for _, c := range []shoptest.Customer{ivan, anna} {
		shop.MustDo(200, "POST", ordersURL, c.Token, map[string]any{"customer": c.ID, "items": []any{shop.Item("Tea", 1, 100)}})
	}
	ruHTML, err := emailPart(t, shop, "ivan@example.org", "1001", "text/html")
	if err != nil {
		t.Fatal(err)
	}
	enHTML, err := emailPart(t, shop, "anna@example.org", "1002", "text/html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ruHTML, "Лист и Зерно") || !strings.Contains(ruHTML, "Москва, Тверская 7") {
		t.Errorf("the Russian confirmation does not carry the Russian name and address:\n%s", ruHTML)
	}
	if strings.Contains(enHTML, "Лист и Зерно") || !strings.Contains(enHTML, "Test Shop") {
		t.Errorf("the English confirmation does not carry the Application name alone")
	}
}
