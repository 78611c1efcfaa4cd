package notify_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

func TestCustomersSeeOnlyTheirOwnData(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	order := placeOrder(t, shop, anna).String("id")
	shop.MustDo(200, "POST", "/api/collections/payments/records", admin, map[string]any{"order": order, "amount": 10, "status": "succeeded"})
	shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent)

	for _, tc := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"view another's order", "GET", "/api/collections/orders/records/" + order, nil, 404},
		{"change another's order", "PATCH", "/api/collections/orders/records/" + order, map[string]any{"status": "cancelled"}, 403},
		{"order for someone else", "POST", "/api/collections/orders/records", map[string]any{"customer": anna.ID}, 400},
		{"order that is already paid", "POST", "/api/collections/orders/records", map[string]any{"customer": bob.ID, "status": "paid"}, 400},
		{"create a payment", "POST", "/api/collections/payments/records", map[string]any{"order": order, "status": "succeeded"}, 403},
		{"create a message", "POST", "/api/collections/notifyMessages/records", map[string]any{"channel": "email", "status": "queued"}, 403},
		{"read rules", "GET", "/api/collections/notifyRules/records", nil, 403},
		{"read templates", "GET", "/api/collections/notifyTemplates/records", nil, 403},
	} {
		if got := shop.Do(tc.method, tc.path, bob.Token, tc.body); got.Status != tc.want {
			t.Errorf("Bob: %s: %s %s = %d %s; want %d", tc.name, tc.method, tc.path, got.Status, got.Body, tc.want)
		}
	}
	for _, path := range []string{"/api/collections/orders/records", "/api/collections/payments/records", "/api/collections/notifyMessages/records"} {
		res := shop.MustDo(200, "GET", path+"?perPage=100", bob.Token, nil)
		if strings.Contains(string(res.Body), anna.ID) || strings.Contains(string(res.Body), order) {
			t.Errorf("Bob's listing of %s contains Anna's data: %s", path, res.Body)
		}
	}

	t.Run("a customer cannot change an order status", func(t *testing.T) {
		res := shop.Do("PATCH", "/api/collections/orders/records/"+order, anna.Token, map[string]any{"status": "delivered"})
		if res.Status != 403 {
			t.Errorf("Anna patches her order status = %d; want 403", res.Status)
		}
	})

	t.Run("own messages without internals", func(t *testing.T) {
		res := shop.MustDo(200, "GET", "/api/collections/notifyMessages/records?perPage=100", anna.Token, nil)
		items, _ := res.JSON()["items"].([]any)
		if len(items) == 0 {
			t.Fatal("Anna sees none of her messages")
		}
		for _, it := range items {
			m := it.(map[string]any)
			for _, hidden := range []string{"error", "dedupeKey", "leaseUntil", "data", "providerId", "html"} {
				if _, ok := m[hidden]; ok {
					t.Errorf("customer sees internal field %q of her message", hidden)
				}
			}
			if m["user"] != anna.ID {
				t.Errorf("Anna sees a message of user %v", m["user"])
			}
		}
	})
}

func TestBrokenTemplatesAndRulesAreRefused(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	list := shop.MustDo(200, "GET", "/api/collections/notifyTemplates/records?filter="+urlq("key='order.shipped' && locale='en'"), admin, nil)
	stored := list.JSON()["items"].([]any)[0].(map[string]any)
	id := stored["id"].(string)

	for _, tc := range []struct {
		name  string
		patch map[string]any
		want  []string // in the error response
	}{
		{"does not parse", map[string]any{"html": "<p>{{if .Record.number}}</p>"}, []string{`"html"`, "does not parse", "html:1"}},
		{"unknown field", map[string]any{"text": "line one\n{{.Record.trackingNumbr}}"}, []string{`"text"`, "trackingNumbr", "text:2"}},
		{"unknown function", map[string]any{"subject": "{{env \"HOME\"}}"}, []string{`"subject"`, "function \\\"env\\\" not defined"}},
		{"telegram", map[string]any{"telegram": "{{.User.Password}}"}, []string{`"telegram"`, "Password"}},
	} {
		res := shop.Do("PATCH", "/api/collections/notifyTemplates/records/"+id, admin, tc.patch)
		if res.Status != 400 {
			t.Errorf("%s: save = %d %s; want 400", tc.name, res.Status, res.Body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(strings.ToLower(string(res.Body)), strings.ToLower(w)) {
				t.Errorf("%s: error %s does not mention %s", tc.name, res.Body, w)
			}
		}
	}
	after := shop.MustDo(200, "GET", "/api/collections/notifyTemplates/records/"+id, admin, nil).JSON()
	for _, f := range []string{"html", "text", "subject", "telegram"} {
		if after[f] != stored[f] {
			t.Errorf("refused save changed the stored %s", f)
		}
	}

	rule := map[string]any{"name": "R", "active": true, "collection": "orders", "event": "update", "recipient": "customer",
		"template": "order.shipped", "channels": []string{"email"}, "category": "transactional"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range rule {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"unknown template", with("template", "order.teleported"), `no template with key \"order.teleported\"`},
		{"invalid condition", with("condition", "status = = 'x'"), `"condition"`},
		{"unknown field in guard", with("guard", "colour = 'red'"), `"guard"`},
		{"unknown collection", with("collection", "invoices"), `no collection \"invoices\"`},
		{"recipient not a user", with("recipient", "address"), `"recipient"`},
		{"changed field missing", with("changed", "colour"), `no field \"colour\"`},
		{"bad delay", with("delay", "three days"), `"delay"`},
	} {
		res := shop.Do("POST", "/api/collections/notifyRules/records", admin, tc.body)
		if res.Status != 400 || !strings.Contains(string(res.Body), tc.want) {
			t.Errorf("%s: create rule = %d %s; want 400 mentioning %s", tc.name, res.Status, res.Body, tc.want)
		}
	}
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, with("condition", `status = "shipped"`))
}
