package console_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// TestScale times the console's routes on a large message log. It runs
// only with CONSOLE_SCALE=<rows> (it is a measurement, not a check).
func TestScale(t *testing.T) {
	var n int
	if _, err := fmt.Sscan(os.Getenv("CONSOLE_SCALE"), &n); err != nil || n <= 0 {
		t.Skip("set CONSOLE_SCALE=<rows> to measure")
	}
	shop := quietShop(t)
	admin := shop.SuperuserToken()
	now := shop.Clock.Now()
	statuses := []string{"sent", "sent", "sent", "sent", "sent", "sent", "skipped", "failed", "queued", "cancelled"}
	channels := []string{"email", "inbox", "telegram", "webpush"}
	err := shop.App.RunInTransaction(func(tx core.App) error {
		for i := range n {
			at := dbTime(now.Add(-time.Duration(i%(30*24*60)) * time.Minute))
			_, err := tx.DB().Insert(notify.MessagesCollection, dbx.Params{
				"id": fmt.Sprintf("m%014d", i), "channel": channels[i%len(channels)], "status": statuses[i%len(statuses)],
				"template": "order.shipped", "to": fmt.Sprintf("c%d@example.org", i%5000), "runAt": at,
				"error": fmt.Sprintf("550 mailbox unavailable: c%d@example.org", i%5000), "dedupeKey": fmt.Sprintf("k%d", i),
				"attempts": i % 3, "created": at, "updated": at,
			}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/notify/console/health", "/api/notify/console/failures", "/api/notify/console/stats?range=24h", "/api/notify/console/stats?range=30d"} {
		start := time.Now()
		shop.MustDo(200, "GET", path, admin, nil)
		t.Logf("%d rows: GET %s took %s", n, path, time.Since(start).Round(time.Millisecond))
	}
}
