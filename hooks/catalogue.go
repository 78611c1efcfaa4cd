package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ProductsCollection is the catalogue: every price and name a customer's
// order carries comes from it.
const ProductsCollection = "products"

// Limits on what one customer order may hold. They keep a single order,
// and so everything stored and sent about it, small.
const (
	MaxOrderLines = 50
	MinQty        = 1
	MaxQty        = 999
)

// defaultCurrency is an order's currency when nothing else says.
const defaultCurrency = "RUB"

// itemsHelp is how a customer's items look, for error messages.
const itemsHelp = `items is a list like [{"product": "<id from /api/collections/products/records>", "qty": 2}]`

// itemsError is the 400 for bad items: the message says what to fix and
// the data names the field, in PocketBase's validation error shape, so a
// form can show it next to the cart.
func itemsError(msg string) error {
	return router.NewBadRequestError("Check the order's items: "+msg+".",
		validation.Errors{"items": validation.NewError("validation_order_items", msg)})
}

// customerItems reduces what a customer sends as items to catalogue lines,
// {product, qty}: a name, price or total they send is dropped, and the
// hooks that follow fill them in from the products collection. A
// superuser's items are taken as written (free-form lines allowed).
func customerItems(e *core.RecordRequestEvent) error {
	if e.HasSuperuserAuth() {
		return e.Next()
	}
	lines, err := parseCustomerItems(e.Record.Get("items"))
	if err != nil {
		return itemsError(err.Error())
	}
	e.Record.Set("items", lines)
	e.Record.Set("total", 0)
	e.Record.Set("currency", "") // the products' currency
	return e.Next()
}

// catalogueLine is one order line as a customer may send it.
type catalogueLine struct {
	Product string `json:"product"`
	Qty     int    `json:"qty"`
}

func parseCustomerItems(v any) ([]catalogueLine, error) {
	raw, _ := v.(types.JSONRaw)
	var items []map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil, errors.New(itemsHelp)
	}
	if len(items) == 0 {
		return nil, errors.New("the order has no items; add at least one product (" + itemsHelp + ")")
	}
	if len(items) > MaxOrderLines {
		return nil, fmt.Errorf("an order has at most %d lines, this one has %d; order the rest separately", MaxOrderLines, len(items))
	}
	lines := make([]catalogueLine, len(items))
	for i, it := range items {
		id, _ := it["product"].(string)
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("item %d has no product: give the product's id (%s)", i+1, itemsHelp)
		}
		qty, ok := wholeQty(it["qty"])
		if !ok {
			return nil, fmt.Errorf("item %d: qty must be a whole number from %d to %d", i+1, MinQty, MaxQty)
		}
		lines[i] = catalogueLine{Product: id, Qty: qty}
	}
	return lines, nil
}

// wholeQty reports whether v is a JSON number that is a whole quantity a
// customer may order.
func wholeQty(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < MinQty || f > MaxQty {
		return 0, false
	}
	return int(f), true
}

// priceCatalogueItems fills every line that names a product with the
// product's name (in the customer's language where the product has it)
// and price, and the order's currency with the products' one. An unknown
// or inactive product, or products in different currencies, are refused
// with a 400 that says which line.
func priceCatalogueItems(app core.App, order *core.Record) error {
	var items []map[string]any
	if err := order.UnmarshalJSONField("items", &items); err != nil || len(items) == 0 {
		return nil // not a list: validateItems says so
	}
	locale := customerLocale(app, order)
	currency := order.GetString("currency")
	priced := false
	for i, it := range items {
		id, isString := it["product"].(string)
		if _, named := it["product"]; !named {
			continue // a free-form line (superusers, Go code)
		}
		if !isString || id == "" {
			return itemsError(fmt.Sprintf("item %d: product must be a product's id", i+1))
		}
		p, err := app.FindRecordById(ProductsCollection, id)
		if err != nil {
			return itemsError(fmt.Sprintf("item %d: there is no product %q; take the id from /api/collections/products/records", i+1, id))
		}
		if !p.GetBool("active") {
			return itemsError(fmt.Sprintf("item %d: %s is no longer sold; remove it from the cart", i+1, p.GetString("name")))
		}
		c := p.GetString("currency")
		if c == "" {
			c = defaultCurrency
		}
		if currency == "" {
			currency = c
		} else if c != currency {
			return itemsError(fmt.Sprintf("item %d: %s is priced in %s, the order in %s; order it separately", i+1, p.GetString("name"), c, currency))
		}
		it["name"] = productName(p, locale)
		it["price"] = p.GetFloat("price")
		priced = true
	}
	if priced {
		order.Set("items", items)
		order.Set("currency", currency)
	}
	return nil
}

// productName is the product's name in locale, else its own name.
func productName(p *core.Record, locale string) string {
	var tr map[string]map[string]string
	if locale != "" && p.UnmarshalJSONField("translations", &tr) == nil {
		if n := strings.TrimSpace(tr[locale]["name"]); n != "" {
			return n
		}
	}
	return p.GetString("name")
}

// customerLocale is the language of the order's customer ("" if unknown).
func customerLocale(app core.App, order *core.Record) string {
	id := order.GetString("customer")
	if id == "" {
		return ""
	}
	u, err := app.FindRecordById("users", id)
	if err != nil {
		return ""
	}
	return u.GetString("locale")
}

// takeStock takes an order's catalogue quantities off the products' stock
// (sign -1) or puts them back (sign +1, a cancelled order), in the order's
// write transaction: two orders for the last unit cannot both succeed.
// Taking more than is left is refused with a 400 naming the line.
func takeStock(txApp core.App, order *core.Record, sign int) error {
	var items []struct {
		Product string  `json:"product"`
		Qty     float64 `json:"qty"`
	}
	if err := order.UnmarshalJSONField("items", &items); err != nil {
		return nil
	}
	for i, it := range items {
		if it.Product == "" || it.Qty <= 0 {
			continue
		}
		p, err := txApp.FindRecordById(ProductsCollection, it.Product)
		if err != nil {
			if sign > 0 {
				continue // deleted since: nothing to put back
			}
			return itemsError(fmt.Sprintf("item %d: there is no product %q", i+1, it.Product))
		}
		left := p.GetInt("stock")
		qty := int(it.Qty)
		if sign < 0 && qty > left {
			msg := fmt.Sprintf("item %d: only %d of %s left", i+1, left, p.GetString("name"))
			if left == 0 {
				msg = fmt.Sprintf("item %d: %s is out of stock", i+1, p.GetString("name"))
			}
			return itemsError(msg)
		}
		p.Set("stock", left+sign*qty)
		if err := txApp.Save(p); err != nil {
			return fmt.Errorf("takeStock: %s: %w", p.Id, err)
		}
	}
	return nil
}

// stockOnCreate takes a new order's quantities off the stock in the
// order's transaction.
func stockOnCreate(e *core.RecordEvent) error {
	original := e.App
	defer func() { e.App = original }()
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		if err := takeStock(txApp, e.Record, -1); err != nil {
			return err
		}
		return e.Next()
	})
}

// stockOnUpdate puts a cancelled order's quantities back, and takes them
// again if the order is taken out of cancelled.
func stockOnUpdate(e *core.RecordEvent) error {
	was := e.Record.Original().GetString("status") == "cancelled"
	is := e.Record.GetString("status") == "cancelled"
	if was == is {
		return e.Next()
	}
	sign := -1
	if is {
		sign = 1
	}
	original := e.App
	defer func() { e.App = original }()
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		if err := takeStock(txApp, e.Record, sign); err != nil {
			return err
		}
		return e.Next()
	})
}

// stockOnDelete puts back the quantities of an order deleted before it
// left the shop (new, paid or being assembled): the goods are still on
// the shelf. A cancelled order's are back already; a shipped, delivered or
// returned one's went out with it.
func stockOnDelete(e *core.RecordEvent) error {
	switch e.Record.GetString("status") {
	case "new", "paid", "assembling":
	default:
		return e.Next()
	}
	original := e.App
	defer func() { e.App = original }()
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		if err := takeStock(txApp, e.Record, 1); err != nil {
			return err
		}
		return e.Next()
	})
}
