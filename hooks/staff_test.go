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

// Only a superuser makes someone staff, or undoes it: a customer setting
// users.staff on themselves at sign-up or later is refused, saying why.
func TestStaffOnlyBySuperusers(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	su := shop.SuperuserToken()
	signUp := func(email string, extra map[string]any) shoptest.Response {
		body := map[string]any{"email": email, "password": "password123", "passwordConfirm": "password123", "name": "X"}
		for k, v := range extra {
			body[k] = v
		}
		return shop.Do("POST", "/api/collections/users/records", "", body)
	}
	isStaff := func(id string) bool {
		t.Helper()
		u, err := shop.App.FindRecordById("users", id)
		if err != nil {
			t.Fatal(err)
		}
		return u.GetBool(notify.StaffField)
	}
	refused := func(what string, res shoptest.Response) {
		t.Helper()
		if (res.Status != 400 && res.Status != 403) || !strings.Contains(string(res.Body), "Only a superuser can change staff") {
			t.Errorf("%s = %d %s; want 400 or 403 saying only a superuser can change staff", what, res.Status, res.Body)
		}
	}

	refused("sign-up with staff: true", signUp("mallory@example.org", map[string]any{"staff": true}))
	if _, err := shop.App.FindAuthRecordByEmail("users", "mallory@example.org"); err == nil {
		t.Errorf("the refused sign-up created the user")
	}
	if res := signUp("plain@example.org", map[string]any{"staff": false}); res.Status != 200 {
		t.Errorf("sign-up with staff: false = %d %s; want 200 (it changes nothing)", res.Status, res.Body)
	}

	anna := shop.SignUp("Anna", "anna@example.org", "en")
	path := "/api/collections/users/records/" + anna.ID
	refused("PATCH own staff: true", shop.Do("PATCH", path, anna.Token, map[string]any{"staff": true}))
	if isStaff(anna.ID) {
		t.Fatalf("the refused PATCH made the customer staff")
	}
	shop.MustDo(200, "PATCH", path, anna.Token, map[string]any{"name": "Anna P.", "staff": false})

	shop.MustDo(200, "PATCH", path, su, map[string]any{"staff": true})
	if !isStaff(anna.ID) {
		t.Fatalf("a superuser's PATCH did not make the user staff")
	}
	// Staff may edit their profile, but not drop the flag themselves.
	shop.MustDo(200, "PATCH", path, anna.Token, map[string]any{"name": "Anna Petrova"})
	refused("staff PATCH own staff: false", shop.Do("PATCH", path, anna.Token, map[string]any{"staff": false}))
	if !isStaff(anna.ID) {
		t.Errorf("the refused PATCH unmarked the staff member")
	}

	res := shop.MustDo(200, "POST", "/api/collections/users/records", su, map[string]any{
		"email": "olga@example.org", "password": "password123", "passwordConfirm": "password123", "staff": true,
	})
	if !isStaff(res.String("id")) {
		t.Errorf("a superuser's create with staff: true = %s; want a staff user", res.Body)
	}
}

// Two staff members and a customer: the customer's order and a failed
// payment reach both staff by email (each in their language) and inbox,
// and never the customer.
func TestStaffAlerts(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{})
	su := shop.SuperuserToken()
	olga := shop.SignUp("Olga", "olga@example.org", "en")
	petr := shop.SignUp("Пётр", "petr@example.org", "ru")
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	for _, s := range []shoptest.Customer{olga, petr} {
		shop.MustDo(200, "PATCH", "/api/collections/users/records/"+s.ID, su, map[string]any{"staff": true})
	}

	order := shop.MustDo(200, "POST", "/api/collections/orders/records", anna.Token, map[string]any{
		"customer": anna.ID, "address": "Moscow",
		"items": []any{
			shop.Item("Tea", 2, 1000),
			shop.Item("Mug", 1, 3380),
		},
	})
	checkStaffGot(t, shop, "staff.order-created", anna, map[string]string{
		olga.Email: "New order №1001 — 2 items, ₽5,380, Anna, Moscow",
		petr.Email: "Новый заказ №1001 — позиций: 2, 5\u00a0380\u00a0₽, Anna, Moscow",
	})

	shop.MustDo(200, "POST", "/api/collections/payments/records", su, map[string]any{
		"order": order.String("id"), "amount": 5380, "currency": "RUB", "status": "failed",
		"failureReason": "Insufficient funds",
	})
	checkStaffGot(t, shop, "staff.payment-failed", anna, map[string]string{
		olga.Email: "Payment failed — order №1001, ₽5,380",
		petr.Email: "Оплата не прошла — заказ №1001, 5\u00a0380\u00a0₽",
	})
}

// checkStaffGot waits for the emails of template to the staff (email →
// subject) and checks that the template's messages went to the staff, on
// every channel they can get, and to nobody else.
func checkStaffGot(t *testing.T, shop *shoptest.Shop, template string, customer shoptest.Customer, want map[string]string) {
	t.Helper()
	var got []string
	for _, m := range shop.Messages("template = {:t}", map[string]any{"t": template}) {
		u, err := shop.App.FindRecordById("users", m.GetString("user"))
		if err != nil {
			t.Fatalf("%s message to user %q (%s: %s): %v", template, m.GetString("user"), m.GetString("status"), m.GetString("error"), err)
		}
		got = append(got, u.Email()+" "+m.GetString("channel"))
		if m.GetString("channel") == "email" {
			shop.WaitMessage("id = {:id}", map[string]any{"id": m.Id}, "sent")
		}
	}
	slices.Sort(got)
	var wantRows []string
	for email := range want {
		// Telegram is not configured in this shop: its rows are kept and
		// skipped; web push has no subscription, so no row.
		wantRows = append(wantRows, email+" email", email+" inbox", email+" telegram")
	}
	slices.Sort(wantRows)
	if !slices.Equal(got, wantRows) {
		t.Errorf("%s messages (user channel) = %v; want %v", template, got, wantRows)
	}
	// The customer's own message of the same write is sent too, so a
	// staff email to them would have arrived by now.
	shop.WaitMessage("user = {:u} && channel = 'email' && sourceRecord != ''", map[string]any{"u": customer.ID}, "sent")
	subjects := map[string][]string{}
	for _, msg := range shop.SMTP.Wait(t, len(want), 10*time.Second) {
		for _, to := range msg.To {
			subjects[to] = append(subjects[to], msg.Header("Subject"))
		}
	}
	for email, subject := range want {
		if !slices.Contains(subjects[email], subject) {
			t.Errorf("emails to %s have subjects %q; want one %q", email, subjects[email], subject)
		}
	}
	for _, s := range subjects[customer.Email] {
		for _, staffSubject := range want {
			if s == staffSubject {
				t.Errorf("the customer %s got the staff email %q", customer.Email, s)
			}
		}
	}
}

// The seeded staff templates and rules pass the plugin's save-time checks
// (the templates render against sample orders and payments), and the
// staff migration brings an existing shop's database up to date: it adds
// users.staff and the staff templates and rules when they are missing,
// and adds nothing twice.
func TestStaffMigration(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	app := shop.App
	staffRows := func() (templates, rules []*core.Record) {
		t.Helper()
		// The staff digest is a reminder (1732000013), not of this migration.
		templates, err := app.FindAllRecords(notify.TemplatesCollection, dbx.Like("key", "staff.").Match(false, true),
			dbx.Not(dbx.HashExp{"key": "staff.orders-digest"}))
		if err != nil {
			t.Fatal(err)
		}
		rules, err = app.FindAllRecords(notify.RulesCollection, dbx.HashExp{"recipient": notify.StaffRecipient},
			dbx.Not(dbx.HashExp{"template": "staff.orders-digest"}))
		if err != nil {
			t.Fatal(err)
		}
		return templates, rules
	}
	check := func(when string) {
		t.Helper()
		templates, rules := staffRows()
		if len(templates) != 4 || len(rules) != len(pb_migrations.StaffRules()) {
			t.Fatalf("%s: %d staff templates and %d staff rules; want 4 and %d", when, len(templates), len(rules), len(pb_migrations.StaffRules()))
		}
		for _, rec := range append(templates, rules...) {
			if err := app.Save(rec); err != nil {
				t.Errorf("%s: re-saving seeded %s %q: %v", when, rec.Collection().Name, rec.GetString("key")+rec.GetString("name"), err)
			}
		}
	}
	check("new shop")

	// An existing shop from before: no staff field, templates or rules
	// (nor the staff digest of a later migration, which needs the field).
	templates, rules := staffRows()
	digest, err := app.FindAllRecords(notify.RulesCollection, dbx.HashExp{"template": "staff.orders-digest"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range append(append(rules, digest...), templates...) {
		if err := app.Delete(rec); err != nil {
			t.Fatal(err)
		}
	}
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	users.Fields.RemoveByName(notify.StaffField)
	if err := app.Save(users); err != nil {
		t.Fatal(err)
	}
	var up func(core.App) error
	for _, m := range core.AppMigrations.Items() {
		if m.File == "1732000005_staff.go" {
			up = m.Up
		}
	}
	if up == nil {
		t.Fatal("the staff migration is not registered")
	}
	for range 2 {
		// With the plugin's validation hooks bound, as `serve` runs it.
		if err := app.RunInTransaction(up); err != nil {
			t.Fatalf("staff migration on an existing shop: %v", err)
		}
	}
	users, err = app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := users.Fields.GetByName(notify.StaffField).(*core.BoolField); !ok {
		t.Errorf("after the migration users.staff = %v; want a bool field", users.Fields.GetByName(notify.StaffField))
	}
	check("existing shop, migrated twice")
}
