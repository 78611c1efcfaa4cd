package pb_migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// CartsCollection is the server-side cart of a signed-in customer: one per
// customer (`customer` → users, unique), its lines in `items`
// (`[{product, name, qty, price}]`). The abandoned-cart reminder watches it.
const CartsCollection = "carts"

// Rules of the collections this migration touches. A customer reads and
// writes only their own cart; nobody else (but superusers) sees it. A
// staff user reads every order (the storefront's "Orders today"), a
// customer only their own; nobody but superusers changes an order.
const (
	ownCartRule   = "@request.auth.id != '' && customer = @request.auth.id"
	cartKeepOwner = ownCartRule + " && (@request.body.customer:isset = false || @request.body.customer = @request.auth.id)"
	ordersRead    = "@request.auth.id != '' && (customer = @request.auth.id || @request.auth.staff = true)"
)

// Carts, and staff reading every order. It runs on new and existing shops
// alike: the carts collection is created when missing, and the orders
// list and view rules are widened only where they are still the shipped
// ones, so an owner's own rule is left as it is. Down removes carts (a
// cart is a convenience, not a record of anything) and restores the
// orders rules.
func init() {
	m.Register(func(app core.App) error {
		if _, err := app.FindCollectionByNameOrId(CartsCollection); err != nil {
			if err := createCarts(app); err != nil {
				return fmt.Errorf("carts: %w", err)
			}
		}
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return fmt.Errorf("carts: %w", err)
		}
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return fmt.Errorf("carts: %w", err)
		}
		if _, ok := users.Fields.GetByName("staff").(*core.BoolField); !ok {
			return nil // the owner's own "staff" field (1732000005): leave orders be
		}
		const shipped = "@request.auth.id != '' && customer = @request.auth.id"
		changed := false
		if orders.ListRule != nil && *orders.ListRule == shipped {
			orders.ListRule, changed = types.Pointer(ordersRead), true
		}
		if orders.ViewRule != nil && *orders.ViewRule == shipped {
			orders.ViewRule, changed = types.Pointer(ordersRead), true
		}
		if !changed {
			return nil
		}
		if err := app.Save(orders); err != nil {
			return fmt.Errorf("carts: staff read orders: %w", err)
		}
		return nil
	}, func(app core.App) error {
		if c, err := app.FindCollectionByNameOrId(CartsCollection); err == nil {
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		own := "@request.auth.id != '' && customer = @request.auth.id"
		if orders.ListRule != nil && *orders.ListRule == ordersRead {
			orders.ListRule = types.Pointer(own)
		}
		if orders.ViewRule != nil && *orders.ViewRule == ordersRead {
			orders.ViewRule = types.Pointer(own)
		}
		return app.Save(orders)
	})
}

func createCarts(app core.App) error {
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return err
	}
	carts := core.NewBaseCollection(CartsCollection)
	carts.ListRule = types.Pointer(ownCartRule)
	carts.ViewRule = types.Pointer(ownCartRule)
	// A cart is created empty (the shop's hook refuses lines on create) and
	// filled by updates, so the abandoned-cart reminder, debounced on
	// updates, always counts from the last change.
	carts.CreateRule = types.Pointer(ownCartRule)
	carts.UpdateRule = types.Pointer(cartKeepOwner)
	carts.DeleteRule = types.Pointer(ownCartRule)
	carts.Fields.Add(
		&core.RelationField{Name: "customer", Required: true, CollectionId: users.Id, MaxSelect: 1, CascadeDelete: true},
		&core.JSONField{Name: "items", MaxSize: 16 << 10},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	carts.AddIndex("idx_carts_customer", true, "`customer`", "")
	return app.Save(carts)
}
