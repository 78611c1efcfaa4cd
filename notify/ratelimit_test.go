package notify_test

import (
	"net/http"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// A customer's burst of 60 orders is cut by 429s from the shop's default
// rate limits, while another customer, on another address, orders as
// usual; the plugin's routes are limited too. The limits are the ones the
// migrations turn on, through the real HTTP API.
func TestRateLimitsCutAnOrderBurst(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true, RateLimits: true})
	if !shop.App.Settings().RateLimits.Enabled {
		t.Fatal("rate limits are off on a new shop; the migrations should turn them on")
	}
	attacker := shop.From("127.0.0.2")
	mallory := attacker.SignUp("Mallory", "mallory@example.org", "en")
	other := shop.From("127.0.0.3")
	anna := other.SignUp("Anna", "anna@example.org", "en")

	item := shop.Item("Green tea", 1, 350)
	order := func(s *shoptest.Shop, c shoptest.Customer) int {
		return s.Do("POST", "/api/collections/orders/records", c.Token, map[string]any{
			"customer": c.ID,
			"items":    []map[string]any{item},
			"address":  "Moscow",
		}).Status
	}
	accepted, limited := 0, 0
	for range 60 {
		switch st := order(attacker, mallory); st {
		case http.StatusOK:
			accepted++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("order in the burst: HTTP %d; want 200 or 429", st)
		}
	}
	t.Logf("60-order burst: %d accepted, %d answered 429", accepted, limited)
	// orders:create allows 10 a minute; a burst that straddles the start of
	// a new window may get 10 more.
	if accepted > 20 || limited < 40 {
		t.Errorf("burst of 60 orders: %d accepted, %d refused with 429; want at most 20 accepted", accepted, limited)
	}
	if st := order(other, anna); st != http.StatusOK {
		t.Errorf("another customer's order during the burst: HTTP %d; want 200", st)
	}

	// The plugin's routes: the anonymous push key route, 60 a minute.
	keyLimited := 0
	for range 80 {
		if attacker.Do("GET", "/api/notify/webpush/key", "", nil).Status == http.StatusTooManyRequests {
			keyLimited++
		}
	}
	if keyLimited < 10 {
		t.Errorf("80 requests to /api/notify/webpush/key: %d answered 429; want at least 10", keyLimited)
	}
}

// Asking for password reset emails for someone's address is cut after a
// few, from one address.
func TestRateLimitsCutPasswordResetRequests(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true, RateLimits: true})
	limited := 0
	for range 10 {
		res := shop.Do("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": "victim@example.org"})
		switch res.Status {
		case http.StatusNoContent:
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("password reset request: HTTP %d %s; want 204 or 429", res.Status, res.Body)
		}
	}
	if limited < 4 {
		t.Errorf("10 password reset requests: %d answered 429; want at least 4 (3 a minute allowed)", limited)
	}
}
