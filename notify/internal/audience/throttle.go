package audience

import (
	"fmt"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// AddIndexes adds to the notifyMessages collection the index the throttle
// count uses: one range scan of a rule's rows to one recipient, however
// large the log grows.
func AddIndexes(c *core.Collection) {
	c.AddIndex("idx_notifyMessages_rule_user", false, "`rule`, `user`, `channel`, `runAt`", "")
}

// Count reports how many messages of rule to user on channel are sent,
// being sent or queued with runAt within Per of at (either side): what a
// new message due at at is measured against. Run it on the write's
// transaction so the count and the insert agree.
func (t Throttle) Count(app core.App, rule, user, channel string, at time.Time) (int, error) {
	var n int
	err := app.NonconcurrentDB().NewQuery(`SELECT COUNT(*) FROM {{notifyMessages}}
		WHERE [[rule]] = {:rule} AND [[user]] = {:user} AND [[channel]] = {:channel}
		AND [[runAt]] > {:from} AND [[runAt]] < {:to}
		AND [[status]] IN ('queued', 'sending', 'sent')`).Bind(dbx.Params{
		"rule": rule, "user": user, "channel": channel,
		"from": outbox.DBTime(at.Add(-t.Per)), "to": outbox.DBTime(at.Add(t.Per)),
	}).Row(&n)
	if err != nil {
		return 0, fmt.Errorf("throttle count: %w", err)
	}
	return n, nil
}

// Reason is the error a throttled message is skipped with; it begins with
// "throttled", which the owner filters on.
func (t Throttle) Reason(ruleName string) string {
	return fmt.Sprintf("throttled: rule %q sends at most %d per %s to one recipient", ruleName, t.N, t.Per)
}
