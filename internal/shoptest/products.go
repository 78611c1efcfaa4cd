package shoptest

import (
	"sync"

	"github.com/pbnotify/pbnotify/hooks"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// productsMu makes Product's find-or-create atomic within the test binary.
var productsMu sync.Mutex

// ProductStock is the stock of the products Product makes: more than any
// test orders.
const ProductStock = 1_000_000

// Product returns the id of an active catalogue product with this name and
// price (in roubles), made on first use with ProductStock units, so that a
// test can order "Green tea" at 350 as a customer would: by product.
func (s *Shop) Product(name string, price float64) string {
	s.t.Helper()
	productsMu.Lock()
	defer productsMu.Unlock()
	r, err := s.App.FindFirstRecordByFilter(hooks.ProductsCollection, "name = {:name} && price = {:price}",
		dbx.Params{"name": name, "price": price})
	if err == nil {
		return r.Id
	}
	c, err := s.App.FindCollectionByNameOrId(hooks.ProductsCollection)
	if err != nil {
		s.t.Fatalf("shoptest.Product: %v", err)
	}
	r = core.NewRecord(c)
	r.Set("name", name)
	r.Set("price", price)
	r.Set("currency", "RUB")
	r.Set("stock", ProductStock)
	r.Set("active", true)
	if err := s.App.Save(r); err != nil {
		s.t.Fatalf("shoptest.Product(%q, %v): %v", name, price, err)
	}
	return r.Id
}

// Item is an order line for a customer's order: qty of the product Product
// returns for name and price, as {"product": id, "qty": qty}.
func (s *Shop) Item(name string, qty int, price float64) map[string]any {
	s.t.Helper()
	return map[string]any{"product": s.Product(name, price), "qty": qty}
}

// SeededProduct returns the id of the seeded catalogue product with this
// slug (e.g. "sencha").
func (s *Shop) SeededProduct(slug string) string {
	s.t.Helper()
	r, err := s.App.FindFirstRecordByData(hooks.ProductsCollection, "slug", slug)
	if err != nil {
		s.t.Fatalf("shoptest.SeededProduct(%q): %v", slug, err)
	}
	return r.Id
}
