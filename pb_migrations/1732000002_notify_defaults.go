package pb_migrations

import (
	"fmt"
	"slices"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// DefaultRule is a seeded notification rule.
type DefaultRule struct {
	Name, Collection, Event, Changed, Condition, Recipient, Template, Category string
	Channels                                                                   []string
}

var (
	everyChannel = []string{channels.Email, channels.Telegram, channels.WebPush, channels.Inbox}
	noPush       = []string{channels.Email, channels.Telegram, channels.Inbox}
)

// DefaultRules are the rules seeded on first start: order created, every
// order status, every payment outcome (whether the payment is created with
// it or moves to it), and the welcome message.
func DefaultRules() []DefaultRule {
	rules := []DefaultRule{{
		Name: "Order created", Collection: "orders", Event: "create", Recipient: "customer",
		Template: "order.created", Category: notify.CategoryTransactional, Channels: everyChannel,
	}}
	for _, status := range OrderStatuses[1:] {
		rules = append(rules, DefaultRule{
			Name: "Order " + status, Collection: "orders", Event: "update", Changed: "status",
			Condition: fmt.Sprintf("status = %q", status), Recipient: "customer",
			Template: "order." + status, Category: notify.CategoryTransactional, Channels: everyChannel,
		})
	}
	for _, status := range PaymentStatuses[1:] {
		for _, event := range []string{"create", "update"} {
			rules = append(rules, DefaultRule{
				Name: fmt.Sprintf("Payment %s (%s)", status, event), Collection: "payments", Event: event, Changed: "status",
				Condition: fmt.Sprintf("status = %q", status), Recipient: "order.customer",
				Template: "payment." + status, Category: notify.CategoryTransactional, Channels: noPush,
			})
		}
	}
	rules = append(rules, DefaultRule{
		Name: "Welcome", Collection: "users", Event: "create", Recipient: "id",
		Template: "user.created", Category: notify.CategoryTransactional,
		Channels: []string{channels.Email, channels.Inbox},
	})
	return rules
}

func init() {
	m.Register(func(app core.App) error {
		// The reminders' templates come with their rules (1732000013).
		if err := seedTemplates(app, func(key string) bool { return !slices.Contains(reminderTemplates, key) }); err != nil {
			return err
		}
		ruleColl, err := app.FindCollectionByNameOrId(notify.RulesCollection)
		if err != nil {
			return err
		}
		for _, r := range DefaultRules() {
			rec := core.NewRecord(ruleColl)
			rec.Load(map[string]any{
				"name": r.Name, "active": true, "collection": r.Collection, "event": r.Event,
				"changed": r.Changed, "condition": r.Condition, "recipient": r.Recipient,
				"template": r.Template, "channels": r.Channels, "mode": notify.ModeAll, "category": r.Category,
			})
			if err := app.Save(rec); err != nil {
				return fmt.Errorf("rule %q: %w", r.Name, err)
			}
		}
		return nil
	}, func(app core.App) error {
		// Seeded rows may have been edited by the admin: leave them.
		return nil
	})
}
