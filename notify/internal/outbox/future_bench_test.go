package outbox

import (
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// BenchmarkClaimWithFutureRows compares claiming a batch of due messages
// when 100,000 reminders wait in the queue for later (date rules'
// occurrences, spread over a year) against an empty queue. The lane index
// (status, channel, runAt) makes the claim a range scan that stops at now,
// so the ratio (with ÷ without) should stay near 1.
//
//	go test -run '^$' -bench ClaimWithFutureRows -benchtime 2000x ./notify/internal/outbox/
func BenchmarkClaimWithFutureRows(b *testing.B) {
	newQueue := func(future int) core.App {
		app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(app.Cleanup)
		users, _ := app.FindCollectionByNameOrId("users")
		rules := core.NewBaseCollection("notifyRules")
		if err := app.Save(rules); err != nil {
			b.Fatal(err)
		}
		c := NewCollection(users.Id, rules.Id, []string{"email"})
		// The throttle's index (package audience) is on the real collection too.
		c.AddIndex("idx_notifyMessages_rule_user", false, "`rule`, `user`, `channel`, `runAt`", "")
		if err := app.Save(c); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		_, err = app.DB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM seq WHERE i < {:n})
			INSERT INTO notifyMessages (id, channel, status, attempts, runAt, dedupeKey, created, updated)
			SELECT printf('f%014d', i), 'email', 'queued', 0,
				strftime('%Y-%m-%d %H:%M:%f', {:from}, '+' || (i % 525600) || ' minutes') || 'Z', 'f' || i, {:t}, {:t} FROM seq`).
			Bind(dbx.Params{"n": future, "from": now.Add(time.Hour).UTC().Format("2006-01-02 15:04:05"), "t": DBTime(now)}).Execute()
		if err != nil && future > 0 {
			b.Fatal(err)
		}
		past := DBTime(now.Add(-time.Minute))
		_, err = app.DB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM seq WHERE i < 16)
			INSERT INTO notifyMessages (id, channel, status, attempts, runAt, dedupeKey, created, updated)
			SELECT printf('q%014d', i), 'email', 'queued', 0, {:t}, 'q' || i, {:t}, {:t} FROM seq`).
			Bind(dbx.Params{"t": past}).Execute()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := app.DB().NewQuery("ANALYZE").Execute(); err != nil {
			b.Fatal(err)
		}
		return app
	}
	empty, full := newQueue(0), newQueue(100_000)
	var n int
	if err := full.DB().NewQuery("SELECT COUNT(*) FROM notifyMessages WHERE status = 'queued'").Row(&n); err != nil || n != 100_016 {
		b.Fatalf("the full queue holds %d queued rows, %v; want 100016", n, err)
	}
	once := func(app core.App) time.Duration {
		q := app.NonconcurrentDB().NewQuery(claimSQL(lane{channel: "email"}))
		start := time.Now()
		rows, err := claim(q, lane{channel: "email"}, time.Now(), time.Minute, 16, nil)
		took := time.Since(start)
		if err != nil || len(rows) != 16 {
			b.Fatalf("claim = %d rows, %v; want the 16 due", len(rows), err)
		}
		// Hand them back for the next round.
		if _, err := app.DB().NewQuery(`UPDATE notifyMessages SET status = 'queued' WHERE status = 'sending'`).Execute(); err != nil {
			b.Fatal(err)
		}
		return took
	}
	once(empty)
	once(full)
	b.ResetTimer()
	var tEmpty, tFull time.Duration
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			tEmpty += once(empty)
			tFull += once(full)
		} else {
			tFull += once(full)
			tEmpty += once(empty)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tEmpty.Microseconds())/float64(b.N), "µs/claim-empty")
	b.ReportMetric(float64(tFull.Microseconds())/float64(b.N), "µs/claim-100k-future")
	b.ReportMetric(tFull.Seconds()/tEmpty.Seconds(), "ratio")
}
