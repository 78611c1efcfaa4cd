package hooks_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// Staff (users.staff) read every order, for the storefront's "Orders
// today"; a customer still lists and views only their own, and staff may
// not change an order.
func TestOrdersReadByStaff(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	boris := shop.SignUp("Boris", "boris@example.org", "en")
	olga := shop.SignUp("Olga", "olga@example.org", "en")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+olga.ID, su, map[string]any{"staff": true})

	const orders = "/api/collections/orders/records"
	order := func(c shoptest.Customer) string {
		return shop.MustDo(200, "POST", orders, su, map[string]any{ // free-form items: a superuser's, whatever the catalogue
			"customer": c.ID, "items": []any{map[string]any{"name": "Tea", "qty": 1, "price": 100}},
		}).String("id")
	}
	annas, boriss := order(anna), order(boris)

	list := func(token string) string {
		t.Helper()
		return string(shop.MustDo(200, "GET", orders+"?perPage=100", token, nil).Body)
	}
	if body := list(anna.Token); !strings.Contains(body, annas) || strings.Contains(body, boriss) {
		t.Errorf("Anna's list = %s; want her order only", body)
	}
	if body := list(boris.Token); !strings.Contains(body, boriss) || strings.Contains(body, annas) {
		t.Errorf("Boris's list = %s; want his order only", body)
	}
	// A filter of the customer's own cannot widen what the rule allows.
	if body := string(shop.MustDo(200, "GET", orders+"?filter="+`(customer%3D%22`+boris.ID+`%22)`, anna.Token, nil).Body); strings.Contains(body, boriss) {
		t.Errorf("Anna filtering for Boris's orders got %s", body)
	}
	if res := shop.Do("GET", orders+"/"+boriss, anna.Token, nil); res.Status != 404 {
		t.Errorf("Anna viewing Boris's order = %d %s; want 404", res.Status, res.Body)
	}
	if body := list(""); strings.Contains(body, annas) || strings.Contains(body, boriss) {
		t.Errorf("a guest's list = %s; want no orders", body)
	}

	if body := list(olga.Token); !strings.Contains(body, annas) || !strings.Contains(body, boriss) {
		t.Errorf("staff list = %s; want both customers' orders", body)
	}
	shop.MustDo(200, "GET", orders+"/"+boriss, olga.Token, nil)
	if res := shop.Do("PATCH", orders+"/"+boriss, olga.Token, map[string]any{"status": "paid"}); res.Status < 400 {
		t.Errorf("staff changing an order's status = %d %s; want it refused (superusers only)", res.Status, res.Body)
	}

	// No longer staff: back to their own.
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+olga.ID, su, map[string]any{"staff": false})
	if body := list(olga.Token); strings.Contains(body, annas) || strings.Contains(body, boriss) {
		t.Errorf("a former staff member's list = %s; want none of the customers' orders", body)
	}
}
