package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/hooks"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

// storageCase is one kind of order whose storage cost is measured.
type storageCase struct {
	name string
	// items returns the order's items and the token that writes it.
	items func(tb testing.TB, shop *shoptest.Shop, customer shoptest.Customer, su string) ([]map[string]any, string)
}

var storageCases = []storageCase{
	{"normal", func(tb testing.TB, shop *shoptest.Shop, c shoptest.Customer, _ string) ([]map[string]any, string) {
		return []map[string]any{shop.Item("Sencha Kyoto", 2, 590), shop.Item("Ethiopia Yirgacheffe", 1, 1190)}, c.Token
	}},
	// The largest order a customer can place: every line, each a product
	// with the longest name the catalogue allows.
	{"max-legal", func(tb testing.TB, shop *shoptest.Shop, c shoptest.Customer, _ string) ([]map[string]any, string) {
		items := make([]map[string]any, hooks.MaxOrderLines)
		for i := range items {
			name := []rune(fmt.Sprintf("%03d %s", i, strings.Repeat("Очень длинное название ", 9)))
			items[i] = shop.Item(string(name[:200]), hooks.MaxQty, 990) // 200: the longest name products allow
		}
		return items, c.Token
	}},
	// What a customer could send before prices were the shop's: 55 KB of
	// typed items. Only a superuser may write free-form items now.
	{"freeform-55KB", func(tb testing.TB, shop *shoptest.Shop, c shoptest.Customer, su string) ([]map[string]any, string) {
		items := make([]map[string]any, 0, 500)
		size := 0
		for size < 55_000 {
			name := fmt.Sprintf("CHEAP PILLS at http://spam.example/%03d", len(items))
			items = append(items, map[string]any{"name": name, "qty": 1, "price": 1})
			size += len(name) + 30
		}
		return items, su
	}},
}

// storageShop is a shop with one customer and one staff member (so that an
// order queues the customer's confirmation and the staff alert on every
// channel the seeded rules name), with its welcome messages settled.
func storageShop(tb testing.TB) (*shoptest.Shop, shoptest.Customer, string) {
	shop := shoptest.New(tb, shoptest.Options{})
	su := shop.SuperuserToken()
	staff := shop.SignUp("Olga", "olga@example.org", "en")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+staff.ID, su, map[string]any{notify.StaffField: true})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	settle(tb, shop)
	return shop, anna, su
}

// settle waits until no message is queued or being sent.
func settle(tb testing.TB, shop *shoptest.Shop) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		// Due ones only: the staff's daily digest waits for its window.
		err := shop.App.DB().NewQuery("SELECT COUNT(*) FROM notifyMessages WHERE status IN ('queued', 'sending') AND runAt <= strftime('%Y-%m-%d %H:%M:%fZ', 'now')").Row(&n)
		if err != nil {
			tb.Fatalf("settle: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("settle: %d messages still queued or sending after 60 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dbBytes is the size of the data the database holds: its pages in use,
// after the write-ahead log is checkpointed into the file.
func dbBytes(tb testing.TB, shop *shoptest.Shop) int64 {
	tb.Helper()
	db := shop.App.NonconcurrentDB()
	if _, err := db.NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
		tb.Fatalf("dbBytes: checkpoint: %v", err)
	}
	var pages, free, size int64
	for q, v := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
		if err := db.NewQuery(q).Row(v); err != nil {
			tb.Fatalf("dbBytes: %s: %v", q, err)
		}
	}
	return (pages - free) * size
}

// measureStorage places n orders of one kind, waits until their messages
// are final (sent, or skipped for channels this shop does not run), and
// returns the database's growth per order and the size of one order
// record as the API returns it.
func measureStorage(tb testing.TB, sc storageCase, n int) (perOrder, orderBytes float64) {
	shop, anna, su := storageShop(tb)
	items, token := sc.items(tb, shop, anna, su)
	body := map[string]any{"customer": anna.ID, "items": items, "address": "Moscow, Tverskaya 7, flat 12"}
	// One order first, so that tables and indexes have their first pages.
	shop.MustDo(200, "POST", "/api/collections/orders/records", token, body)
	settle(tb, shop)
	before := dbBytes(tb, shop)
	var size int
	for range n {
		size = len(shop.MustDo(200, "POST", "/api/collections/orders/records", token, body).Body)
	}
	settle(tb, shop)
	return float64(dbBytes(tb, shop)-before) / float64(n), float64(size)
}

// BenchmarkStoragePerOrder reports how much the database grows per order,
// its messages delivered: the order, its stock update and every
// notifyMessages row it queues (customer and staff, every channel), with
// what each row keeps after sending. x-order is that growth over the size
// of the order record itself.
func BenchmarkStoragePerOrder(b *testing.B) {
	for _, sc := range storageCases {
		b.Run("items="+sc.name, func(b *testing.B) {
			perOrder, orderBytes := measureStorage(b, sc, 20*b.N)
			b.ReportMetric(perOrder, "bytes/order")
			b.ReportMetric(orderBytes, "order-bytes")
			b.ReportMetric(perOrder/orderBytes, "x-order")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestStoragePerOrderBounded: what a customer's order can cost in storage
// is bounded. The largest order the shop accepts from a customer is a
// record of bounded size (the hooks' caps on lines, quantities and the
// catalogue's name length), and the database grows by a bounded multiple
// of it (13.7× when measured: six messages, each with its copy of the
// record and what it rendered).
func TestStoragePerOrderBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("places orders and waits for their messages")
	}
	perOrder, orderBytes := measureStorage(t, storageCases[1], 3)
	t.Logf("the largest customer order: %.0f bytes of record, %.0f bytes of database per order (%.1f×)", orderBytes, perOrder, perOrder/orderBytes)
	if orderBytes > 32<<10 {
		t.Errorf("the largest order a customer can place is %.0f bytes; want at most 32 KB", orderBytes)
	}
	if perOrder > 20*orderBytes {
		t.Errorf("the database grows %.0f bytes per order of %.0f bytes (%.1f×); want at most 20×", perOrder, orderBytes, perOrder/orderBytes)
	}
}
