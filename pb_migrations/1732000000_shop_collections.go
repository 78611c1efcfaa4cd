// Package pb_migrations holds the shop's Go migrations: the shop
// collections, the notification plugin's collections, and the default
// templates and rules. Importing the package registers them; `serve` (and
// tests.NewTestApp) apply those not yet applied.
package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Order and payment statuses. They are persisted; never rename them.
var (
	OrderStatuses   = []string{"new", "paid", "assembling", "shipped", "delivered", "cancelled", "returned"}
	PaymentStatuses = []string{"pending", "succeeded", "failed", "refunded"}
)

func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.Fields.Add(
			&core.TextField{Name: "phone", Max: 32, Pattern: `^\+?[0-9 ()-]*$`},
			&core.SelectField{Name: "locale", MaxSelect: 1, Values: []string{"ru", "en"}},
			&core.TextField{Name: "timezone", Max: 64},
			&core.DateField{Name: "birthday"},
		)
		if err := app.Save(users); err != nil {
			return err
		}

		orders := core.NewBaseCollection("orders")
		// A customer sees and creates only their own orders, and only new
		// ones; statuses, tracking and numbers are the shop's to set.
		own := "@request.auth.id != '' && customer = @request.auth.id"
		orders.ListRule = types.Pointer(own)
		orders.ViewRule = types.Pointer(own)
		orders.CreateRule = types.Pointer(own + ` && (status = "" || status = "new") && trackingNumber = "" && trackingUrl = ""`)
		orders.Fields.Add(
			&core.RelationField{Name: "customer", Required: true, CollectionId: users.Id, MaxSelect: 1},
			&core.NumberField{Name: "number", OnlyInt: true, Presentable: true},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: OrderStatuses},
			&core.JSONField{Name: "items", MaxSize: 1 << 16},
			&core.NumberField{Name: "total"},
			&core.TextField{Name: "currency", Max: 3, Pattern: `^[A-Z]{3}$`},
			&core.TextField{Name: "trackingNumber", Max: 64},
			&core.URLField{Name: "trackingUrl"},
			&core.TextField{Name: "address", Max: 500},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		orders.AddIndex("idx_orders_number", true, "`number`", "")
		orders.AddIndex("idx_orders_customer", false, "`customer`, `created`", "")
		if err := app.Save(orders); err != nil {
			return err
		}

		payments := core.NewBaseCollection("payments")
		ownOrder := "@request.auth.id != '' && order.customer = @request.auth.id"
		payments.ListRule = types.Pointer(ownOrder)
		payments.ViewRule = types.Pointer(ownOrder)
		payments.Fields.Add(
			&core.RelationField{Name: "order", Required: true, CollectionId: orders.Id, MaxSelect: 1},
			&core.NumberField{Name: "amount"},
			&core.TextField{Name: "currency", Max: 3, Pattern: `^[A-Z]{3}$`},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: PaymentStatuses},
			&core.TextField{Name: "provider", Max: 64},
			&core.TextField{Name: "providerRef", Max: 200},
			&core.TextField{Name: "failureReason", Max: 1000},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		payments.AddIndex("idx_payments_order", false, "`order`", "")
		return app.Save(payments)
	}, func(app core.App) error {
		for _, name := range []string{"payments", "orders"} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return err
				}
			}
		}
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		for _, f := range []string{"phone", "locale", "timezone", "birthday"} {
			users.Fields.RemoveByName(f)
		}
		return app.Save(users)
	})
}
