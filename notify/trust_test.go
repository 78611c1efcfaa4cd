package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
)

// victimEmails counts the emails the SMTP server accepted for addr.
func victimEmails(shop *shoptest.Shop, addr string) int {
	n := 0
	for _, m := range shop.SMTP.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}

// An attacker signs up ten times with a victim's address, a spam text as
// the name, deleting the account each time after its welcome went out: the
// victim's mail server gets one email, and the other welcomes are logged
// as skipped with the reason. An order's own confirmation still reaches
// the unverified address, and the next day the address has a slot again.
func TestUnverifiedAddressGetsOneWelcomeADay(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	const victim = "victim@example.org"
	welcome := "template = 'user.created' && channel = 'email' && sourceRecord = {:id}"

	for range 10 {
		c := shop.SignUp("Hello, CHEAP PILLS at http://spam.example", victim, "en")
		shop.WaitMessage(welcome, map[string]any{"id": c.ID}, notify.StatusSent, notify.StatusSkipped, notify.StatusFailed)
		shop.MustDo(204, "DELETE", "/api/collections/users/records/"+c.ID, c.Token, nil)
	}
	if got := victimEmails(shop, victim); got != 1 {
		t.Errorf("after ten sign-ups with the victim's address, the victim's SMTP server got %d emails; want 1", got)
	}
	rows := shop.Messages("template = 'user.created' && channel = 'email'")
	sent, skipped := 0, 0
	for _, r := range rows {
		switch r.GetString("status") {
		case notify.StatusSent:
			sent++
		case notify.StatusSkipped:
			skipped++
			if !strings.Contains(r.GetString("error"), "not verified") {
				t.Errorf("skipped welcome's reason = %q; want one saying the address is not verified", r.GetString("error"))
			}
		default:
			t.Errorf("welcome %s is %s (%s); want sent or skipped", r.Id, r.GetString("status"), r.GetString("error"))
		}
	}
	if len(rows) != 10 || sent != 1 || skipped != 9 {
		t.Errorf("welcome emails in the log: %d rows, %d sent, %d skipped; want 10, 1, 9", len(rows), sent, skipped)
	}

	// The same unverified address, the same day: the account's own order
	// confirmation is not capped, a second welcome-like message is.
	c := shop.SignUp("Victim", victim, "en")
	shop.WaitMessage(welcome, map[string]any{"id": c.ID}, notify.StatusSkipped)
	order := placeOrder(t, shop, c).String("id")
	shop.WaitMessage("template = 'order.created' && channel = 'email' && sourceRecord = {:id}", map[string]any{"id": order}, notify.StatusSent)

	// A service message the same day is capped; a day later the address
	// has its slot again.
	service := func() {
		t.Helper()
		if err := notify.Send(shop.App, notify.Message{User: c.ID, Template: "user.created", Channels: []string{"email"}, Category: notify.CategoryService}); err != nil {
			t.Fatal(err)
		}
	}
	service()
	shop.WaitMessage("category = 'service' && user = {:id}", map[string]any{"id": c.ID}, notify.StatusSkipped)
	shop.Clock.Advance(25 * time.Hour)
	service()
	shop.WaitMessage("category = 'service' && user = {:id}", map[string]any{"id": c.ID}, notify.StatusSent)
	if got := victimEmails(shop, victim); got != 3 {
		t.Errorf("emails to the victim after an order and a day: %d; want 3 (a welcome, the order, the next day's message)", got)
	}
}

// A verified address is not capped: every welcome-like message reaches it.
func TestVerifiedAddressIsNotCapped(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email' && user = {:id}", map[string]any{"id": anna.ID}, notify.StatusSent)
	user, err := shop.App.FindRecordById("users", anna.ID)
	if err != nil {
		t.Fatal(err)
	}
	user.SetVerified(true)
	if err := shop.App.Save(user); err != nil {
		t.Fatal(err)
	}
	if err := notify.Send(shop.App, notify.Message{User: anna.ID, Template: "user.created", Channels: []string{"email"}, Category: notify.CategoryService}); err != nil {
		t.Fatal(err)
	}
	shop.WaitMessage("template = 'user.created' && channel = 'email' && user = {:id} && category = 'service'", map[string]any{"id": anna.ID}, notify.StatusSent)
}

// Deleting a customer cancels their queued messages with the reason and
// keeps their sent history for the statistics, emptied of personal data.
func TestDeletingACustomerKeepsTheirHistoryEmptied(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	sent := shop.WaitMessage("template = 'user.created' && channel = 'email' && user = {:id}", map[string]any{"id": anna.ID}, notify.StatusSent)
	if err := notify.Send(shop.App, notify.Message{User: anna.ID, Template: "user.created", Channels: []string{"email"}, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	queued := shop.WaitMessage("channel = 'email' && user = {:id} && status = 'queued'", map[string]any{"id": anna.ID}, notify.StatusQueued)

	shop.MustDo(204, "DELETE", "/api/collections/users/records/"+anna.ID, anna.Token, nil)

	for _, id := range []string{sent.Id, queued.Id} {
		r, err := shop.App.FindRecordById(notify.MessagesCollection, id)
		if err != nil {
			t.Fatalf("message %s after the customer's delete: %v; want it kept", id, err)
		}
		for _, f := range []string{"user", "to", "subject", "body", "html"} {
			if v := r.GetString(f); v != "" {
				t.Errorf("message %s keeps %s = %q after the customer's delete; want it emptied", id, f, v)
			}
		}
		if v := r.GetString("data"); v != "" && v != "null" {
			t.Errorf("message %s keeps data = %s after the customer's delete; want it emptied", id, v)
		}
	}
	if r, _ := shop.App.FindRecordById(notify.MessagesCollection, sent.Id); r.GetString("status") != notify.StatusSent {
		t.Errorf("the sent welcome is %s after the delete; want it still sent", r.GetString("status"))
	}
	r, _ := shop.App.FindRecordById(notify.MessagesCollection, queued.Id)
	if r.GetString("status") != notify.StatusCancelled || !strings.Contains(r.GetString("error"), "deleted") {
		t.Errorf("the queued message is %s (%q) after the delete; want cancelled with the reason", r.GetString("status"), r.GetString("error"))
	}
}

// An existing shop whose notifyMessages.user still cascades (as earlier
// versions made it) has the cascade turned off by InstallCollections, the
// upgrade every new version's migration runs.
func TestUpgradeKeepsTheLogOfDeletedCustomers(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	coll, err := shop.App.FindCollectionByNameOrId(notify.MessagesCollection)
	if err != nil {
		t.Fatal(err)
	}
	coll.Fields.GetByName("user").(*core.RelationField).CascadeDelete = true
	if err := shop.App.Save(coll); err != nil {
		t.Fatal(err)
	}
	if err := notify.InstallCollections(shop.App, "users"); err != nil {
		t.Fatal(err)
	}
	coll, _ = shop.App.FindCollectionByNameOrId(notify.MessagesCollection)
	if coll.Fields.GetByName("user").(*core.RelationField).CascadeDelete {
		t.Error("notifyMessages.user still cascades after InstallCollections; want the upgrade to turn it off")
	}
}
