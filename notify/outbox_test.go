package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func countRows(t *testing.T, shop *shoptest.Shop, table, where string) int {
	t.Helper()
	var n int
	if err := shop.App.DB().NewQuery("SELECT COUNT(*) FROM " + table + " WHERE " + where).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOutboxCommitsWithTheWrite(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSent)

	t.Run("outbox failure fails the order", func(t *testing.T) {
		// An injected database failure on the outbox insert.
		mustExec(t, shop, `CREATE TRIGGER fail_outbox BEFORE INSERT ON notifyMessages BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END`)
		defer mustExec(t, shop, `DROP TRIGGER fail_outbox`)
		res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": []any{shop.Item("Tea", 1, 1)}})
		if res.Status < 400 {
			t.Fatalf("order create = %d %s; want an error when the outbox write fails", res.Status, res.Body)
		}
		if n := countRows(t, shop, "orders", "1=1"); n != 0 {
			t.Fatalf("%d orders stored although their notifications could not be; want 0", n)
		}
	})

	t.Run("order failure leaves no outbox rows", func(t *testing.T) {
		before := countRows(t, shop, "notifyMessages", "1=1")
		mustExec(t, shop, `CREATE TRIGGER fail_order AFTER INSERT ON orders BEGIN SELECT RAISE(ABORT, 'injected order failure'); END`)
		defer mustExec(t, shop, `DROP TRIGGER fail_order`)
		res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": []any{shop.Item("Tea", 1, 1)}})
		if res.Status < 400 {
			t.Fatalf("order create = %d; want an error", res.Status)
		}
		if after := countRows(t, shop, "notifyMessages", "1=1"); after != before {
			t.Fatalf("outbox grew from %d to %d rows for an order that was not stored", before, after)
		}
	})

	t.Run("batch request: all or nothing", func(t *testing.T) {
		settings := shop.App.Settings()
		settings.Batch.Enabled = true
		settings.Batch.MaxRequests = 10
		if err := shop.App.Save(settings); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, shop, "notifyMessages", "1=1")
		res := shop.Do("POST", "/api/batch", anna.Token, map[string]any{"requests": []map[string]any{
			{"method": "POST", "url": "/api/collections/orders/records", "body": map[string]any{"customer": anna.ID, "items": []any{shop.Item("Tea", 1, 1)}}},
			{"method": "POST", "url": "/api/collections/orders/records", "body": map[string]any{"customer": "someoneelse0000", "items": []any{shop.Item("Tea", 1, 1)}}},
		}})
		if res.Status < 400 {
			t.Fatalf("batch = %d %s; want an error from the second request", res.Status, res.Body)
		}
		if n := countRows(t, shop, "orders", "1=1"); n != 0 {
			t.Fatalf("%d orders stored from a failed batch", n)
		}
		if after := countRows(t, shop, "notifyMessages", "1=1"); after != before {
			t.Fatalf("outbox grew from %d to %d rows in a failed batch", before, after)
		}
		res = shop.MustDo(200, "POST", "/api/batch", anna.Token, map[string]any{"requests": []map[string]any{
			{"method": "POST", "url": "/api/collections/orders/records", "body": map[string]any{"customer": anna.ID, "items": []any{shop.Item("Tea", 1, 1)}}},
			{"method": "POST", "url": "/api/collections/orders/records", "body": map[string]any{"customer": anna.ID, "items": []any{shop.Item("Tea", 1, 1)}}},
		}})
		for _, n := range []string{"1001", "1002"} {
			shop.WaitMessage("template = 'order.created' && channel = 'email' && subject ~ {:n}", map[string]any{"n": n}, notify.StatusSent)
		}
	})

	t.Run("app.Save from Go: same guarantee", func(t *testing.T) {
		mustExec(t, shop, `CREATE TRIGGER fail_outbox BEFORE INSERT ON notifyMessages BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END`)
		orders, err := shop.App.FindCollectionByNameOrId("orders")
		if err != nil {
			t.Fatal(err)
		}
		order := core.NewRecord(orders)
		order.Set("customer", anna.ID)
		err = shop.App.Save(order)
		mustExec(t, shop, `DROP TRIGGER fail_outbox`)
		if err == nil || !strings.Contains(err.Error(), "injected outbox failure") {
			t.Fatalf("app.Save error = %v; want the outbox failure", err)
		}
		if n := countRows(t, shop, "orders", "customer = '"+anna.ID+"'"); n != 2 {
			t.Fatalf("%d orders after app.Save failed; want only the 2 from the batch", n)
		}
		if err := shop.App.Save(order); err != nil {
			t.Fatalf("app.Save after the failure: %v", err)
		}
		shop.WaitMessage("template = 'order.created' && channel = 'email' && sourceRecord = {:id}", map[string]any{"id": order.Id}, notify.StatusSent)
	})
}

func mustExec(t *testing.T, shop *shoptest.Shop, sql string) {
	t.Helper()
	if _, err := shop.App.DB().NewQuery(sql).Execute(); err != nil {
		t.Fatal(err)
	}
}

func TestExpiredLeaseIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	emailTo(t, shop, "anna@example.org", "Welcome")
	placeOrder(t, shop, anna)
	emailTo(t, shop, "anna@example.org", "#1001")

	// Two copies of the order email as a crashed process leaves them: one
	// claimed, its lease run out a minute ago; one whose claimant is still
	// alive, leased for another hour.
	past := time.Now().Add(-time.Minute).UTC().Format("2006-01-02 15:04:05.000Z")
	future := time.Now().Add(time.Hour).UTC().Format("2006-01-02 15:04:05.000Z")
	for _, c := range []struct{ id, lease string }{{"crashedclaim001", past}, {"liveclaim000001", future}} {
		mustExecParams(t, shop, `INSERT INTO notifyMessages
			(id, rule, template, channel, category, user, status, attempts, runAt, leaseUntil, sourceCollection, sourceRecord, data, dedupeKey, created, updated)
			SELECT {:id}, rule, template, channel, category, user, 'sending', 1, runAt, {:lease}, sourceCollection, sourceRecord, data, {:id}, created, updated
			FROM notifyMessages WHERE template = 'order.created' AND channel = 'email' AND id NOT IN ('crashedclaim001', 'liveclaim000001')`, dbx.Params{"id": c.id, "lease": c.lease})
	}

	m := shop.WaitMessage("id = 'crashedclaim001'", nil, notify.StatusSent)
	if m.GetInt("attempts") != 2 {
		t.Errorf("attempts = %d; want 2 (the crashed one and the delivery)", m.GetInt("attempts"))
	}
	time.Sleep(500 * time.Millisecond) // several dispatcher polls
	var orderEmails int
	for _, msg := range shop.SMTP.Messages() {
		if strings.Contains(msg.Header("Subject"), "#1001") {
			orderEmails++
		}
	}
	if orderEmails != 2 {
		t.Errorf("order email delivered %d times; want 2 (the original and the expired claim, once each)", orderEmails)
	}
	if live := shop.Messages("id = 'liveclaim000001'")[0]; live.GetString("status") != notify.StatusSending || live.GetInt("attempts") != 1 {
		t.Errorf("a message under a live lease became %s (attempts %d); want it left to its claimant", live.GetString("status"), live.GetInt("attempts"))
	}
}

func mustExecParams(t *testing.T, shop *shoptest.Shop, sql string, p dbx.Params) {
	t.Helper()
	if _, err := shop.App.DB().NewQuery(sql).Bind(p).Execute(); err != nil {
		t.Fatal(err)
	}
}
