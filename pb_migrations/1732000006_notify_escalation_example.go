package pb_migrations

import (
	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// EscalationExampleName names the seeded, inactive example of an escalating
// rule: the shipped message in the inbox first, and by email if the
// customer has not read it within 30 minutes. (The inbox is the step whose
// reading the shop can see; push and email count once opens and clicks are
// tracked.) The owner switches it on, and the plain "Order shipped" rule
// off, in the dashboard.
const EscalationExampleName = "Order shipped: inbox, then email if unread in 30 min"

func init() {
	m.Register(func(app core.App) error {
		if err := notify.InstallCollections(app, "users"); err != nil { // the escalate mode and escalateAfter
			return err
		}
		if n, err := app.CountRecords(notify.RulesCollection, dbx.HashExp{"name": EscalationExampleName}); err != nil || n > 0 {
			return err
		}
		coll, err := app.FindCollectionByNameOrId(notify.RulesCollection)
		if err != nil {
			return err
		}
		r := core.NewRecord(coll)
		r.Load(map[string]any{
			"name": EscalationExampleName, "active": false,
			"collection": "orders", "event": "update", "changed": "status", "condition": `status = "shipped"`,
			"recipient": "customer", "template": "order.shipped", "category": notify.CategoryTransactional,
			"channels": []string{channels.Inbox, channels.Email},
			"mode":     notify.ModeEscalate, "escalateAfter": "30m",
		})
		return app.Save(r)
	}, nil)
}
