package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Hook ids of the cart hooks.
const (
	HookCartItems        = "__shopCartItems__"
	HookCartCreatedEmpty = "__shopCartCreatedEmpty__"
)

// Cart limits: a cart is a customer's own scratch list, but it is stored
// and rendered into reminders, so it stays small.
const (
	MaxCartLines    = 50
	MaxCartQty      = 999
	maxCartProduct  = 64
	maxCartLineName = 200
)

// cartLine is one line of carts.items.
type cartLine struct {
	Product string   `json:"product"`
	Name    string   `json:"name"`
	Qty     *float64 `json:"qty"`
	Price   *float64 `json:"price"`
}

func bindCarts(app core.App) {
	app.OnRecordValidate("carts").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookCartItems,
		Func: func(e *core.RecordEvent) error {
			lines, err := cartLines(e.Record)
			if err == nil {
				err = fillFromCatalogue(e.App, e.Record, lines)
			}
			if err != nil {
				return validation.Errors{"items": validation.NewError("validation_cart_items", err.Error())}
			}
			return e.Next()
		},
	})
	// A cart is created empty and filled by updates: the abandoned-cart
	// reminder is debounced on updates, so a cart born full would escape it.
	app.OnRecordCreateRequest("carts").Bind(&hook.Handler[*core.RecordRequestEvent]{
		Id: HookCartCreatedEmpty,
		Func: func(e *core.RecordRequestEvent) error {
			lines, err := cartLines(e.Record)
			if err == nil && len(lines) > 0 && !e.HasSuperuserAuth() {
				return router.NewBadRequestError("Create the cart empty, then add items with an update.",
					validation.Errors{"items": validation.NewError("validation_cart_created_empty", "must be empty when the cart is created")})
			}
			return e.Next()
		},
	})
}

// fillFromCatalogue sets each line's name and price from the shop's
// `products` collection, when the shop has one, refusing a product it does
// not have or does not sell: the reminder that lists the cart then speaks
// only of the shop's products at the shop's prices, never of text a
// customer wrote (it would go out in the shop's name). A shop without a
// catalogue collection keeps the lines as the storefront sent them.
func fillFromCatalogue(app core.App, r *core.Record, lines []cartLine) error {
	if len(lines) == 0 {
		return nil
	}
	products, err := app.FindCachedCollectionByNameOrId("products")
	if err != nil {
		return nil // no catalogue collection
	}
	for i := range lines {
		p, err := app.FindRecordById(products, lines[i].Product)
		if err != nil || (products.Fields.GetByName("active") != nil && !p.GetBool("active")) {
			return fmt.Errorf("line %d: %q is not a product the shop sells", i+1, lines[i].Product)
		}
		name, price := p.GetString("name"), p.GetFloat("price")
		lines[i].Name, lines[i].Price = name, &price
	}
	r.Set("items", lines)
	return nil
}

// cartLines parses and checks carts.items: a list of at most MaxCartLines
// {product, name, qty, price}, each with a product id, a name, a whole qty
// from 1 to MaxCartQty and a price that is a number, 0 or more.
func cartLines(r *core.Record) ([]cartLine, error) {
	raw, _ := r.Get("items").(types.JSONRaw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var lines []cartLine
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, errors.New(`must be a list like [{"product": "sencha", "name": "Sencha", "qty": 2, "price": 590}]`)
	}
	if len(lines) > MaxCartLines {
		return nil, fmt.Errorf("has %d lines; a cart holds at most %d", len(lines), MaxCartLines)
	}
	for i, l := range lines {
		n := i + 1
		switch {
		case strings.TrimSpace(l.Product) == "" || utf8.RuneCountInString(l.Product) > maxCartProduct:
			return nil, fmt.Errorf("line %d: product must be a product id of 1 to %d characters", n, maxCartProduct)
		case strings.TrimSpace(l.Name) == "" || utf8.RuneCountInString(l.Name) > maxCartLineName:
			return nil, fmt.Errorf("line %d (%s): name must be 1 to %d characters", n, l.Product, maxCartLineName)
		case l.Qty == nil || *l.Qty < 1 || *l.Qty > MaxCartQty || *l.Qty != math.Trunc(*l.Qty):
			return nil, fmt.Errorf("line %d (%s): qty must be a whole number from 1 to %d", n, l.Product, MaxCartQty)
		case l.Price == nil || *l.Price < 0 || *l.Price > 1e9:
			return nil, fmt.Errorf("line %d (%s): price must be a number from 0 to 1000000000", n, l.Product)
		}
	}
	return lines, nil
}
