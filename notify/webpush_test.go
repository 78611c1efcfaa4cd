package notify_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

func pushShop(t *testing.T) (*shoptest.Shop, *pushtest.Service) {
	t.Helper()
	svc := pushtest.New(t)
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{
		VAPIDSubject:       "mailto:shop@example.org",
		PushAllowedOrigins: []string{svc.URL},
	}})
	return shop, svc
}

func subscribe(t *testing.T, shop *shoptest.Shop, c shoptest.Customer, sub webpush.Subscription) shoptest.Response {
	t.Helper()
	var body map[string]any
	_ = json.Unmarshal(pushtest.SubscriptionJSON(sub), &body)
	return shop.Do("POST", "/api/notify/webpush/subscribe", c.Token, body)
}

func TestPushSubscribeRoute(t *testing.T) {
	t.Parallel()
	shop, svc := pushShop(t)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	good := svc.NewSubscription()
	valid := func() map[string]any {
		var m map[string]any
		_ = json.Unmarshal(pushtest.SubscriptionJSON(good), &m)
		return m
	}

	key := shop.MustDo(200, "GET", "/api/notify/webpush/key", "", nil)
	if len(key.String("publicKey")) != 87 {
		t.Errorf("public key %q; want a 65-byte P-256 point in unpadded base64url", key.String("publicKey"))
	}

	for _, tc := range []struct {
		name   string
		token  string
		body   func() map[string]any
		status int
		want   string
	}{
		{"signed out", "", valid, 401, "Sign in"},
		{"foreign origin", anna.Token, func() map[string]any {
			m := valid()
			m["endpoint"] = "https://evil.example.org/push/1"
			return m
		}, 400, "evil.example.org"},
		{"http on a push service", anna.Token, func() map[string]any {
			m := valid()
			m["endpoint"] = "http://fcm.googleapis.com/fcm/send/x"
			return m
		}, 400, "https"},
		{"key not on the curve", anna.Token, func() map[string]any {
			m := valid()
			m["keys"].(map[string]any)["p256dh"] = "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			return m
		}, 400, "p256dh"},
		{"short auth", anna.Token, func() map[string]any {
			m := valid()
			m["keys"].(map[string]any)["auth"] = "AAAAAAAAAAAAAAAAAAAA"
			return m
		}, 400, "auth"},
		{"valid", anna.Token, valid, 200, good.Endpoint},
		{"again: upsert", anna.Token, valid, 200, good.Endpoint},
		{"another user's endpoint", bob.Token, func() map[string]any {
			m := valid()
			m["keys"].(map[string]any)["auth"] = "BBBBBBBBBBBBBBBBBBBBBB"
			return m
		}, 400, "another account"},
	} {
		res := shop.Do("POST", "/api/notify/webpush/subscribe", tc.token, tc.body())
		if res.Status != tc.status || !strings.Contains(string(res.Body), tc.want) {
			t.Errorf("%s: subscribe = %d %s; want %d mentioning %q", tc.name, res.Status, res.Body, tc.status, tc.want)
		}
	}

	list := shop.MustDo(200, "GET", "/api/collections/notifyPushSubscriptions/records", anna.Token, nil)
	items := list.JSON()["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("Anna has %d subscriptions; want 1 (upserted by endpoint)", len(items))
	}
	if _, ok := items[0].(map[string]any)["auth"]; ok {
		t.Errorf("the subscription's auth secret is readable through the API")
	}
	id := items[0].(map[string]any)["id"].(string)
	if got := shop.MustDo(200, "GET", "/api/collections/notifyPushSubscriptions/records", bob.Token, nil); got.JSON()["totalItems"] != 0.0 {
		t.Errorf("Bob sees Anna's subscriptions: %s", got.Body)
	}
	if res := shop.Do("DELETE", "/api/collections/notifyPushSubscriptions/records/"+id, bob.Token, nil); res.Status != 404 {
		t.Errorf("Bob deletes Anna's subscription = %d; want 404", res.Status)
	}

	t.Run("the service worker replaces its subscription", func(t *testing.T) {
		fresh := svc.NewSubscription()
		var body map[string]any
		_ = json.Unmarshal(pushtest.SubscriptionJSON(fresh), &body)
		body["replaces"] = map[string]any{"endpoint": good.Endpoint, "auth": "wrong-secret-wrong-sec"}
		if res := shop.Do("POST", "/api/notify/webpush/subscribe", "", body); res.Status != 400 {
			t.Errorf("replace with a wrong auth secret = %d; want 400", res.Status)
		}
		body["replaces"] = map[string]any{"endpoint": good.Endpoint, "auth": good.Auth}
		shop.MustDo(200, "POST", "/api/notify/webpush/subscribe", "", body)
		list := shop.MustDo(200, "GET", "/api/collections/notifyPushSubscriptions/records", anna.Token, nil)
		items := list.JSON()["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["endpoint"] != fresh.Endpoint {
			t.Errorf("after pushsubscriptionchange Anna has %s; want only the new endpoint", list.Body)
		}
	})

	t.Run("secrets are not readable", func(t *testing.T) {
		admin := shop.SuperuserToken()
		for _, path := range []string{"/api/collections/_notifySecrets/records", "/api/collections/_notifySecrets"} {
			if res := shop.Do("GET", path, admin, nil); res.Status != 404 {
				t.Errorf("superuser GET %s = %d; want 404", path, res.Status)
			}
		}
		if res := shop.MustDo(200, "GET", "/api/settings", admin, nil); strings.Contains(string(res.Body), "vapid") {
			t.Errorf("settings expose VAPID material")
		}
	})
}

func TestPushOnOrderUpdate(t *testing.T) {
	t.Parallel()
	shop, svc := pushShop(t)
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	phone, laptop := svc.NewSubscription(), svc.NewSubscription()
	for _, s := range []webpush.Subscription{phone, laptop} {
		if res := subscribe(t, shop, anna, s); res.Status != 200 {
			t.Fatalf("subscribe = %d %s", res.Status, res.Body)
		}
	}
	order := placeOrder(t, shop, anna).String("id")
	svc.WaitReceived(t, 2, 10*time.Second) // order created, on both devices

	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "shipped", "trackingNumber": "RA123456789RU"})
	pushes := svc.WaitReceived(t, 4, 10*time.Second)[2:]
	for _, p := range pushes {
		var payload struct{ Title, Body, URL, Tag string }
		if err := p.Decode(&payload); err != nil {
			t.Fatal(err)
		}
		if payload.Title != "Order #1001 has shipped" || !strings.Contains(payload.Body, "RA123456789RU") ||
			resolve(t, shop, payload.URL) != "http://shop.test/#/orders/"+order || payload.Tag != "orders-"+order {
			t.Errorf("push payload = %+v; want the shipped notice with tracking number, order URL and tag", payload)
		}
		if p.TTL <= 0 || p.Urgency != "high" || p.Topic == "" {
			t.Errorf("push headers TTL=%d Urgency=%q Topic=%q; want TTL > 0, high urgency, a topic", p.TTL, p.Urgency, p.Topic)
		}
	}
	m := shop.WaitMessage("template = 'order.shipped' && channel = 'webpush'", nil, notify.StatusSent)
	if m.GetString("providerId") != "2/2 devices" {
		t.Errorf("providerId = %q; want 2/2 devices", m.GetString("providerId"))
	}

	// The phone's browser dropped the subscription: 410 removes only it.
	svc.ReplyAlways(phone, 410, nil)
	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "delivered"})
	shop.WaitMessage("template = 'order.delivered' && channel = 'webpush'", nil, notify.StatusSent)
	left := shop.MustDo(200, "GET", "/api/collections/notifyPushSubscriptions/records", anna.Token, nil).JSON()["items"].([]any)
	if len(left) != 1 || left[0].(map[string]any)["endpoint"] != laptop.Endpoint {
		t.Errorf("after a 410 Anna's subscriptions are %v; want only the laptop", left)
	}

	// A push service asks to slow down: retried later without using an attempt.
	svc.Reply(laptop, 429, map[string]string{"Retry-After": "1"})
	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "returned"})
	got := shop.WaitMessage("template = 'order.returned' && channel = 'webpush'", nil, notify.StatusSent)
	if got.GetInt("attempts") != 1 {
		t.Errorf("after a 429 and a delivery attempts = %d; want 1", got.GetInt("attempts"))
	}
}

func TestVAPIDRotation(t *testing.T) {
	t.Parallel()
	shop, svc := pushShop(t)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	old := shop.MustDo(200, "GET", "/api/notify/webpush/key", "", nil).String("publicKey")
	subscribe(t, shop, anna, svc.NewSubscription())

	keys, err := notify.RotateVAPIDKeys(shop.App)
	if err != nil {
		t.Fatal(err)
	}
	now := shop.MustDo(200, "GET", "/api/notify/webpush/key", "", nil).String("publicKey")
	if now == old || now != keys.Public {
		t.Errorf("key after rotation = %q (was %q); want the new key %q", now, old, keys.Public)
	}
	if n := shop.MustDo(200, "GET", "/api/collections/notifyPushSubscriptions/records", anna.Token, nil).JSON()["totalItems"]; n != 0.0 {
		t.Errorf("%v subscriptions survive rotation; want 0 (they cannot work with the new key)", n)
	}
	sub := svc.NewSubscription()
	subscribe(t, shop, anna, sub)
	placeOrder(t, shop, anna)
	p := svc.WaitReceived(t, 1, 10*time.Second)[0]
	if p.VAPIDKey != keys.Public {
		t.Errorf("push signed with key %q; want the rotated key", p.VAPIDKey)
	}
}
