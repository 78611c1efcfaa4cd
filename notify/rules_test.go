package notify_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
)

func urlq(s string) string { return url.QueryEscape(s) }

func TestRepeatedStatusDoesNotSendTwice(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	order := placeOrder(t, shop, anna).String("id")
	path := "/api/collections/orders/records/" + order

	shop.MustDo(200, "PATCH", path, admin, map[string]any{"status": "shipped", "trackingNumber": "T1"})
	shop.MustDo(200, "PATCH", path, admin, map[string]any{"status": "shipped", "trackingNumber": "T1"}) // a retried request
	shop.MustDo(200, "PATCH", path, admin, map[string]any{"status": "delivered"})
	shop.MustDo(200, "PATCH", path, admin, map[string]any{"status": "shipped"}) // a mistaken flip back
	shop.WaitMessage("template = 'order.delivered' && channel = 'email'", nil, notify.StatusSent)
	time.Sleep(300 * time.Millisecond)

	if n := len(shop.Messages("template = 'order.shipped' && channel = 'email'")); n != 1 {
		t.Errorf("%d shipped emails queued; want 1", n)
	}
	shipped := 0
	for _, m := range shop.SMTP.Messages() {
		if strings.Contains(m.Header("Subject"), "shipped") {
			shipped++
		}
	}
	if shipped != 1 {
		t.Errorf("%d shipped emails delivered; want 1", shipped)
	}
}

func TestDelayAndGuard(t *testing.T) {
	t.Parallel()
	// The delay runs on the fake clock: on the wall clock a loaded machine
	// can take longer than the delay between the change and the check that
	// the message still waits.
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Review request", "active": true, "collection": "orders", "event": "update", "changed": "status",
		"condition": `status = "delivered"`, "guard": `status = "delivered"`, "delay": "700ms",
		"recipient": "customer", "template": "order.delivered", "channels": []string{"inbox"}, "category": "marketing",
	})

	kept := placeOrder(t, shop, anna).String("id")
	returned := placeOrder(t, shop, anna).String("id")
	changed := shop.Clock.Now().Truncate(time.Millisecond) // as the database stores it
	for _, id := range []string{kept, returned} {
		shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+id, admin, map[string]any{"status": "delivered"})
	}
	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+returned, admin, map[string]any{"status": "returned"})

	q := "rule.name = 'Review request' && sourceRecord = {:id}"
	early := shop.Messages(q, map[string]any{"id": kept})
	if len(early) != 1 || early[0].GetString("status") != notify.StatusQueued {
		t.Fatalf("delayed message right after the change: %d rows, status %q; want 1 queued", len(early), early[0].GetString("status"))
	}
	shop.Clock.Advance(700 * time.Millisecond)
	sent := shop.WaitMessage(q, map[string]any{"id": kept}, notify.StatusSent)
	if d := sent.GetDateTime("sentAt").Time().Sub(changed); d < 700*time.Millisecond {
		t.Errorf("delayed message sent %s after it was queued; want at least the 700ms delay", d)
	}
	cancelled := shop.WaitMessage(q, map[string]any{"id": returned}, notify.StatusCancelled)
	if !strings.Contains(cancelled.GetString("error"), `guard no longer holds: status = "delivered"`) {
		t.Errorf("cancel reason = %q; want the guard named", cancelled.GetString("error"))
	}
}

func TestRulesChangeWithoutRestart(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")

	rules := shop.MustDo(200, "GET", "/api/collections/notifyRules/records?filter="+urlq("name='Order created'"), admin, nil)
	ruleID := rules.JSON()["items"].([]any)[0].(map[string]any)["id"].(string)
	shop.MustDo(200, "PATCH", "/api/collections/notifyRules/records/"+ruleID, admin, map[string]any{"active": false})
	placeOrder(t, shop, anna)
	if n := len(shop.Messages("template = 'order.created'")); n != 0 {
		t.Errorf("disabled rule queued %d messages; want 0", n)
	}

	shop.MustDo(200, "PATCH", "/api/collections/notifyRules/records/"+ruleID, admin, map[string]any{"active": true, "channels": []string{"inbox"}})
	placeOrder(t, shop, anna)
	m := shop.WaitMessage("template = 'order.created'", nil, notify.StatusSent)
	if m.GetString("channel") != "inbox" || !strings.Contains(m.GetString("subject"), "1002") {
		t.Errorf("re-enabled rule sent channel=%q subject=%q; want inbox about order 1002", m.GetString("channel"), m.GetString("subject"))
	}
}

func TestPreviewAndTestSend(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	order := placeOrder(t, shop, anna).String("id")
	list := shop.MustDo(200, "GET", "/api/collections/notifyTemplates/records?filter="+urlq("key='order.created' && locale='en'"), admin, nil)
	tpl := list.JSON()["items"].([]any)[0].(map[string]any)["id"].(string)

	preview := shop.MustDo(200, "GET", "/api/notify/templates/"+tpl+"/preview?record="+order+"&channel=email", admin, nil)
	if !strings.Contains(preview.String("subject"), "#1001") || !strings.Contains(preview.String("html"), "Green tea") || preview.String("telegram") != "" {
		t.Errorf("preview = %s; want the email of order 1001 only", preview.Body)
	}
	if res := shop.Do("GET", "/api/notify/templates/"+tpl+"/preview", anna.Token, nil); res.Status != 403 {
		t.Errorf("customer preview = %d; want 403", res.Status)
	}
	if res := shop.Do("GET", "/api/notify/templates/"+tpl+"/preview?channel=fax", admin, nil); res.Status != 400 || !strings.Contains(string(res.Body), "fax") {
		t.Errorf("preview with unknown channel = %d %s; want 400 naming it", res.Status, res.Body)
	}
	if res := shop.Do("GET", "/api/notify/templates/"+tpl+"/preview?record=nosuchrecord00", admin, nil); res.Status != 404 {
		t.Errorf("preview of a missing record = %d; want 404", res.Status)
	}

	res := shop.MustDo(200, "POST", "/api/notify/templates/"+tpl+"/test", admin, map[string]any{"channel": "email", "to": "owner@example.org", "record": order})
	got := emailTo(t, shop, "owner@example.org", "#1001")
	if body, _ := got.Part("text/plain"); !strings.Contains(body, "Green tea") {
		t.Errorf("test email lacks the order's items")
	}
	logged := shop.Messages("id = {:id}", map[string]any{"id": res.String("message")})
	if len(logged) != 1 || logged[0].GetString("status") != notify.StatusSent {
		t.Errorf("test send was not logged as sent: %v", logged)
	}

	shop.SMTP.RejectRcpt("nobody@example.org", 550, "no such user")
	res = shop.Do("POST", "/api/notify/templates/"+tpl+"/test", admin, map[string]any{"channel": "email", "to": "nobody@example.org"})
	if res.Status != 502 || !strings.Contains(res.String("error"), "no such user") {
		t.Errorf("test send to a rejected address = %d %s; want 502 with the server's reply", res.Status, res.Body)
	}
	if res := shop.Do("POST", "/api/notify/templates/"+tpl+"/test", admin, map[string]any{"channel": "email"}); res.Status != 400 {
		t.Errorf("test send without \"to\" = %d; want 400", res.Status)
	}
}

func TestDeletingARuleCancelsItsQueuedMessages(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	rule := shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Review request", "active": true, "collection": "orders", "event": "update", "changed": "status",
		"condition": `status = "delivered"`, "delay": "72h",
		"recipient": "customer", "template": "order.delivered", "channels": []string{"email"}, "category": "marketing",
	}).String("id")
	order := placeOrder(t, shop, anna).String("id")
	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "delivered"})
	if n := len(shop.Messages("rule = {:r} && status = 'queued'", map[string]any{"r": rule})); n != 1 {
		t.Fatalf("%d queued review requests; want 1", n)
	}
	shop.MustDo(204, "DELETE", "/api/collections/notifyRules/records/"+rule, admin, nil)
	m := shop.Messages("sourceRecord = {:o} && template = 'order.delivered' && channel = 'email' && created > ''", map[string]any{"o": order})
	var review *core.Record
	for _, r := range m {
		if r.GetString("category") == "marketing" {
			review = r
		}
	}
	if review == nil || review.GetString("status") != notify.StatusCancelled || review.GetString("error") != `rule "Review request" was deleted` {
		t.Fatalf("after deleting its rule the review request is %v; want cancelled with the reason", review)
	}
}
