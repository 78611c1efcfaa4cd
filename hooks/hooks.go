// Package hooks binds the shop's own record hooks: order numbers, totals and
// defaults that the notification rules and the storefront rely on.
package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/pbnotify/pbnotify/notify"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// Hook ids, so an app can Unbind them.
const (
	HookOrderDefaults         = "__shopOrderDefaults__"
	HookOrderNumber           = "__shopOrderNumber__"
	HookUserDefaults          = "__shopUserDefaults__"
	HookOrderItems            = "__shopOrderItems__"
	HookStaffOnlyBySuperusers = "__shopStaffOnlyBySuperusers__"
	HookCustomerItems         = "__shopCustomerItems__"
	HookOrderStock            = "__shopOrderStock__"
)

// FirstOrderNumber is the number of the shop's first order.
const FirstOrderNumber = 1001

// NotifyConfig fills in the shop's own choices where cfg (usually from
// the environment) leaves them open: its customers read Russian first, and
// the storefront routes in the URL fragment, so an order's page is
// /#/orders/{id}.
func NotifyConfig(cfg notify.Config) notify.Config {
	if cfg.DefaultLocale == "" {
		cfg.DefaultLocale = "ru"
	}
	if cfg.Shop.RecordLink == "" {
		cfg.Shop.RecordLink = "/#/{collection}/{id}"
	}
	return cfg
}

// Bind wires the shop hooks into app.
func Bind(app core.App) {
	bindShopInfo(app)
	// Prices are the shop's: a customer's items are reduced to {product,
	// qty}, and the catalogue fills in names, prices and the total.
	app.OnRecordCreateRequest("orders").Bind(&hook.Handler[*core.RecordRequestEvent]{
		Id:   HookCustomerItems,
		Func: customerItems,
	})
	app.OnRecordCreate("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookOrderDefaults,
		Func: func(e *core.RecordEvent) error {
			if err := priceCatalogueItems(e.App, e.Record); err != nil {
				return err
			}
			setOrderDefaults(e.Record)
			return e.Next()
		},
	})
	app.OnRecordCreateExecute("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id:   HookOrderStock,
		Func: stockOnCreate,
	})
	app.OnRecordUpdateExecute("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id:   HookOrderStock,
		Func: stockOnUpdate,
	})
	app.OnRecordDeleteExecute("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id:   HookOrderStock,
		Func: stockOnDelete,
	})
	app.OnRecordValidate("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookOrderItems,
		Func: func(e *core.RecordEvent) error {
			if err := validateItems(e.Record); err != nil {
				return validation.Errors{"items": validation.NewError("validation_order_items", err.Error())}
			}
			return e.Next()
		},
	})
	app.OnRecordCreateExecute("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id:   HookOrderNumber,
		Func: assignOrderNumber,
	})
	// Staff get every order's details: only a superuser may make someone
	// staff, or undo it. The request hooks cover sign-up, profile updates,
	// batch requests and OAuth2 sign-up (PocketBase creates that user through
	// an internal create request); Go code saving a record directly is
	// trusted, as it is everywhere else.
	app.OnRecordCreateRequest("users").Bind(&hook.Handler[*core.RecordRequestEvent]{
		Id: HookStaffOnlyBySuperusers,
		Func: func(e *core.RecordRequestEvent) error {
			if e.Record.GetBool(notify.StaffField) && !e.HasSuperuserAuth() {
				return staffRefused()
			}
			return e.Next()
		},
	})
	app.OnRecordUpdateRequest("users").Bind(&hook.Handler[*core.RecordRequestEvent]{
		Id: HookStaffOnlyBySuperusers,
		Func: func(e *core.RecordRequestEvent) error {
			if e.Record.GetBool(notify.StaffField) != e.Record.Original().GetBool(notify.StaffField) && !e.HasSuperuserAuth() {
				return staffRefused()
			}
			return e.Next()
		},
	})
	bindCarts(app)
	bindProfile(app)
	app.OnRecordCreate("users").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookUserDefaults,
		Func: func(e *core.RecordEvent) error {
			if e.Record.GetString("locale") == "" {
				e.Record.Set("locale", "ru")
			}
			return e.Next()
		},
	})
}

// staffRefused is the answer to a customer who tries to mark an account
// as staff: a 403 naming the field, so the sign-up form can say why.
func staffRefused() error {
	return router.NewForbiddenError("Only a superuser can change "+notify.StaffField+": staff are set in the dashboard.",
		validation.Errors{notify.StaffField: validation.NewError("validation_staff_superusers_only", "only a superuser can change it")})
}

// orderItem is one line of orders.items.
type orderItem struct {
	Name  string   `json:"name"`
	Qty   *float64 `json:"qty"`
	Price *float64 `json:"price"`
}

// maxPrice bounds a free-form line's price, so that a total stays a number
// every channel can print.
const maxPrice = 1e9

// validateItems checks that items is a list of {name, qty, price} with a
// name, a whole quantity from 1 to 999 and a price that is not negative
// (catalogue lines have their name and price filled in by then).
func validateItems(r *core.Record) error {
	raw, _ := r.Get("items").(types.JSONRaw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var items []orderItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return errors.New(`must be a list like [{"name": "Tea", "qty": 2, "price": 350}]`)
	}
	for i, it := range items {
		switch {
		case strings.TrimSpace(it.Name) == "":
			return fmt.Errorf("item %d has no name", i+1)
		case it.Qty == nil || *it.Qty < MinQty || *it.Qty > MaxQty || *it.Qty != math.Trunc(*it.Qty):
			return fmt.Errorf("item %d (%s): qty must be a whole number from %d to %d", i+1, it.Name, MinQty, MaxQty)
		case it.Price == nil || *it.Price < 0 || *it.Price > maxPrice:
			return fmt.Errorf("item %d (%s): price must be a number from 0 to %.0f", i+1, it.Name, maxPrice)
		}
	}
	return nil
}

// setOrderDefaults fills what a customer does not choose: the status of a
// new order, the currency, and the total, computed from the items so that it
// always matches what the confirmation lists.
func setOrderDefaults(r *core.Record) {
	if r.GetString("status") == "" {
		r.Set("status", "new")
	}
	if r.GetString("currency") == "" {
		r.Set("currency", defaultCurrency)
	}
	var items []struct {
		Qty   float64 `json:"qty"`
		Price float64 `json:"price"`
	}
	if err := r.UnmarshalJSONField("items", &items); err == nil && len(items) > 0 {
		var total float64
		for _, it := range items {
			total += it.Qty * it.Price
		}
		r.Set("total", math.Round(total*100)/100)
	}
}

// assignOrderNumber gives a new order the next sequential number. It runs in
// the write's transaction (the notify plugin opens one; otherwise it opens
// its own), and SQLite has a single writer, so MAX+1 cannot race; the unique
// index on number is the last line of defence.
func assignOrderNumber(e *core.RecordEvent) error {
	original := e.App
	defer func() { e.App = original }()
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		var last float64
		err := txApp.DB().NewQuery("SELECT COALESCE(MAX([[number]]), 0) FROM {{orders}}").Row(&last)
		if err != nil {
			return fmt.Errorf("assignOrderNumber: %w", err)
		}
		e.Record.Set("number", max(int(last)+1, FirstOrderNumber))
		return e.Next()
	})
}
