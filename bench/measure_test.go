package bench

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
)

// BenchmarkStats measures the notifyStats view over a log of one million
// messages (90 days, 20 templates, 4 channels, 2 variants):
// the first page as the dashboard asks for it (with the total count) and
// without the count, through the REST API, and the whole view in SQL.
func BenchmarkStats(b *testing.B) {
	shop := shoptest.New(b, shoptest.Options{Config: notify.Config{DisableDispatcher: true}})
	admin := shop.SuperuserToken()
	const n = 1_000_000
	start := time.Now()
	_, err := shop.App.NonconcurrentDB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM seq WHERE i < {:n} - 1)
		INSERT INTO notifyMessages (id, template, channel, category, status, attempts, dedupeKey, variant, openedAt, clickedAt, readAt, created, updated)
		SELECT printf('m%014d', i), 'tpl' || (i % 20),
			CASE i % 4 WHEN 0 THEN 'email' WHEN 1 THEN 'inbox' WHEN 2 THEN 'telegram' ELSE 'webpush' END,
			'transactional',
			CASE WHEN i % 10 < 7 THEN 'sent' WHEN i % 10 = 7 THEN 'failed' WHEN i % 10 = 8 THEN 'skipped' ELSE 'cancelled' END,
			1, 'stats-' || i, CASE WHEN i % 3 = 0 THEN 'B' ELSE '' END,
			CASE WHEN i % 5 = 0 THEN '2026-01-01 10:00:00.000Z' ELSE '' END,
			CASE WHEN i % 11 = 0 THEN '2026-01-01 10:00:00.000Z' ELSE '' END, '',
			date('2026-01-01', '+' || ((i / 20) % 90) || ' days') || ' 10:00:00.000Z', '2026-01-01 10:00:00.000Z'
		FROM seq`).Bind(dbx.Params{"n": n}).Execute()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := shop.App.NonconcurrentDB().NewQuery("ANALYZE").Execute(); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d messages in %s", n, time.Since(start).Round(time.Millisecond))

	timeIt := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			f() // warm the page cache
			start := time.Now()
			for range b.N {
				f()
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
	list := "/api/collections/notifyStats/records?perPage=30&sort=-day&filter=" + url.QueryEscape("template = 'tpl3'")
	timeIt("api=page+count", func() {
		if res := shop.Do("GET", list, admin, nil); res.Status != 200 || res.JSON()["totalItems"].(float64) == 0 {
			b.Fatalf("GET = %d %.200s", res.Status, res.Body)
		}
	})
	timeIt("api=page", func() {
		if res := shop.Do("GET", list+"&skipTotal=1", admin, nil); res.Status != 200 {
			b.Fatalf("GET = %d %.200s", res.Status, res.Body)
		}
	})
	timeIt("sql=whole-view", func() {
		var rows, total int
		if err := shop.App.DB().NewQuery("SELECT COUNT(*), SUM(total) FROM notifyStats").Row(&rows, &total); err != nil || total != n {
			b.Fatalf("view: %d rows, total %d, %v", rows, total, err)
		}
	})
}

// BenchmarkTrackingDispatch compares email dispatch with signed links
// (the default) against the same shop with NOTIFY_TRACK_CLICKS=off, in one
// run: rounds alternate between the two shops so machine noise hits both
// alike. Each round queues 2,000 order confirmations at once and times
// the first to the last sentAt. The ratio on/off is the figure; the goal
// is at least 0.9.
func BenchmarkTrackingDispatch(b *testing.B) {
	const n = 2000
	type arm struct {
		shop  *shoptest.Shop
		total time.Duration
	}
	arms := map[string]*arm{}
	for _, name := range []string{"on", "off"} {
		shop := shoptest.New(b, shoptest.Options{Config: notify.Config{NoClickTracking: name == "off", PollInterval: 50 * time.Millisecond}})
		anna := shop.SignUp("Anna", "anna@example.org", "en")
		shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{
			"customer": anna.ID, "items": []map[string]any{shop.Item("Green tea", 2, 350)},
		})
		shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent)
		arms[name] = &arm{shop: shop}
	}
	round := func(a *arm, i int) {
		shop := a.shop
		before := len(shop.SMTP.Messages())
		prefix := "bench-" + strconv.Itoa(i) + "-"
		_, err := shop.App.DB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM seq WHERE i < {:n})
			INSERT INTO notifyMessages (id, rule, template, channel, category, user, status, attempts, runAt, sourceCollection, sourceRecord, data, dedupeKey, created, updated)
			SELECT lower(hex(randomblob(8))), m.rule, m.template, m.channel, m.category, m.user, 'queued', 0, m.runAt, m.sourceCollection, m.sourceRecord, m.data, {:prefix} || i, m.created, m.updated
			FROM seq, (SELECT * FROM notifyMessages WHERE template = 'order.created' AND channel = 'email' LIMIT 1) m`).Bind(dbx.Params{"n": n, "prefix": prefix}).Execute()
		if err != nil {
			b.Fatal(err)
		}
		shop.SMTP.Wait(b, before+n, 2*time.Minute)
		var span struct {
			First string `db:"f"`
			Last  string `db:"l"`
			Sent  int    `db:"s"`
		}
		for {
			if err := shop.App.DB().NewQuery(`SELECT MIN(sentAt) AS f, MAX(sentAt) AS l, COUNT(*) AS s FROM notifyMessages WHERE dedupeKey LIKE {:p} AND status = 'sent'`).
				Bind(dbx.Params{"p": prefix + "%"}).One(&span); err != nil {
				b.Fatal(err)
			}
			if span.Sent == n {
				break
			}
			time.Sleep(20 * time.Millisecond) // the last outcomes are being written
		}
		first, _ := time.Parse("2006-01-02 15:04:05.000Z", span.First)
		last, _ := time.Parse("2006-01-02 15:04:05.000Z", span.Last)
		a.total += last.Sub(first)
		if _, err := shop.App.DB().NewQuery(`DELETE FROM notifyMessages WHERE dedupeKey LIKE 'bench-%'`).Execute(); err != nil {
			b.Fatal(err)
		}
	}
	for i := range b.N {
		// Alternate which arm goes first, so neither always follows the other.
		if i%2 == 0 {
			round(arms["on"], i)
			round(arms["off"], i)
		} else {
			round(arms["off"], i)
			round(arms["on"], i)
		}
	}
	on := float64(b.N*n) / arms["on"].total.Seconds()
	off := float64(b.N*n) / arms["off"].total.Seconds()
	b.ReportMetric(on, "emails/s-tracked")
	b.ReportMetric(off, "emails/s-untracked")
	b.ReportMetric(on/off, "ratio")
}
