// Package bench measures the shop end to end: order writes through the REST
// API with and without the plugin, dispatch throughput to a real SMTP
// server, and the latency from an order to its email. Run with `make bench`.
package bench

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
)

const clients = 8 // concurrent HTTP clients creating orders

func createOrders(b *testing.B, shop *shoptest.Shop, c shoptest.Customer, n int) time.Duration {
	b.Helper()
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	item := shop.Item("Green tea", 2, 350)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				res := shop.Do("POST", "/api/collections/orders/records", c.Token, map[string]any{
					"customer": c.ID,
					"items":    []map[string]any{item},
				})
				if res.Status != 200 {
					b.Errorf("order create = %d %s", res.Status, res.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkOrderCreate compares order creation throughput with the default
// rules active (four outbox rows per order) against the same shop without
// the plugin, twice: with the dispatcher paused (the cost of the write
// path alone) and running (also rendering and sending those messages on the
// same cores). Rounds alternate between the two shops so that machine
// noise hits both alike; the ratio is reported.
func BenchmarkOrderCreate(b *testing.B) {
	for _, paused := range []bool{true, false} {
		name := "dispatcher=running"
		if paused {
			name = "dispatcher=paused"
		}
		b.Run(name, func(b *testing.B) {
			with := shoptest.New(b, shoptest.Options{Config: notify.Config{DisableDispatcher: paused}})
			without := shoptest.New(b, shoptest.Options{NoPlugin: true})
			cw := with.SignUp("Anna", "anna@example.org", "en")
			cwo := without.SignUp("Anna", "anna@example.org", "en")
			const perRound = 300
			createOrders(b, with, cw, 50) // warm up both
			createOrders(b, without, cwo, 50)
			b.ResetTimer()
			tWith, tWithout := alternateOrders(b, with, cw, without, cwo, perRound)
			b.StopTimer()
			orders := float64(b.N * perRound)
			b.ReportMetric(orders/tWith.Seconds(), "orders/s-plugin")
			b.ReportMetric(orders/tWithout.Seconds(), "orders/s-noplugin")
			b.ReportMetric(tWithout.Seconds()/tWith.Seconds(), "ratio")
		})
	}
}

// BenchmarkDispatchEmail measures how fast queued emails reach the SMTP
// server (STARTTLS + AUTH, pooled connections): n copies of a real order
// confirmation are queued in one transaction and the rate is taken from the
// first to the last sentAt.
func BenchmarkDispatchEmail(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("connections=%d", conns), func(b *testing.B) {
			shop := shoptest.New(b, shoptest.Options{Config: notify.Config{EmailConnections: conns, PollInterval: 50 * time.Millisecond}})
			anna := shop.SignUp("Anna", "anna@example.org", "en")
			shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{
				"customer": anna.ID, "items": []map[string]any{shop.Item("Green tea", 2, 350)},
			})
			shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent)
			const n = 5000
			var total time.Duration
			for i := 0; i < b.N; i++ {
				before := len(shop.SMTP.Messages())
				_, err := shop.App.DB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM seq WHERE i < {:n})
					INSERT INTO notifyMessages (id, rule, template, channel, category, user, status, attempts, runAt, sourceCollection, sourceRecord, data, dedupeKey, created, updated)
					SELECT lower(hex(randomblob(8))), m.rule, m.template, m.channel, m.category, m.user, 'queued', 0, m.runAt, m.sourceCollection, m.sourceRecord, m.data, {:prefix} || i, m.created, m.updated
					FROM seq, (SELECT * FROM notifyMessages WHERE template = 'order.created' AND channel = 'email' LIMIT 1) m`).Bind(dbx.Params{"n": n, "prefix": fmt.Sprintf("bench-%d-", i)}).Execute()
				if err != nil {
					b.Fatal(err)
				}
				shop.SMTP.Wait(b, before+n, 2*time.Minute)
				var span struct {
					First string `db:"f"`
					Last  string `db:"l"`
				}
				time.Sleep(200 * time.Millisecond) // let the last outcomes be written
				if err := shop.App.DB().NewQuery(`SELECT MIN(sentAt) AS f, MAX(sentAt) AS l FROM notifyMessages WHERE dedupeKey LIKE {:prefix}`).Bind(dbx.Params{"prefix": fmt.Sprintf("bench-%d-%%", i)}).One(&span); err != nil {
					b.Fatal(err)
				}
				first, _ := time.Parse("2006-01-02 15:04:05.000Z", span.First)
				last, _ := time.Parse("2006-01-02 15:04:05.000Z", span.Last)
				total += last.Sub(first)
				if _, err := shop.App.DB().NewQuery(`DELETE FROM notifyMessages WHERE dedupeKey LIKE 'bench-%'`).Execute(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/total.Seconds(), "emails/s")
			b.ReportMetric(float64(shop.SMTP.Connections()), "smtp-connections")
		})
	}
}

// BenchmarkOrderEmailLatency measures, on an idle shop, the time from the
// order create response to the confirmation arriving at the SMTP server.
func BenchmarkOrderEmailLatency(b *testing.B) {
	shop := shoptest.New(b, shoptest.Options{Config: notify.Config{PollInterval: 5 * time.Second}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.SMTP.Wait(b, 1, 10*time.Second)
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		before := len(shop.SMTP.Messages())
		start := time.Now()
		shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{
			"customer": anna.ID, "items": []map[string]any{shop.Item("Tea", 1, 1)},
		})
		shop.SMTP.Wait(b, before+1, 10*time.Second)
		lat = append(lat, time.Since(start))
		time.Sleep(20 * time.Millisecond) // idle between orders
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
}

// alternateOrders places perRound orders in each of two shops b.N times,
// alternating which goes first so that neither always runs on a warmer or
// busier machine, and returns the time each took.
func alternateOrders(b *testing.B, x *shoptest.Shop, cx shoptest.Customer, y *shoptest.Shop, cy shoptest.Customer, perRound int) (tx, ty time.Duration) {
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			tx += createOrders(b, x, cx, perRound)
			ty += createOrders(b, y, cy, perRound)
		} else {
			ty += createOrders(b, y, cy, perRound)
			tx += createOrders(b, x, cx, perRound)
		}
	}
	return tx, ty
}
