package outbox

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// BenchmarkClaim measures claiming a batch of due messages when the log
// holds 10k and 1M delivered messages: the indexes keep the claim a range
// scan over due rows, so the two should cost about the same.
func BenchmarkClaim(b *testing.B) {
	for _, history := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer app.Cleanup()
			users, _ := app.FindCollectionByNameOrId("users")
			rules := core.NewBaseCollection("notifyRules")
			if err := app.Save(rules); err != nil {
				b.Fatal(err)
			}
			if err := app.Save(NewCollection(users.Id, rules.Id, []string{"email"})); err != nil {
				b.Fatal(err)
			}
			past := DBTime(time.Now().Add(-time.Hour))
			_, err = app.DB().NewQuery(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM seq WHERE i < {:n})
				INSERT INTO notifyMessages (id, channel, status, attempts, runAt, sentAt, dedupeKey, created, updated)
				SELECT printf('h%014d', i), 'email', 'sent', 1, {:t}, {:t}, 'h' || i, {:t}, {:t} FROM seq`).
				Bind(dbx.Params{"n": history, "t": past}).Execute()
			if err != nil {
				b.Fatal(err)
			}
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
			q := app.NonconcurrentDB().NewQuery(claimSQL(lane{channel: "email"})).Prepare()
			defer q.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rows, err := claim(q, lane{channel: "email"}, time.Now(), time.Minute, 16, nil)
				if err != nil || len(rows) != 16 {
					b.Fatalf("claim = %d rows, %v; want 16", len(rows), err)
				}
				b.StopTimer()
				// Hand them back for the next iteration.
				if _, err := app.DB().NewQuery(`UPDATE notifyMessages SET status='queued' WHERE status='sending'`).Execute(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
