package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
)

// BenchmarkOrderCreateDateRule compares order creation with a date rule
// active on orders (a reminder 72 hours after each order is created,
// scheduled in the order's transaction) against the same shop with the
// rule inactive, with no and with 100,000 reminders already waiting. The ratio is
// orders/s with the rule ÷ without; near 1 means scheduling costs little.
//
//	go test -run '^$' -bench OrderCreateDateRule -benchtime 4x ./bench/
func BenchmarkOrderCreateDateRule(b *testing.B) {
	for _, future := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("future=%d", future), func(b *testing.B) { orderCreateDateRule(b, future) })
	}
}

func orderCreateDateRule(b *testing.B, future int) {
	with := shoptest.New(b, shoptest.Options{Config: notify.Config{DisableDispatcher: true}})
	without := shoptest.New(b, shoptest.Options{Config: notify.Config{DisableDispatcher: true}})
	// Both shops are set up alike; only the rule's active flag differs.
	for _, shop := range []*shoptest.Shop{with, without} {
		shop.MustDo(200, "POST", "/api/collections/notifyRules/records", shop.SuperuserToken(), map[string]any{
			"name": "Three days after", "active": shop == with, "collection": "orders", "event": "date",
			"dateField": "created", "offset": "72h", "recipient": "customer", "template": "order.created",
			"channels": []string{"email"}, "category": "service",
		})
	}
	cw := with.SignUp("Anna", "anna@example.org", "en")
	cwo := without.SignUp("Anna", "anna@example.org", "en")
	now := time.Now().UTC()
	for _, shop := range []*shoptest.Shop{with, without} {
		// The same future reminders wait in both (with future > 0).
		_, err := shop.App.DB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 1 WHERE {:n} > 0 UNION ALL SELECT i+1 FROM seq WHERE i < {:n})
			INSERT INTO notifyMessages (id, channel, status, attempts, runAt, sourceCollection, sourceRecord, data, dedupeKey, created, updated)
		SELECT printf('f%014d', i), 'email', 'queued', 0,
			strftime('%Y-%m-%d %H:%M:%f', {:from}, '+' || (i % 525600) || ' minutes') || 'Z', 'orders', printf('o%014d', i), '{}', 'f' || i, {:from}, {:from} FROM seq`).
			Bind(dbx.Params{"n": future, "from": now.Add(time.Hour).Format("2006-01-02 15:04:05")}).Execute()
		if err != nil {
			b.Fatal(err)
		}
	}
	const perRound = 300
	createOrders(b, with, cw, 50) // warm up both
	createOrders(b, without, cwo, 50)
	if n := len(with.Messages("rule.name = 'Three days after' && status = 'queued'")); n != 50 {
		b.Fatalf("%d reminders scheduled for 50 orders; want 50", n)
	}
	b.ResetTimer()
	tWith, tWithout := alternateOrders(b, with, cw, without, cwo, perRound)
	b.StopTimer()
	orders := float64(b.N * perRound)
	b.ReportMetric(orders/tWith.Seconds(), "orders/s-daterule")
	b.ReportMetric(orders/tWithout.Seconds(), "orders/s-without")
	b.ReportMetric(tWithout.Seconds()/tWith.Seconds(), "ratio")
}
