package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify"
)

// A database error while looking up a Telegram link is not "not linked":
// the message is retried, and goes out once the database answers again.
func TestTelegramLinkLookupErrorIsRetried(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, func(c *notify.Config) { c.MaxAttempts = 1000 })
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	const chat = 5550007
	linkTelegram(t, shop, bot, anna, chat)

	// Make every read of the links fail, as a broken or locked database would.
	rename := func(from, to string) {
		t.Helper()
		if _, err := shop.App.DB().NewQuery("ALTER TABLE {{" + from + "}} RENAME TO {{" + to + "}}").Execute(); err != nil {
			t.Fatal(err)
		}
	}
	rename(notify.TelegramLinksCollection, "linksAway")
	placeOrder(t, shop, anna)
	m := shop.WaitMessage("template = 'order.created' && channel = 'telegram' && (attempts >= 2 || (status != 'queued' && status != 'sending'))",
		nil, notify.StatusQueued, notify.StatusSending, notify.StatusSkipped, notify.StatusFailed, notify.StatusSent)
	if st := m.GetString("status"); st != notify.StatusQueued && st != notify.StatusSending || m.GetInt("attempts") < 2 {
		t.Fatalf("while the links cannot be read: status=%s attempts=%d error=%q; want retried (queued again)", st, m.GetInt("attempts"), m.GetString("error"))
	}
	if !strings.Contains(m.GetString("error"), "no such table") {
		t.Errorf("retry note = %q; want the database's error", m.GetString("error"))
	}

	before := len(bot.Sent())
	rename("linksAway", notify.TelegramLinksCollection)
	shop.WaitMessage("template = 'order.created' && channel = 'telegram'", nil, notify.StatusSent)
	sent := bot.WaitSent(t, before+1, 10*time.Second)[before]
	if sent.ChatID != chat || !strings.Contains(sent.Plain, "#1001") {
		t.Errorf("after the database recovered the bot sent chat %d %q; want the order confirmation in chat %d", sent.ChatID, sent.Plain, chat)
	}
}
