package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
)

// refusingChannel refuses every message for good, as a blocked bot would.
type refusingChannel struct{}

func (refusingChannel) Name() string { return "pager" }
func (refusingChannel) Send(context.Context, *channels.Message) (string, error) {
	return "", channels.Permanent(errors.New("pager: number disconnected"))
}

func TestEscalation(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true, Config: notify.Config{
		Channels:  []channels.Channel{refusingChannel{}},
		Addresses: map[string]func(*core.Record) (string, error){"pager": func(*core.Record) (string, error) { return "555", nil }},
	}})
	admin := shop.SuperuserToken()
	// Only the escalating rule speaks of new orders in this test.
	rules, err := shop.App.FindRecordsByFilter(notify.RulesCollection, "template = 'order.created'", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		r.Set("active", false)
		if err := shop.App.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	if res := shop.Do("POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "No delay", "active": true, "collection": "orders", "event": "create", "mode": "escalate",
		"recipient": "customer", "template": "order.created", "channels": []string{"inbox", "email"}, "category": "transactional",
	}); res.Status != 400 || !strings.Contains(string(res.Body), "escalateAfter") {
		t.Errorf("an escalating rule without escalateAfter = %d %s; want 400 naming escalateAfter", res.Status, res.Body)
	}
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Inbox, then email if unread", "active": true, "collection": "orders", "event": "create",
		"mode": "escalate", "escalateAfter": "30m",
		"recipient": "customer", "template": "order.created", "channels": []string{"pager", "inbox", "email"}, "category": "transactional",
	})
	reader := shop.SignUp("Anna", "anna@example.org", "en")
	ignorer := shop.SignUp("Boris", "boris@example.org", "en")
	welcomes := 2
	shop.SMTP.Wait(t, welcomes, 20*time.Second)

	for _, c := range []shoptest.Customer{reader, ignorer} {
		placeOrder(t, shop, c)
	}
	// The pager refuses for good: each message goes to the inbox at once.
	inbox := map[string]string{}
	for _, c := range []shoptest.Customer{reader, ignorer} {
		m := shop.WaitMessage("user = {:u} && rule.name = 'Inbox, then email if unread'", map[string]any{"u": c.ID}, notify.StatusSent, notify.StatusFailed)
		if m.GetString("channel") != "inbox" || m.GetString("status") != notify.StatusSent || !strings.Contains(m.GetString("error"), "number disconnected") {
			t.Fatalf("first step = %s %s %q; want sent on the inbox, noting the pager's refusal", m.GetString("channel"), m.GetString("status"), m.GetString("error"))
		}
		inbox[c.ID] = m.Id
	}
	// Anna reads hers within the half hour; Boris does not.
	shop.MustDo(200, "PATCH", "/api/collections/notifyMessages/records/"+inbox[reader.ID], reader.Token, map[string]any{"readAt": shop.Clock.Now().UTC().Format("2006-01-02 15:04:05.000Z")})
	shop.Clock.Advance(29 * time.Minute)
	time.Sleep(300 * time.Millisecond) // a poll: an early email would go now
	if n := len(shop.SMTP.Messages()); n != welcomes {
		t.Fatalf("%d emails before the half hour; want none beyond the welcomes", n-welcomes)
	}
	shop.Clock.Advance(2 * time.Minute)
	emailTo(t, shop, "boris@example.org", "#")
	cancelled := shop.WaitMessage("user = {:u} && channel = 'email' && rule.name = 'Inbox, then email if unread'", map[string]any{"u": reader.ID}, notify.StatusCancelled, notify.StatusSent)
	if cancelled.GetString("status") != notify.StatusCancelled || !strings.Contains(cancelled.GetString("error"), "read an earlier step") {
		t.Errorf("Anna's email step = %s %q; want cancelled because she read the inbox", cancelled.GetString("status"), cancelled.GetString("error"))
	}
	if n := len(shop.SMTP.Messages()); n != welcomes+1 {
		t.Errorf("%d emails after the half hour; want Boris's only", n-welcomes)
	}
}
