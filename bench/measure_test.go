package bench

import (
	"net/url"
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
