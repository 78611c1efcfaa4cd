package hooks_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/pb_migrations"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func reminderNames() []any {
	var names []any
	for _, r := range pb_migrations.Reminders() {
		names = append(names, r.Name)
	}
	return names
}

// The reminders' templates and rules are seeded on a new shop, pass the
// plugin's save-time checks, and the 1732000013 migration adds them to an
// existing shop that lacks them, nothing twice, leaving an edited one be.
func TestRemindersMigration(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	app := shop.App
	rows := func(when string) (templates, rules []*core.Record) {
		t.Helper()
		templates, err := app.FindAllRecords(notify.TemplatesCollection, dbx.In("key", "cart.abandoned", "order.review-request", "user.birthday-greeting", "staff.orders-digest"))
		if err != nil {
			t.Fatal(err)
		}
		rules, err = app.FindAllRecords(notify.RulesCollection, dbx.In("name", reminderNames()...))
		if err != nil {
			t.Fatal(err)
		}
		if len(templates) != 8 || len(rules) != 4 {
			t.Fatalf("%s: %d reminder templates and %d rules; want 8 (4 keys × en, ru) and 4", when, len(templates), len(rules))
		}
		return templates, rules
	}
	templates, rules := rows("new shop")
	for _, rec := range append(templates, rules...) {
		if err := app.Save(rec); err != nil {
			t.Errorf("re-saving the seeded %s %q: %v", rec.Collection().Name, rec.GetString("key")+rec.GetString("name"), err)
		}
	}
	for _, rule := range rules {
		if !rule.GetBool("active") {
			t.Errorf("seeded rule %q is inactive", rule.GetString("name"))
		}
		if rule.GetString("category") == notify.CategoryMarketing &&
			(rule.GetString("window") != "09:00-21:00" || rule.GetString("throttle") != "1/24h") {
			t.Errorf("marketing rule %q has window %q, throttle %q; want 09:00-21:00 and 1/24h",
				rule.GetString("name"), rule.GetString("window"), rule.GetString("throttle"))
		}
	}

	// An existing shop from before: none of them, but one template the
	// owner already wrote.
	var edited *core.Record
	for _, rec := range append(rules, templates...) {
		if rec.GetString("key") == "user.birthday-greeting" && rec.GetString("locale") == "en" {
			edited = rec
			continue
		}
		if err := app.Delete(rec); err != nil {
			t.Fatal(err)
		}
	}
	edited.Set("subject", "Owner's own birthday subject")
	if err := app.Save(edited); err != nil {
		t.Fatal(err)
	}
	up := migration(t, "1732000013_reminders.go")
	for range 2 {
		if err := app.RunInTransaction(up); err != nil {
			t.Fatalf("reminders migration on an existing shop: %v", err)
		}
	}
	rows("existing shop, migrated twice")
	got, err := app.FindRecordById(notify.TemplatesCollection, edited.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetString("subject") != "Owner's own birthday subject" {
		t.Errorf("the migration overwrote the owner's template: subject %q", got.GetString("subject"))
	}
}

func migration(t *testing.T, file string) func(core.App) error {
	t.Helper()
	for _, m := range core.AppMigrations.Items() {
		if m.File == file {
			return m.Up
		}
	}
	t.Fatalf("migration %s is not registered", file)
	return nil
}

// untilLocal is how far the clock must move for it to read hh:mm in loc
// next (at most a day).
func untilLocal(now time.Time, loc *time.Location, hh, mm int) time.Duration {
	n := now.In(loc)
	at := time.Date(n.Year(), n.Month(), n.Day(), hh, mm, 0, 0, loc)
	if !at.After(n) {
		at = at.AddDate(0, 0, 1)
	}
	return at.Sub(n)
}

// The review request goes out three days after delivery, by email to a
// customer with no Telegram or push, and not at all when the order is no
// longer delivered by then (returned).
func TestReviewRequest(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	su := shop.SuperuserToken()
	// Delivered at noon UTC (the customers' timezone), so that the request
	// falls inside the marketing window three days later.
	shop.Clock.Advance(untilLocal(shop.Clock.Now(), time.UTC, 12, 0))
	anna := shop.SignUpVerified("Anna", "anna@example.org", "en")
	boris := shop.SignUpVerified("Boris", "boris@example.org", "en")
	deliver := func(c shoptest.Customer) string {
		id := shop.MustDo(200, "POST", "/api/collections/orders/records", su, map[string]any{ // free-form items: a superuser's
			"customer": c.ID, "items": []any{map[string]any{"name": "Tea", "qty": 1, "price": 590}},
		}).String("id")
		for _, status := range []string{"paid", "shipped", "delivered"} {
			shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+id, su, map[string]any{"status": status})
		}
		return id
	}
	annas := deliver(anna)
	boriss := deliver(boris)
	review := "rule.name = 'Marketing: review request' && user = {:u}"
	for _, c := range []shoptest.Customer{anna, boris} {
		shop.WaitMessage(review, map[string]any{"u": c.ID}, notify.StatusQueued)
	}
	// Boris returns his before the three days are up.
	shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+boriss, su, map[string]any{"status": "returned"})

	shop.Clock.Advance(72*time.Hour - time.Minute)
	time.Sleep(300 * time.Millisecond) // a poll: an early request would go now
	if m := shop.Messages(review+" && status = 'sent'", map[string]any{"u": anna.ID}); len(m) > 0 {
		t.Fatalf("the review request went out before three days had passed")
	}
	shop.Clock.Advance(2 * time.Minute)
	sent := shop.WaitMessage(review, map[string]any{"u": anna.ID}, notify.StatusSent)
	if sent.GetString("channel") != "email" {
		t.Errorf("Anna's review request went by %s; want email, the first channel she has", sent.GetString("channel"))
	}
	if sent.GetString("sourceRecord") != annas {
		t.Errorf("Anna's review request is about %s; want her order %s", sent.GetString("sourceRecord"), annas)
	}
	var subject string
	for _, msg := range shop.SMTP.Messages() {
		if slices.Contains(msg.To, anna.Email) && strings.HasPrefix(msg.Header("Subject"), "How was your order") {
			subject = msg.Header("Subject")
		}
	}
	if subject != "How was your order #1001?" {
		t.Errorf("Anna's review request email has subject %q; want \"How was your order #1001?\"", subject)
	}
	dropped := shop.WaitMessage(review, map[string]any{"u": boris.ID}, notify.StatusCancelled, notify.StatusSent, notify.StatusSkipped)
	if dropped.GetString("status") != notify.StatusCancelled || !strings.Contains(dropped.GetString("error"), "delivered") {
		t.Errorf("Boris's review request = %s %q; want cancelled, the order no longer delivered", dropped.GetString("status"), dropped.GetString("error"))
	}
	for _, msg := range shop.SMTP.Messages() {
		if slices.Contains(msg.To, boris.Email) && strings.HasPrefix(msg.Header("Subject"), "How was your order") {
			t.Errorf("Boris got a review request for the order he returned")
		}
	}
}

// emailsTo returns the subjects of the emails to addr whose subject starts
// with prefix.
func emailsTo(shop *shoptest.Shop, addr, prefix string) []string {
	var out []string
	for _, msg := range shop.SMTP.Messages() {
		if slices.Contains(msg.To, addr) && strings.HasPrefix(msg.Header("Subject"), prefix) {
			out = append(out, msg.Header("Subject"))
		}
	}
	return out
}

// The abandoned-cart reminder goes out an hour after the LAST of five
// quick changes, once; a cart emptied meanwhile (the order placed) gets
// none.
func TestAbandonedCart(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	shop.Clock.Advance(untilLocal(shop.Clock.Now(), time.UTC, 12, 0)) // inside the window an hour on
	anna := shop.SignUpVerified("Anna", "anna@example.org", "en")
	boris := shop.SignUpVerified("Boris", "boris@example.org", "en")
	const carts = "/api/collections/carts/records"
	cartOf := func(c shoptest.Customer) string {
		return shop.MustDo(200, "POST", carts, c.Token, map[string]any{"customer": c.ID, "items": []any{}}).String("id")
	}
	lines := func(qty int) []any {
		return []any{map[string]any{"product": shop.SeededProduct("sencha"), "name": "Sencha Kyoto", "qty": qty, "price": 590}}
	}
	annas, boriss := cartOf(anna), cartOf(boris)
	shop.MustDo(200, "PATCH", carts+"/"+boriss, boris.Token, map[string]any{"items": lines(1)})
	for i := range 5 {
		if i > 0 {
			shop.Clock.Advance(10 * time.Minute)
		}
		shop.MustDo(200, "PATCH", carts+"/"+annas, anna.Token, map[string]any{"items": lines(i + 1)})
		if i == 2 { // Boris places his order: the storefront empties his cart
			shop.MustDo(200, "PATCH", carts+"/"+boriss, boris.Token, map[string]any{"items": []any{}})
		}
	}
	shop.Clock.Advance(59 * time.Minute)
	time.Sleep(300 * time.Millisecond) // a poll: an early reminder would go now
	if got := emailsTo(shop, anna.Email, "You left something"); len(got) > 0 {
		t.Fatalf("the reminder went out within the hour after the last change: %v", got)
	}
	shop.Clock.Advance(2 * time.Minute)
	rule := "rule.name = 'Marketing: abandoned cart' && user = {:u}"
	shop.WaitMessage(rule, map[string]any{"u": anna.ID}, notify.StatusSent)
	if rows := shop.Messages(rule, map[string]any{"u": anna.ID}); len(rows) != 1 {
		t.Errorf("Anna has %d abandoned-cart messages after five changes; want 1 (debounced)", len(rows))
	}
	if got := emailsTo(shop, anna.Email, "You left something"); len(got) != 1 || got[0] != "You left something in your cart at Test Shop" {
		t.Errorf("Anna's reminder emails = %q; want one \"You left something in your cart at Test Shop\"", got)
	}
	shop.Clock.Advance(2 * time.Hour)
	time.Sleep(300 * time.Millisecond)
	for _, m := range shop.Messages(rule, map[string]any{"u": boris.ID}) {
		if m.GetString("status") == notify.StatusSent || m.GetString("status") == notify.StatusQueued {
			t.Errorf("Boris's emptied cart has a reminder %s (%s)", m.GetString("status"), m.GetString("error"))
		}
	}
	if got := emailsTo(shop, boris.Email, "You left something"); len(got) > 0 {
		t.Errorf("Boris got %q for a cart he emptied", got)
	}
}

// The birthday greeting goes out at 10:00 in the customer's own timezone
// (New York here) on their birthday, not before.
func TestBirthdayGreeting(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	anna := shop.SignUpVerified("Anna", "anna@example.org", "en")
	day := shop.Clock.Now().In(ny).AddDate(0, 0, 2)
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{
		"timezone": "America/New_York",
		"birthday": time.Date(1992, day.Month(), day.Day(), 0, 0, 0, 0, time.UTC).Format("2006-01-02 15:04:05.000Z"),
	})
	at := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, ny)
	shop.Clock.Advance(at.Sub(shop.Clock.Now()) - 2*time.Minute)
	time.Sleep(300 * time.Millisecond)
	if got := emailsTo(shop, anna.Email, "Many happy returns"); len(got) > 0 {
		t.Fatalf("the greeting went out before 10:00 in New York: %v", got)
	}
	shop.Clock.Advance(3 * time.Minute)
	shop.WaitMessage("rule.name = 'Marketing: birthday greeting' && user = {:u}", map[string]any{"u": anna.ID}, notify.StatusSent)
	if got := emailsTo(shop, anna.Email, "Many happy returns"); len(got) != 1 || got[0] != "Many happy returns, Anna!" {
		t.Errorf("birthday emails = %q; want one \"Many happy returns, Anna!\"", got)
	}
}

// Two customers' orders reach a staff member as one digest, when the
// digest window opens, listing both.
func TestStaffOrdersDigest(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	su := shop.SuperuserToken()
	shop.Clock.Advance(untilLocal(shop.Clock.Now(), time.UTC, 12, 0))
	olga := shop.SignUpVerified("Olga", "olga@example.org", "en")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+olga.ID, su, map[string]any{"staff": true})
	for _, c := range []shoptest.Customer{shop.SignUpVerified("Anna", "anna@example.org", "en"), shop.SignUpVerified("Boris", "boris@example.org", "en")} {
		shop.MustDo(200, "POST", "/api/collections/orders/records", su, map[string]any{ // free-form items: a superuser's
			"customer": c.ID, "items": []any{map[string]any{"name": "Tea", "qty": 1, "price": 590}},
		})
		shop.Clock.Advance(time.Hour)
	}
	shop.Clock.Advance(time.Hour)
	time.Sleep(300 * time.Millisecond)
	if got := emailsTo(shop, olga.Email, "Orders in the last day"); len(got) > 0 {
		t.Fatalf("the digest went out hours after the first order, not a day: %v", got)
	}
	// A day on, and the next 09:00.
	shop.Clock.Advance(24 * time.Hour)
	shop.Clock.Advance(untilLocal(shop.Clock.Now(), time.UTC, 9, 1))
	shop.WaitMessage("rule.name = 'Staff: daily orders digest' && user = {:u} && channel = 'email'", map[string]any{"u": olga.ID}, notify.StatusSent)
	got := emailsTo(shop, olga.Email, "Orders in the last day")
	if len(got) != 1 || got[0] != "Orders in the last day: 2" {
		t.Errorf("digest emails = %q; want one \"Orders in the last day: 2\"", got)
	}
}
