package hooks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pocketbase/pocketbase/core"
)

// A customer keeps one cart, reads and writes only their own, creates it
// empty and fills it with lines of a sane shape; nobody else sees it.
func TestCartsOwnOnly(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	boris := shop.SignUp("Boris", "boris@example.org", "en")
	const carts = "/api/collections/carts/records"
	line := map[string]any{"product": sellable(t, shop), "name": "Sencha Kyoto", "qty": 2, "price": 590}

	// Created empty, filled by an update.
	if res := shop.Do("POST", carts, anna.Token, map[string]any{"customer": anna.ID, "items": []any{line}}); res.Status != 400 || !strings.Contains(string(res.Body), "empty") {
		t.Errorf("create with lines = %d %s; want 400 saying to create it empty", res.Status, res.Body)
	}
	cart := shop.MustDo(200, "POST", carts, anna.Token, map[string]any{"customer": anna.ID, "items": []any{}})
	id := cart.String("id")
	shop.MustDo(200, "PATCH", carts+"/"+id, anna.Token, map[string]any{"items": []any{line}})
	if res := shop.Do("POST", carts, anna.Token, map[string]any{"customer": anna.ID}); res.Status != 400 {
		t.Errorf("a second cart for the same customer = %d %s; want 400 (one cart each)", res.Status, res.Body)
	}

	// Nobody else: not another customer, not a guest, not by forging the owner.
	if res := shop.Do("POST", carts, boris.Token, map[string]any{"customer": anna.ID}); res.Status == 200 {
		t.Errorf("Boris created a cart for Anna: %s", res.Body)
	}
	if res := shop.Do("POST", carts, "", map[string]any{"customer": anna.ID}); res.Status == 200 {
		t.Errorf("a guest created a cart: %s", res.Body)
	}
	for _, who := range []struct{ name, token string }{{"Boris", boris.Token}, {"a guest", ""}} {
		if res := shop.Do("GET", carts+"/"+id, who.token, nil); res.Status != 404 {
			t.Errorf("%s viewing Anna's cart = %d %s; want 404", who.name, res.Status, res.Body)
		}
		if res := shop.Do("GET", carts, who.token, nil); res.Status != 200 || strings.Contains(string(res.Body), id) {
			t.Errorf("%s listing carts = %d %s; want 200 without Anna's", who.name, res.Status, res.Body)
		}
		if res := shop.Do("PATCH", carts+"/"+id, who.token, map[string]any{"items": []any{}}); res.Status != 404 {
			t.Errorf("%s updating Anna's cart = %d %s; want 404", who.name, res.Status, res.Body)
		}
		if res := shop.Do("DELETE", carts+"/"+id, who.token, nil); res.Status != 404 {
			t.Errorf("%s deleting Anna's cart = %d %s; want 404", who.name, res.Status, res.Body)
		}
	}
	if res := shop.Do("PATCH", carts+"/"+id, anna.Token, map[string]any{"customer": boris.ID}); res.Status != 404 && res.Status != 400 && res.Status != 403 {
		t.Errorf("Anna handing her cart to Boris = %d %s; want it refused", res.Status, res.Body)
	}
	got := shop.MustDo(200, "GET", carts+"/"+id, anna.Token, nil)
	if got.String("customer") != anna.ID || !strings.Contains(string(got.Body), `"qty":2`) {
		t.Errorf("Anna's cart after the refused writes = %s; want hers, with her line", got.Body)
	}

	// Lines of a bad shape are refused, saying what to fix; the cart stays.
	many := make([]any, 51)
	for i := range many {
		many[i] = map[string]any{"product": fmt.Sprint("p", i), "name": "x", "qty": 1, "price": 1}
	}
	for _, bad := range []struct {
		items any
		want  string
	}{
		{"not a list", "ust be a list like"},
		{[]any{map[string]any{"name": "Tea", "qty": 1, "price": 1}}, "product"},
		{[]any{map[string]any{"product": "tea", "qty": 1, "price": 1}}, "name"},
		{[]any{map[string]any{"product": "tea", "name": "Tea", "qty": 0, "price": 1}}, "qty"},
		{[]any{map[string]any{"product": "tea", "name": "Tea", "qty": 1.5, "price": 1}}, "qty"},
		{[]any{map[string]any{"product": "tea", "name": "Tea", "qty": 1000, "price": 1}}, "qty"},
		{[]any{map[string]any{"product": "tea", "name": "Tea", "qty": 1, "price": -1}}, "price"},
		{[]any{map[string]any{"product": "tea", "name": strings.Repeat("x", 201), "qty": 1, "price": 1}}, "name"},
		{many, "at most 50"},
		{[]any{map[string]any{"product": "tea", "name": strings.Repeat("x", 20000), "qty": 1, "price": 1}}, "items"},
	} {
		res := shop.Do("PATCH", carts+"/"+id, anna.Token, map[string]any{"items": bad.items})
		if res.Status != 400 || !strings.Contains(string(res.Body), bad.want) {
			t.Errorf("items %.80v = %d %.300s; want 400 mentioning %q", bad.items, res.Status, res.Body, bad.want)
		}
	}
	got = shop.MustDo(200, "GET", carts+"/"+id, anna.Token, nil)
	if !strings.Contains(string(got.Body), `"qty":2`) {
		t.Errorf("after the refused updates the cart is %s; want it unchanged", got.Body)
	}
	// Emptied at checkout.
	shop.MustDo(200, "PATCH", carts+"/"+id, anna.Token, map[string]any{"items": []any{}})
}

// With a catalogue (a products collection), a cart line's name and price
// are the shop's, whatever the customer sent, and a product the shop does
// not sell is refused: the abandoned-cart reminder never carries a
// customer's own text in the shop's name.
func TestCartLinesFromCatalogue(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	// The shop's own catalogue when it has one; else one like it.
	products, err := shop.App.FindCollectionByNameOrId("products")
	if err != nil {
		products = core.NewBaseCollection("products")
		products.Fields.Add(
			&core.TextField{Name: "name"}, &core.NumberField{Name: "price"}, &core.BoolField{Name: "active"},
		)
		if err := shop.App.Save(products); err != nil {
			t.Fatal(err)
		}
		for _, p := range []map[string]any{{"name": "Sencha Kyoto", "price": 590, "active": true}, {"name": "Old Tea", "price": 100, "active": true}} {
			rec := core.NewRecord(products)
			rec.Load(p)
			if err := shop.App.Save(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	list, err := shop.App.FindRecordsByFilter(products, "active = true", "", 2, 0)
	if err != nil || len(list) < 2 {
		t.Fatalf("two active products: %d, %v", len(list), err)
	}
	sencha, retired := list[0].Id, list[1].Id
	list[1].Set("active", false)
	if err := shop.App.Save(list[1]); err != nil {
		t.Fatal(err)
	}
	wantName, wantPrice := list[0].GetString("name"), list[0].GetFloat("price")
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	const carts = "/api/collections/carts/records"
	id := shop.MustDo(200, "POST", carts, anna.Token, map[string]any{"customer": anna.ID, "items": []any{}}).String("id")

	shop.MustDo(200, "PATCH", carts+"/"+id, anna.Token, map[string]any{"items": []any{
		map[string]any{"product": sencha, "name": "FREE MONEY at evil.example", "qty": 2, "price": 1},
	}})
	res := shop.MustDo(200, "GET", carts+"/"+id, anna.Token, nil)
	items, _ := res.JSON()["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("cart = %s; want one line", res.Body)
	}
	line, _ := items[0].(map[string]any)
	if line["name"] != wantName || line["price"] != wantPrice || strings.Contains(string(res.Body), "evil") {
		t.Errorf("cart after a forged name and price = %s; want the catalogue's %q at %v", res.Body, wantName, wantPrice)
	}
	for _, p := range []string{retired, "nosuchproduct1", "sencha-slug"} {
		res := shop.Do("PATCH", carts+"/"+id, anna.Token, map[string]any{"items": []any{
			map[string]any{"product": p, "name": "Tea", "qty": 1, "price": 1},
		}})
		if res.Status != 400 || !strings.Contains(string(res.Body), "not a product the shop sells") {
			t.Errorf("a line of product %q = %d %s; want 400 saying the shop does not sell it", p, res.Status, res.Body)
		}
	}
}

// sellable is a product id a cart line may name: an active product of the
// shop's catalogue when it has a products collection, else any id.
func sellable(t *testing.T, shop *shoptest.Shop) string {
	t.Helper()
	if _, err := shop.App.FindCollectionByNameOrId("products"); err != nil {
		return "sencha"
	}
	p, err := shop.App.FindFirstRecordByFilter("products", "active = true")
	if err != nil {
		t.Fatalf("an active product: %v", err)
	}
	return p.Id
}
