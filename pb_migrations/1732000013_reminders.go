package pb_migrations

import (
	"fmt"
	"slices"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Reminder is a seeded rule that uses the time fields of notifyRules
// (DESIGN "Time"): a date, a delay, a debounce, a send window, a throttle
// or a digest.
type Reminder struct {
	DefaultRule
	Mode, Delay, Guard string
	// Date rules (Event "date").
	DateField, Offset, At, Repeat string
	Window, Throttle, Digest      string
	Debounce                      bool
}

// The seeded marketing reminders wait for the day (09:00-21:00 in the
// customer's timezone) and send at most one message of each rule a day to
// a customer. They go to the first channel the customer has, Telegram,
// then push, then email: one nudge, not three.
const (
	MarketingWindow   = "09:00-21:00"
	MarketingThrottle = "1/24h"
	// DigestWindow: a staff digest that closes outside it waits for 09:00
	// in the staff member's timezone.
	DigestWindow = "09:00-10:00"
)

var marketingChannels = []string{channels.Telegram, channels.WebPush, channels.Email}

// cartNotEmpty holds while a cart has at least one line (the shop's hook
// makes every line's qty 1 or more): the empty list has no items.0.
const cartNotEmpty = "items.0.qty > 0"

// Reminders are the shop's seeded reminders: the abandoned cart, the review
// request, the birthday greeting, and the staff's daily digest of orders.
func Reminders() []Reminder {
	marketing := func(r Reminder) Reminder {
		r.Category, r.Channels, r.Mode = notify.CategoryMarketing, marketingChannels, notify.ModeFirst
		r.Window, r.Throttle = MarketingWindow, MarketingThrottle
		return r
	}
	return []Reminder{
		// An hour after the last change of a non-empty cart: each change
		// moves the queued reminder (debounce), and the guard, checked when
		// it is due, drops it once the cart was emptied (the order placed).
		marketing(Reminder{
			DefaultRule: DefaultRule{
				Name: "Marketing: abandoned cart", Collection: CartsCollection, Event: "update", Changed: "items",
				Condition: cartNotEmpty, Recipient: "customer", Template: "cart.abandoned",
			},
			Delay: "1h", Debounce: true, Guard: cartNotEmpty,
		}),
		// Three days after the order became delivered, and only if it still
		// is: a delay from the status change, re-checked by the guard when
		// due. (orders keeps no "delivered at" date a date rule could use.)
		marketing(Reminder{
			DefaultRule: DefaultRule{
				Name: "Marketing: review request", Collection: "orders", Event: "update", Changed: "status",
				Condition: `status = "delivered"`, Recipient: "customer", Template: "order.review-request",
			},
			Delay: "72h", Guard: `status = "delivered"`,
		}),
		// 10:00 in the customer's timezone on their birthday, every year.
		marketing(Reminder{
			DefaultRule: DefaultRule{
				Name: "Marketing: birthday greeting", Collection: "users", Event: "date", Recipient: "id", Template: "user.birthday-greeting",
			},
			DateField: "birthday", At: "10:00", Repeat: "yearly",
		}),
		// Every order of a day in one message to each staff member, sent
		// when the window opens.
		{
			DefaultRule: DefaultRule{
				Name: "Staff: daily orders digest", Collection: "orders", Event: "create", Recipient: notify.StaffRecipient,
				Template: "staff.orders-digest", Category: notify.CategoryService,
				Channels: []string{channels.Email, channels.Telegram},
			},
			Mode: notify.ModeAll, Digest: "24h", Window: DigestWindow,
		},
	}
}

// reminderTemplates are the templates of the Reminders. The digest's uses
// .Items and .Count, which only a plugin with the time engine renders, so
// they are seeded here, with their rules, rather than by 1732000002.
var reminderTemplates = []string{"cart.abandoned", "order.review-request", "user.birthday-greeting", "staff.orders-digest"}

// The shop's reminders: their templates, then their rules, each only when
// the shop has none of that key and language, or of that name, so an
// owner's edits stay. It runs on new shops and existing ones alike, after
// InstallCollections has given notifyRules the time fields. Down is a
// no-op: the rows may be edited.
func init() {
	m.Register(func(app core.App) error {
		if err := notify.InstallCollections(app, "users"); err != nil { // the time fields
			return fmt.Errorf("reminders: %w", err)
		}
		if err := seedTemplates(app, func(key string) bool { return slices.Contains(reminderTemplates, key) }); err != nil {
			return fmt.Errorf("reminders: %w", err)
		}
		return seedReminders(app)
	}, nil)
}

func seedReminders(app core.App) error {
	var seeds []notify.RuleSeed
	for _, r := range Reminders() {
		seeds = append(seeds, notify.RuleSeed{Name: r.Name, Fields: map[string]any{
			"collection": r.Collection, "event": r.Event, "changed": r.Changed, "condition": r.Condition,
			"recipient": r.Recipient, "template": r.Template, "channels": r.Channels, "mode": r.Mode,
			"category": r.Category, "delay": r.Delay, "guard": r.Guard,
			"dateField": r.DateField, "offset": r.Offset, "at": r.At, "repeat": r.Repeat,
			"window": r.Window, "throttle": r.Throttle, "debounce": r.Debounce, "digest": r.Digest,
		}})
	}
	if err := notify.SeedRules(app, seeds); err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	return nil
}
