// Package hooks binds the shop's own record hooks: order numbers, totals and
// defaults that the notification rules and the storefront rely on.
package hooks

import (
	"fmt"
	"math"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook ids, so an app can Unbind them.
const (
	HookOrderDefaults = "__shopOrderDefaults__"
	HookOrderNumber   = "__shopOrderNumber__"
	HookUserDefaults  = "__shopUserDefaults__"
)

// FirstOrderNumber is the number of the shop's first order.
const FirstOrderNumber = 1001

// Bind wires the shop hooks into app.
func Bind(app core.App) {
	app.OnRecordCreate("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookOrderDefaults,
		Func: func(e *core.RecordEvent) error {
			setOrderDefaults(e.Record)
			return e.Next()
		},
	})
	app.OnRecordCreateExecute("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Id:   HookOrderNumber,
		Func: assignOrderNumber,
	})
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

// setOrderDefaults fills what a customer does not choose: the status of a
// new order, the currency, and the total, computed from the items so that it
// always matches what the confirmation lists.
func setOrderDefaults(r *core.Record) {
	if r.GetString("status") == "" {
		r.Set("status", "new")
	}
	if r.GetString("currency") == "" {
		r.Set("currency", "RUB")
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
