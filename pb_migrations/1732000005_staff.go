package pb_migrations

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// StaffRules are the seeded alerts to the shop's own people (recipient
// "@staff"): every new order, and every payment that fails, whether it is
// created failed or becomes failed.
func StaffRules() []DefaultRule {
	rules := []DefaultRule{{
		Name: "Staff: new order", Collection: "orders", Event: "create", Recipient: notify.StaffRecipient,
		Template: "staff.order-created", Category: notify.CategoryService, Channels: everyChannel,
	}}
	for _, event := range []string{"create", "update"} {
		rules = append(rules, DefaultRule{
			Name: fmt.Sprintf("Staff: payment failed (%s)", event), Collection: "payments", Event: event,
			Changed: "status", Condition: `status = "failed"`, Recipient: notify.StaffRecipient,
			Template: "staff.payment-failed", Category: notify.CategoryService, Channels: everyChannel,
		})
	}
	return rules
}

// Staff: users.staff, the staff templates and the staff rules. It runs on
// new shops (where 1732000002 already seeded the staff templates with the
// others) and on existing ones alike, so it adds only what is missing.
// Down is a no-op: the field and the seeded rows may be in use or edited.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return fmt.Errorf("staff: %w", err)
		}
		switch f := users.Fields.GetByName(notify.StaffField); f.(type) {
		case nil:
			users.Fields.Add(&core.BoolField{Name: notify.StaffField})
			if err := app.Save(users); err != nil {
				return fmt.Errorf("staff: adding users.%s: %w", notify.StaffField, err)
			}
		case *core.BoolField:
		default:
			// The owner's own field of that name: leave it, and the staff
			// rules unseeded, since "@staff" needs a bool field.
			app.Logger().Warn("staff: users."+notify.StaffField+" is not a bool field; the staff rules are not seeded",
				"type", f.Type())
			return seedStaffTemplates(app)
		}
		if err := seedStaffTemplates(app); err != nil {
			return err
		}
		return seedStaffRules(app)
	}, nil)
}

// seedStaffTemplates adds the embedded staff.* templates that the shop does
// not have yet.
func seedStaffTemplates(app core.App) error {
	// The staff digest's comes with its rule (1732000013).
	return seedTemplates(app, func(key string) bool {
		return strings.HasPrefix(key, "staff.") && !slices.Contains(reminderTemplates, key)
	})
}

// seedStaffRules adds the StaffRules that the shop has no rule of the same
// name for.
func seedStaffRules(app core.App) error {
	var seeds []notify.RuleSeed
	for _, r := range StaffRules() {
		seeds = append(seeds, notify.RuleSeed{Name: r.Name, Fields: map[string]any{
			"collection": r.Collection, "event": r.Event, "changed": r.Changed, "condition": r.Condition,
			"recipient": r.Recipient, "template": r.Template, "channels": r.Channels,
			"mode": notify.ModeAll, "category": r.Category,
		}})
	}
	if err := notify.SeedRules(app, seeds); err != nil {
		return fmt.Errorf("staff: %w", err)
	}
	return nil
}
