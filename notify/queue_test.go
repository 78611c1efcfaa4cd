package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
)

// The tests in this file are the queue's findings of the second wave's
// review, each through a real protocol peer where a customer would notice.

// until polls cond; a guard against hanging, not a timing assertion.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ordersInOneTransaction creates n orders for c in one transaction, as a
// batch request or an import would.
func ordersInOneTransaction(t *testing.T, shop *shoptest.Shop, c shoptest.Customer, n int) {
	t.Helper()
	err := shop.App.RunInTransaction(func(txApp core.App) error {
		orders, err := txApp.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		for range n {
			o := core.NewRecord(orders)
			o.Set("customer", c.ID)
			o.Set("items", []map[string]any{{"name": "Green tea", "qty": 1, "price": 350}})
			if err := txApp.Save(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func deliveredTo(shop *shoptest.Shop) map[string]int {
	ids := map[string]int{}
	for _, m := range shop.SMTP.Messages() {
		ids[m.Header("Message-ID")]++
	}
	return ids
}

func TestSlowMailServerGetsEachMessageOnce(t *testing.T) {
	t.Parallel()
	// A mail server that takes longer than the lease to answer each
	// message, with 16 order confirmations queued in one transaction: the
	// ones being sent and the ones waiting for a connection all outlive the
	// lease. Each must reach the server once.
	shop := shoptest.New(t, shoptest.Options{FakeClock: true, Config: notify.Config{Lease: 30 * time.Second}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.SMTP.Wait(t, 1, 20*time.Second) // the welcome email

	release := make(chan struct{})
	shop.SMTP.Hold(smtptest.DataEnd, release)
	ordersInOneTransaction(t, shop, anna, 16)
	shop.SMTP.WaitHeld(t, 4, 20*time.Second) // four connections, all waiting

	leaseAhead := func() bool {
		var ok bool
		err := shop.App.DB().NewQuery(`SELECT COUNT(*) > 0 AND MIN(leaseUntil) > {:now} FROM notifyMessages WHERE status = 'sending'`).
			Bind(map[string]any{"now": shop.Clock.Now().UTC().Format("2006-01-02 15:04:05.000Z")}).Row(&ok)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for range 10 { // 200 s in steps shorter than the lease
		shop.Clock.Advance(20 * time.Second)
		until(t, "the leases to be renewed past the clock", leaseAhead)
	}
	close(release)
	shop.SMTP.Wait(t, 17, 20*time.Second)
	for _, m := range shop.Messages("template = 'order.created' && channel = 'email'") {
		if m.GetString("status") != notify.StatusSent && m.GetString("status") != notify.StatusSending {
			t.Errorf("message %s is %s (%s)", m.Id, m.GetString("status"), m.GetString("error"))
		}
	}
	until(t, "all 16 sent", func() bool {
		return len(shop.Messages("template = 'order.created' && channel = 'email' && status = 'sent'")) == 16
	})
	for id, n := range deliveredTo(shop) {
		if n != 1 {
			t.Errorf("message %s reached the server %d times; want once", id, n)
		}
	}
	if n := len(shop.SMTP.Messages()); n != 17 {
		t.Errorf("the server got %d emails; want 17 (welcome and 16 confirmations)", n)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	// A database error on the way to sending (the template or the guard's
	// record cannot be read) is not the message's fault: it is retried, and
	// sent once the database answers again. The delay and the backoff run
	// on the fake clock: on the wall clock a loaded machine could send
	// before the table is renamed.
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSent)

	t.Run("template", func(t *testing.T) {
		mustExec(t, shop, `ALTER TABLE notifyTemplates RENAME TO notifyTemplates_away`)
		placeOrder(t, shop, anna)
		retried := retriedOnClock(t, shop, "template = 'order.created' && channel = 'email'", nil)
		if !strings.Contains(retried.GetString("error"), "no such table") {
			t.Errorf("error = %q; want the database's error kept while retrying", retried.GetString("error"))
		}
		mustExec(t, shop, `ALTER TABLE notifyTemplates_away RENAME TO notifyTemplates`)
		shop.Clock.Advance(time.Second) // past the backoff
		shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent)
	})

	t.Run("guard", func(t *testing.T) {
		shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
			"name": "Guarded", "active": true, "collection": "orders", "event": "update", "changed": "status",
			"condition": `status = "paid"`, "guard": `status = "paid"`, "delay": "1s",
			"recipient": "customer", "template": "order.paid", "channels": []string{"inbox"}, "category": "transactional",
		})
		order := placeOrder(t, shop, anna).String("id")
		shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "paid"})
		mustExec(t, shop, `ALTER TABLE orders RENAME TO orders_away`) // before the 1s delay is over
		q := "rule.name = 'Guarded' && sourceRecord = {:id}"
		retried := retriedOnClock(t, shop, q, map[string]any{"id": order})
		if !strings.Contains(retried.GetString("error"), "no such table") {
			t.Errorf("error = %q; want the database's error kept while retrying", retried.GetString("error"))
		}
		mustExec(t, shop, `ALTER TABLE orders_away RENAME TO orders`)
		shop.Clock.Advance(time.Second) // past the backoff
		shop.WaitMessage(q, map[string]any{"id": order}, notify.StatusSent)
	})
}

// retriedOnClock moves the fake clock in steps of the shop's 50 ms backoff
// until the message matching filter is waiting for, or in, its second
// attempt or later, and returns it.
func retriedOnClock(t *testing.T, shop *shoptest.Shop, filter string, params map[string]any) *core.Record {
	t.Helper()
	var retried *core.Record
	until(t, "a retry of "+filter, func() bool {
		for _, m := range shop.Messages(filter+" && attempts >= 2", params) {
			if st := m.GetString("status"); st == notify.StatusQueued || st == notify.StatusSending {
				retried = m
				return true
			}
		}
		shop.Clock.Advance(50 * time.Millisecond)
		return false
	})
	return retried
}

func TestAdminRetryUsesTheCurrentAddress(t *testing.T) {
	t.Parallel()
	// The mailbox was wrong, the message failed; the customer's address is
	// corrected and the admin retries: it goes to the new address.
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSent)
	shop.SMTP.RejectRcpt("anna@example.org", 550, "5.1.1 mailbox unavailable")
	placeOrder(t, shop, anna)
	failed := shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusFailed)
	if failed.GetString("to") != "anna@example.org" {
		t.Fatalf("failed message to = %q; want the old address logged", failed.GetString("to"))
	}

	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, admin, map[string]any{"email": "anna.new@example.org"})
	shop.MustDo(200, "PATCH", "/api/collections/notifyMessages/records/"+failed.Id, admin, map[string]any{"status": "queued"})
	sent := shop.WaitMessage("id = {:id}", map[string]any{"id": failed.Id}, notify.StatusSent)
	if sent.GetString("to") != "anna.new@example.org" {
		t.Errorf("retried message to = %q; want the corrected address", sent.GetString("to"))
	}
	emailTo(t, shop, "anna.new@example.org", "#1001")
}

func TestShutdownWithAHungMailServer(t *testing.T) {
	t.Parallel()
	// A mail server that never answers the end of a message: shutdown takes
	// the grace period, not the SMTP timeouts, and the message goes back to
	// the queue for the next start.
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{ShutdownGrace: 300 * time.Millisecond}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSent)
	never := make(chan struct{})
	defer close(never)
	shop.SMTP.Hold(smtptest.DataEnd, never)
	placeOrder(t, shop, anna)
	shop.SMTP.WaitHeld(t, 1, 20*time.Second)

	done := make(chan error, 1)
	go func() { done <- shop.App.OnTerminate().Trigger(&core.TerminateEvent{App: shop.App}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second): // the SMTP timeouts are 30 s and 10 min
		t.Fatal("shutdown waited for the mail server instead of the 300ms grace")
	}
	m := shop.Messages("template = 'order.created' && channel = 'email'")[0]
	if m.GetString("status") != notify.StatusQueued || m.GetInt("attempts") != 0 || !strings.Contains(m.GetString("error"), "shutdown") {
		t.Errorf("message after shutdown = %s attempts=%d error=%q; want queued again, attempt not counted, saying why",
			m.GetString("status"), m.GetInt("attempts"), m.GetString("error"))
	}
}

func TestDiskFull(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true, Config: notify.Config{Lease: 30 * time.Second}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.SMTP.Wait(t, 1, 20*time.Second)
	until(t, "the welcome recorded", func() bool {
		return len(shop.Messages("template = 'user.created' && channel = 'email' && status = 'sent'")) == 1
	})

	t.Run("an order write fails as a server error", func(t *testing.T) {
		mustExec(t, shop, `CREATE TRIGGER disk_full_insert BEFORE INSERT ON notifyMessages BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
		defer mustExec(t, shop, `DROP TRIGGER disk_full_insert`)
		res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{
			"customer": anna.ID, "items": []map[string]any{shop.Item("Tea", 1, 1)},
		})
		if res.Status != 500 {
			t.Errorf("order create on a full disk = %d %s; want 500 (the customer did nothing wrong)", res.Status, res.Body)
		}
	})

	t.Run("a message whose outcome cannot be written is not sent again", func(t *testing.T) {
		// Only the email's outcome is unwritable: nothing is claimed while
		// an outcome waits to be written, so an order's inbox row claimed
		// alone, a moment before its email row, would otherwise keep the
		// email from ever being sent.
		mustExec(t, shop, `CREATE TRIGGER disk_full_sent BEFORE UPDATE OF status ON notifyMessages
			WHEN NEW.status = 'sent' AND NEW.channel = 'email'
			BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
		placeOrder(t, shop, anna)
		shop.SMTP.Wait(t, 2, 20*time.Second)
		for range 6 { // three minutes, well past the 30 s lease
			shop.Clock.Advance(30 * time.Second)
			time.Sleep(250 * time.Millisecond) // a poll interval: time for a wrong re-send to happen
		}
		mustExec(t, shop, `DROP TRIGGER disk_full_sent`)
		until(t, "the outcome to be written", func() bool {
			return len(shop.Messages("template = 'order.created' && channel = 'email' && status = 'sent'")) == 1
		})
		if n := len(shop.SMTP.Messages()); n != 2 {
			t.Errorf("the server got %d emails; want 2 (welcome and one confirmation)", n)
		}
	})
}

func TestOneCustomerDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	// Anna, with Telegram linked, places 40 orders at once; Telegram allows
	// one message a second to her chat. Ivan's order confirmation, email,
	// Telegram and inbox, goes out while hers wait their turn: with the
	// clock stopped, her queue cannot drain, so nothing of Ivan's may wait
	// behind it.
	bot := telegramtest.New(t)
	shop := shoptest.New(t, shoptest.Options{FakeClock: true, Config: notify.Config{
		TelegramToken: telegramtest.Token, TelegramAPIURL: bot.URL,
	}})
	bot.SetClock(shop.Clock.Now)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	ivan := shop.SignUp("Ivan", "ivan@example.org", "en")
	linkTelegram(t, shop, bot, anna, 7770001)
	linkTelegram(t, shop, bot, ivan, 7770002)
	// The bot's confirmations release their rate-limit slots when their
	// HTTP responses are read, just after the fake Bot API recorded them;
	// the clock moves once that is done, as a real one would not jump.
	time.Sleep(200 * time.Millisecond)
	shop.Clock.Advance(time.Minute)

	ordersInOneTransaction(t, shop, anna, 40)
	defer func() {
		if t.Failed() {
			for _, m := range shop.Messages("user = {:u}", map[string]any{"u": anna.ID}) {
				t.Logf("%s %s %s attempts=%d runAt=%s error=%q", m.GetString("template"), m.GetString("channel"), m.GetString("status"), m.GetInt("attempts"), m.GetString("runAt"), m.GetString("error"))
			}
			t.Logf("clock %s", shop.Clock.Now())
		}
	}()
	until(t, "Anna's first Telegram message", func() bool { return len(sentTo(bot, 7770001)) == 1 })
	placeOrder(t, shop, ivan)
	shop.WaitMessage("template = 'order.created' && user = {:u} && channel = 'telegram'", map[string]any{"u": ivan.ID}, notify.StatusSent)
	shop.WaitMessage("template = 'order.created' && user = {:u} && channel = 'email'", map[string]any{"u": ivan.ID}, notify.StatusSent)
	shop.WaitMessage("template = 'order.created' && user = {:u} && channel = 'inbox'", map[string]any{"u": ivan.ID}, notify.StatusSent)
	if n := len(sentTo(bot, 7770001)); n > 2 {
		t.Errorf("Anna's chat got %d messages within one second; want at most Telegram's limit", n)
	}
	waiting := shop.Messages("user = {:u} && channel = 'telegram' && status = 'queued'", map[string]any{"u": anna.ID})
	if len(waiting) < 38 {
		t.Errorf("%d of Anna's Telegram messages wait their turn; want 39 or so (queued, holding no worker)", len(waiting))
	}
	for _, m := range waiting[:1] {
		if m.GetInt("attempts") != 0 {
			t.Errorf("a message waiting for its turn used %d attempts; want 0", m.GetInt("attempts"))
		}
	}

	// As time passes, Anna's messages go out one by one, each once.
	until(t, "all of Anna's Telegram messages", func() bool {
		shop.Clock.Advance(time.Second)
		return len(shop.Messages("user = {:u} && channel = 'telegram' && template = 'order.created' && status = 'sent'", map[string]any{"u": anna.ID})) == 40
	})
	if got := bot.TooMany(); got != 0 {
		t.Errorf("the Bot API answered 429 %d times", got)
	}
	texts := map[string]int{}
	for _, m := range sentTo(bot, 7770001) {
		texts[m.Text]++
	}
	for text, n := range texts {
		if n > 1 {
			t.Errorf("Anna got %q %d times", text, n)
		}
	}
}

func sentTo(bot *telegramtest.Server, chat int64) []telegramtest.SentMessage {
	var out []telegramtest.SentMessage
	for _, m := range bot.Sent() {
		if m.ChatID == chat && !strings.Contains(m.Plain, "connected") {
			out = append(out, m)
		}
	}
	return out
}

func TestStopWhileWritesWakeTheDispatcher(t *testing.T) {
	t.Parallel()
	// Writes wake the dispatcher from their after-commit hooks while the app
	// shuts down and starts again; the dispatcher used to be replaced at
	// stop under their feet (the race detector caught it). It is one value
	// for the plugin's life now.
	shop := shoptest.New(t, shoptest.Options{})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{
				"customer": anna.ID, "items": []map[string]any{shop.Item("Tea", 1, 1)},
			})
			if res.Status != 200 {
				t.Errorf("order create = %d %s", res.Status, res.Body)
			}
		}
	}()
	for range 3 {
		if err := shop.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	until(t, "every confirmation sent", func() bool {
		return len(shop.Messages("template = 'order.created' && channel = 'email' && status = 'sent'")) == 20
	})
}
