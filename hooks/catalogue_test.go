package hooks_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/hooks"
	"github.com/pbnotify/pbnotify/internal/shoptest"
)

const ordersURL = "/api/collections/orders/records"

// TestCustomerCannotSetMoney: the attacks of issue 9 as a customer makes
// them, through the REST API: every one is a 400 whose message and data
// name items and say what to fix, and nothing is stored.
func TestCustomerCannotSetMoney(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	sencha := shop.SeededProduct("sencha")
	retired := shop.Product("Retired tea", 100)
	shop.MustDo(200, "PATCH", "/api/collections/products/records/"+retired, su, map[string]any{"active": false})
	tooMany := make([]any, hooks.MaxOrderLines+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"product": sencha, "qty": 1}
	}
	for _, tc := range []struct {
		name string
		body map[string]any
		want string // in the message and in data.items.message
	}{
		{"forged total, no items", map[string]any{"items": []any{}, "total": -5000}, "the order has no items"},
		{"no items at all", map[string]any{"total": 10}, "items is a list like"},
		{"qty 1e300", map[string]any{"items": []any{map[string]any{"product": sencha, "qty": 1e300}}}, "item 1: qty must be a whole number from 1 to 999"},
		{"qty 1000", map[string]any{"items": []any{map[string]any{"product": sencha, "qty": 1000}}}, "item 1: qty must be a whole number from 1 to 999"},
		{"qty 0", map[string]any{"items": []any{map[string]any{"product": sencha, "qty": 0}}}, "item 1: qty must be a whole number"},
		{"qty -3", map[string]any{"items": []any{map[string]any{"product": sencha, "qty": -3}}}, "item 1: qty must be a whole number"},
		{"qty 1.5", map[string]any{"items": []any{map[string]any{"product": sencha, "qty": 1.5}}}, "item 1: qty must be a whole number"},
		{"qty as text", map[string]any{"items": []any{map[string]any{"product": sencha, "qty": "2"}}}, "item 1: qty must be a whole number"},
		{"free-form line", map[string]any{"items": []any{map[string]any{"name": "CHEAP PILLS", "qty": 1, "price": 0}}}, "item 1 has no product"},
		{"unknown product", map[string]any{"items": []any{
			map[string]any{"product": sencha, "qty": 1}, map[string]any{"product": "nosuchproduct00", "qty": 1}}}, `item 2: there is no product "nosuchproduct00"`},
		{"inactive product", map[string]any{"items": []any{map[string]any{"product": retired, "qty": 1}}}, "item 1: Retired tea is no longer sold"},
		{"too many lines", map[string]any{"items": tooMany}, "at most 50 lines, this one has 51"},
	} {
		tc.body["customer"] = anna.ID
		res := shop.Do("POST", ordersURL, anna.Token, tc.body)
		// PocketBase capitalises the first letter of a field's message.
		items, _ := res.JSON()["data"].(map[string]any)["items"].(map[string]any)
		if res.Status != 400 || !strings.Contains(res.String("message"), tc.want) ||
			items == nil || !strings.Contains(strings.ToLower(items["message"].(string)), strings.ToLower(tc.want)) {
			t.Errorf("%s: create = %d %s; want 400 with message and data.items saying %q", tc.name, res.Status, res.Body, tc.want)
		}
	}
	if n := shop.MustDo(200, "GET", ordersURL, su, nil).JSON()["totalItems"]; n != 0.0 {
		t.Errorf("%v orders stored after refused creates; want 0", n)
	}
}

// TestForgedPriceIgnored: a customer's name, price, total and currency are
// ignored; the order and its confirmation email carry the catalogue's, in
// the customer's language.
func TestForgedPriceIgnored(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	ivan := shop.SignUp("Иван", "ivan@example.org", "ru")
	sencha, oolong := shop.SeededProduct("sencha"), shop.SeededProduct("oolong")
	forged := map[string]any{
		"customer": anna.ID, "total": 1, "currency": "USD", "address": "Moscow",
		"items": []any{
			map[string]any{"product": sencha, "qty": 2, "price": 1, "name": "CHEAP PILLS at http://spam.example"},
			map[string]any{"product": oolong, "qty": 1, "price": 0},
		},
	}
	res := shop.MustDo(200, "POST", ordersURL, anna.Token, forged)
	if res.String("total") != "2070" || res.String("currency") != "RUB" {
		t.Errorf("total %s %s; want the catalogue's 2 × 590 + 890 = 2070 RUB", res.String("total"), res.String("currency"))
	}
	items := res.JSON()["items"].([]any)
	first := items[0].(map[string]any)
	if first["name"] != "Sencha Kyoto" || first["price"] != 590.0 || first["qty"] != 2.0 || first["product"] != sencha {
		t.Errorf("item 1 = %v; want Sencha Kyoto × 2 at 590", first)
	}

	text := confirmation(t, shop, "anna@example.org")
	for _, want := range []string{"Sencha Kyoto", "2 × ₽590 = ₽1,180", "Da Hong Pao", "1 × ₽890 = ₽890", "Total: ₽2,070"} {
		if !strings.Contains(text, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "CHEAP PILLS") || strings.Contains(text, "spam.example") {
		t.Errorf("confirmation carries the customer's text:\n%s", text)
	}

	// A Russian customer gets the catalogue's own (Russian) name.
	forged["customer"] = ivan.ID
	shop.MustDo(200, "POST", ordersURL, ivan.Token, forged)
	if text := confirmation(t, shop, "ivan@example.org"); !strings.Contains(text, "Сенча Киото") {
		t.Errorf("the Russian confirmation lacks the Russian name:\n%s", text)
	}
}

// confirmation waits for the order confirmation to addr and returns its
// text part.
func confirmation(t *testing.T, shop *shoptest.Shop, addr string) string {
	t.Helper()
	// Order numbers start at 1001; the welcome email has none.
	text, err := emailPart(t, shop, addr, "100", "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// emailPart waits for an email to addr whose subject contains subject and
// returns its part of mediaType.
func emailPart(t *testing.T, shop *shoptest.Shop, addr, subject, mediaType string) (string, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range shop.SMTP.Messages() {
			if len(m.To) == 1 && m.To[0] == addr && strings.Contains(m.Header("Subject"), subject) {
				return m.Part(mediaType)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no email to %s with %q in the subject", addr, subject)
	return "", nil
}

// TestStock: an order takes its quantities off the stock, more than is left
// is refused, and cancelling or deleting an order before it ships puts
// them back.
func TestStock(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	p := shop.MustDo(200, "POST", "/api/collections/products/records", su, map[string]any{
		"name": "Gyokuro", "price": 1500, "currency": "RUB", "stock": 3, "active": true,
	}).String("id")
	stock := func() string {
		return shop.MustDo(200, "GET", "/api/collections/products/records/"+p, "", nil).String("stock")
	}
	order := func(qty int) shoptest.Response {
		return shop.Do("POST", ordersURL, anna.Token, map[string]any{
			"customer": anna.ID, "items": []any{map[string]any{"product": p, "qty": qty}},
		})
	}
	first := order(2)
	if first.Status != 200 || stock() != "1" {
		t.Fatalf("order of 2 from 3 = %d %s, stock %s; want 200 and 1 left", first.Status, first.Body, stock())
	}
	if res := order(2); res.Status != 400 || !strings.Contains(res.String("message"), "item 1: only 1 of Gyokuro left") {
		t.Errorf("order of 2 with 1 left = %d %s; want 400 saying only 1 left", res.Status, res.Body)
	}
	if stock() != "1" {
		t.Errorf("stock after a refused order = %s; want 1", stock())
	}
	shop.MustDo(200, "PATCH", ordersURL+"/"+first.String("id"), su, map[string]any{"status": "cancelled"})
	if stock() != "3" {
		t.Errorf("stock after cancelling = %s; want 3", stock())
	}
	shop.MustDo(200, "PATCH", ordersURL+"/"+first.String("id"), su, map[string]any{"status": "new"})
	if stock() != "1" {
		t.Errorf("stock after taking the order out of cancelled = %s; want 1", stock())
	}
	// Deleted before it left the shop: its goods are back on the shelf;
	// deleted after it was shipped: they went with it.
	shop.MustDo(204, "DELETE", ordersURL+"/"+first.String("id"), su, nil)
	if stock() != "3" {
		t.Errorf("stock after deleting the new order = %s; want 3", stock())
	}
	shipped := order(1)
	shop.MustDo(200, "PATCH", ordersURL+"/"+shipped.String("id"), su, map[string]any{"status": "shipped"})
	shop.MustDo(204, "DELETE", ordersURL+"/"+shipped.String("id"), su, nil)
	if stock() != "2" {
		t.Errorf("stock after deleting a shipped order of 1 = %s; want 2", stock())
	}
}

// TestStockUnderABurst: ten customers' orders at once for the last five
// units: exactly five succeed, the rest are told it is out of stock, and
// the stock ends at zero, never below.
func TestStockUnderABurst(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	p := shop.MustDo(200, "POST", "/api/collections/products/records", su, map[string]any{
		"name": "Last tins", "price": 700, "stock": 5, "active": true,
	}).String("id")
	customers := make([]shoptest.Customer, 10)
	for i := range customers {
		customers[i] = shop.SignUp(fmt.Sprintf("C%d", i), fmt.Sprintf("c%d@example.org", i), "en")
	}
	statuses := make([]int, len(customers))
	var wg sync.WaitGroup
	for i, c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = shop.Do("POST", ordersURL, c.Token, map[string]any{
				"customer": c.ID, "items": []any{map[string]any{"product": p, "qty": 1}},
			}).Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[200] != 5 || count[400] != 5 {
		t.Errorf("statuses %v; want five 200s and five 400s", count)
	}
	if got := shop.MustDo(200, "GET", "/api/collections/products/records/"+p, "", nil).String("stock"); got != "0" {
		t.Errorf("stock after the burst = %s; want 0", got)
	}
}

// TestProductsAccess: anyone lists active products only; only superusers
// write them.
func TestProductsAccess(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	hidden := shop.Product("Hidden tea", 10)
	shop.MustDo(200, "PATCH", "/api/collections/products/records/"+hidden, su, map[string]any{"active": false})

	list := shop.MustDo(200, "GET", "/api/collections/products/records?perPage=200", "", nil).JSON()
	if n := list["totalItems"]; n != 6.0 {
		t.Errorf("anonymous list has %v products; want the 6 seeded active ones", n)
	}
	shop.MustDo(404, "GET", "/api/collections/products/records/"+hidden, anna.Token, nil)
	sencha := shop.SeededProduct("sencha")
	for _, token := range []string{"", anna.Token} {
		if res := shop.Do("PATCH", "/api/collections/products/records/"+sencha, token, map[string]any{"price": 1}); res.Status < 400 {
			t.Errorf("a customer's price change = %d; want refused", res.Status)
		}
		if res := shop.Do("POST", "/api/collections/products/records", token, map[string]any{"name": "Mine", "price": 0, "active": true}); res.Status < 400 {
			t.Errorf("a customer's product = %d; want refused", res.Status)
		}
	}
	if got := shop.MustDo(200, "GET", "/api/collections/products/records/"+sencha, "", nil).String("price"); got != "590" {
		t.Errorf("sencha costs %s after the attempts; want 590", got)
	}
}

// TestSuperuserFreeFormItems: the shop itself may still write any lines.
func TestSuperuserFreeFormItems(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	res := shop.MustDo(200, "POST", ordersURL, su, map[string]any{
		"customer": anna.ID,
		"items": []any{
			map[string]any{"name": "Gift wrapping", "qty": 1, "price": 150},
			map[string]any{"product": shop.SeededProduct("assam"), "qty": 2, "price": 1},
		},
	})
	if res.String("total") != "1050" {
		t.Errorf("total = %s; want 150 + 2 × 450 = 1050 (the catalogue line priced by the catalogue)", res.String("total"))
	}
}
