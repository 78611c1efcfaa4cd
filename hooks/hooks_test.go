package hooks_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// TestOrderInput: a superuser's free-form items (no product) are still
// checked line by line; the total is computed from them.
func TestOrderInput(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	for _, tc := range []struct {
		name  string
		items any
		want  string // in the 400 response; "" means accepted
	}{
		{"not a list", map[string]any{"name": "Tea"}, "must be a list"},
		{"no name", []any{map[string]any{"qty": 1, "price": 1}}, "item 1 has no name"},
		{"zero qty", []any{map[string]any{"name": "Tea", "qty": 0, "price": 1}}, "qty must be a whole number from 1 to 999"},
		{"fractional qty", []any{map[string]any{"name": "Tea", "qty": 1.5, "price": 1}}, "qty must be a whole number"},
		{"huge qty", []any{map[string]any{"name": "Tea", "qty": 1e300, "price": 1}}, "qty must be a whole number from 1 to 999"},
		{"negative price", []any{map[string]any{"name": "Tea", "qty": 1, "price": -5}}, "price must be a number from 0"},
		{"huge price", []any{map[string]any{"name": "Tea", "qty": 1, "price": 1e300}}, "price must be a number from 0"},
		{"missing price", []any{map[string]any{"name": "Tea", "qty": 1}}, "price must be a number"},
		{"good", []any{map[string]any{"name": "Tea", "qty": 3, "price": 0.1}}, ""},
	} {
		res := shop.Do("POST", "/api/collections/orders/records", su, map[string]any{"customer": anna.ID, "items": tc.items})
		if tc.want == "" {
			if res.Status != 200 || res.String("total") != "0.3" || res.String("number") != "1001" {
				t.Errorf("%s: create = %d %s; want 200 with total 0.3 and number 1001", tc.name, res.Status, res.Body)
			}
			continue
		}
		if res.Status != 400 || !strings.Contains(strings.ToLower(string(res.Body)), strings.ToLower(tc.want)) {
			t.Errorf("%s: create = %d %s; want 400 saying %q", tc.name, res.Status, res.Body, tc.want)
		}
	}
}
