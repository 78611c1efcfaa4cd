package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

func TestInboxRead(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	placeOrder(t, shop, anna)
	inbox := shop.WaitMessage("template = 'order.created' && channel = 'inbox'", nil, notify.StatusSent)
	email := shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent)
	path := "/api/collections/notifyMessages/records/" + inbox.Id

	got := shop.MustDo(200, "GET", path, anna.Token, nil)
	if got.String("subject") != "Order #1001 received" || got.String("body") == "" || got.String("readAt") != "" {
		t.Errorf("inbox message = %s; want the order's title and body, unread", got.Body)
	}
	for _, tc := range []struct {
		name  string
		token string
		path  string
		body  map[string]any
		want  int
	}{
		{"change the body", anna.Token, path, map[string]any{"body": "hacked"}, 403},
		{"change the status", anna.Token, path, map[string]any{"status": "queued"}, 403},
		{"read someone else's", bob.Token, path, map[string]any{"readAt": "2026-11-23 10:00:00.000Z"}, 404},
		{"read an email row", anna.Token, "/api/collections/notifyMessages/records/" + email.Id, map[string]any{"readAt": "2026-11-23 10:00:00.000Z"}, 404},
		{"mark read", anna.Token, path, map[string]any{"readAt": "2026-11-23 10:00:00.000Z"}, 200},
	} {
		if res := shop.Do("PATCH", tc.path, tc.token, tc.body); res.Status != tc.want {
			t.Errorf("%s = %d %s; want %d", tc.name, res.Status, res.Body, tc.want)
		}
	}
	after := shop.Messages("id = {:id}", map[string]any{"id": inbox.Id})[0]
	if after.GetString("body") != inbox.GetString("body") || after.GetString("status") != notify.StatusSent || after.GetDateTime("readAt").IsZero() {
		t.Errorf("after the attempts: body changed=%v status=%s readAt=%v; want only readAt set",
			after.GetString("body") != inbox.GetString("body"), after.GetString("status"), after.GetDateTime("readAt"))
	}
}

func TestPreferences(t *testing.T) {
	t.Parallel()
	// The delay below runs on the fake clock: on the wall clock a loaded
	// machine could send before the customer's change is saved.
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	me := "/api/collections/users/records/" + anna.ID

	for _, tc := range []struct {
		prefs any
		want  string
	}{
		{map[string]any{"fax": map[string]any{"marketing": false}}, `unknown channel \"fax\"`},
		{map[string]any{"email": map[string]any{"spam": false}}, `unknown category \"spam\"`},
		{map[string]any{
			"email": map[string]any{"transactional": false}, "telegram": map[string]any{"transactional": false},
			"webpush": map[string]any{"transactional": false}, "inbox": map[string]any{"transactional": false},
		}, "transactional messages must stay on for at least one channel"},
	} {
		res := shop.Do("PATCH", me, anna.Token, map[string]any{"notifyPrefs": tc.prefs})
		if res.Status != 400 || !strings.Contains(strings.ToLower(string(res.Body)), strings.ToLower(tc.want)) {
			t.Errorf("prefs %v = %d %s; want 400 saying %s", tc.prefs, res.Status, res.Body, tc.want)
		}
	}
	shop.MustDo(200, "PATCH", me, anna.Token, map[string]any{"notifyPrefs": map[string]any{"email": map[string]any{"service": false}}})

	// A service rule: assembling news by email and inbox.
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Assembly news", "active": true, "collection": "orders", "event": "update", "changed": "status",
		"condition": `status = "assembling"`, "recipient": "customer", "template": "order.assembling",
		"channels": []string{"email", "inbox"}, "category": "service",
	})
	order := placeOrder(t, shop, anna).String("id")
	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "assembling"})
	shop.WaitMessage("rule.name = 'Assembly news' && channel = 'inbox'", nil, notify.StatusSent)
	if n := len(shop.Messages("rule.name = 'Assembly news' && channel = 'email'")); n != 0 {
		t.Errorf("%d service emails queued although Anna turned them off; want 0", n)
	}

	t.Run("turned off after it was queued", func(t *testing.T) {
		shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
			"name": "Delivery news", "active": true, "collection": "orders", "event": "update", "changed": "status",
			"condition": `status = "delivered"`, "recipient": "customer", "template": "order.delivered", "delay": "1s",
			"channels": []string{"email"}, "category": "service",
		})
		shop.MustDo(200, "PATCH", me, anna.Token, map[string]any{"notifyPrefs": map[string]any{}})
		shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "delivered"})
		shop.MustDo(200, "PATCH", me, anna.Token, map[string]any{"notifyPrefs": map[string]any{"email": map[string]any{"service": false}}})
		shop.Clock.Advance(time.Second)
		m := shop.WaitMessage("rule.name = 'Delivery news'", nil, notify.StatusSkipped, notify.StatusSent)
		if m.GetString("status") != notify.StatusSkipped || m.GetString("error") != "the customer turned off service messages on email" {
			t.Errorf("status=%s error=%q; want skipped because the customer turned it off", m.GetString("status"), m.GetString("error"))
		}
	})
}
