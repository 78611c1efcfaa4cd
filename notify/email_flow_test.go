package notify_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

// emailTo waits for the next email to addr whose subject contains want.
func emailTo(t *testing.T, shop *shoptest.Shop, addr, want string) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range shop.SMTP.Messages() {
			if len(m.To) == 1 && m.To[0] == addr && strings.Contains(m.Header("Subject"), want) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var subjects []string
	for _, m := range shop.SMTP.Messages() {
		subjects = append(subjects, fmt.Sprintf("%v: %q", m.To, m.Header("Subject")))
	}
	t.Fatalf("no email to %s with subject containing %q; got %s", addr, want, strings.Join(subjects, ", "))
	return smtptest.Message{}
}

func part(t *testing.T, m smtptest.Message, mediaType string) string {
	t.Helper()
	body, err := m.Part(mediaType)
	if err != nil {
		t.Fatalf("email %q has no %s part: %v", m.Header("Subject"), mediaType, err)
	}
	return body
}

func placeOrder(t *testing.T, shop *shoptest.Shop, c shoptest.Customer) shoptest.Response {
	t.Helper()
	return shop.MustDo(200, "POST", "/api/collections/orders/records", c.Token, map[string]any{
		"customer": c.ID,
		"items": []map[string]any{
			shop.Item("Green tea", 2, 350),
			shop.Item("Teapot", 1, 1200.5),
		},
		"address": "Moscow, Tverskaya 1",
	})
}

func TestCustomerJourneyEmails(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	ivan := shop.SignUp("Иван", "ivan@example.org", "ru")

	t.Run("welcome", func(t *testing.T) {
		m := emailTo(t, shop, "anna@example.org", "Welcome")
		if !strings.Contains(part(t, m, "text/plain"), "Anna") {
			t.Errorf("welcome email does not greet Anna by name")
		}
		emailTo(t, shop, "ivan@example.org", "Добро пожаловать")
	})

	var orderID, number string
	t.Run("order confirmation in the customer's language", func(t *testing.T) {
		res := placeOrder(t, shop, anna)
		orderID, number = res.String("id"), res.String("number")
		if number != "1001" || res.String("status") != "new" || res.String("total") != "1900.5" {
			t.Fatalf("create response number=%q status=%q total=%q; want 1001, new, 1900.5", number, res.String("status"), res.String("total"))
		}
		m := emailTo(t, shop, "anna@example.org", "#1001")
		text, html := part(t, m, "text/plain"), part(t, m, "text/html")
		for _, want := range []string{"Green tea", "Teapot", "1,900.50"} {
			if !strings.Contains(text, want) || !strings.Contains(html, want) {
				t.Errorf("confirmation lacks %q\ntext:\n%s", want, text)
			}
		}
		if !strings.Contains(html, "Test Shop") {
			t.Errorf("HTML email is not wrapped in the layout with the shop name")
		}

		ivanOrder := placeOrder(t, shop, ivan)
		m = emailTo(t, shop, "ivan@example.org", "№"+ivanOrder.String("number"))
		if text := part(t, m, "text/plain"); !strings.Contains(text, "1\u00a0900,50") {
			t.Errorf("Russian confirmation lacks the total formatted as 1 900,50:\n%s", text)
		}
	})

	t.Run("shipped with tracking number", func(t *testing.T) {
		shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+orderID, admin, map[string]any{
			"status": "shipped", "trackingNumber": "RA123456789RU", "trackingUrl": "https://track.example.org/RA123456789RU",
		})
		m := emailTo(t, shop, "anna@example.org", "shipped")
		if !strings.Contains(part(t, m, "text/plain"), "RA123456789RU") {
			t.Errorf("shipped email lacks the tracking number")
		}
		if !linksTo(t, shop, part(t, m, "text/html"), "https://track.example.org/RA123456789RU") {
			t.Errorf("shipped email lacks the tracking link")
		}
	})

	t.Run("payments", func(t *testing.T) {
		pay := shop.MustDo(200, "POST", "/api/collections/payments/records", admin, map[string]any{
			"order": orderID, "amount": 1900.5, "currency": "RUB", "status": "failed", "failureReason": "Card expired",
		})
		failed := emailTo(t, shop, "anna@example.org", "failed")
		if !strings.Contains(part(t, failed, "text/plain"), "Card expired") {
			t.Errorf("payment failed email lacks the reason")
		}
		shop.MustDo(200, "POST", "/api/collections/payments/records", admin, map[string]any{
			"order": orderID, "amount": 1900.5, "currency": "RUB", "status": "succeeded",
		})
		shop.WaitMessage("template = 'payment.succeeded' && channel = 'email'", nil, notify.StatusSent)
		shop.MustDo(200, "PATCH", "/api/collections/payments/records/"+pay.String("id"), admin, map[string]any{"status": "refunded"})
		refunded := shop.WaitMessage("template = 'payment.refunded' && channel = 'email'", nil, notify.StatusSent)
		if refunded.GetString("to") != "anna@example.org" || !strings.Contains(refunded.GetString("subject"), number) {
			t.Errorf("refund email to=%q subject=%q; want to anna naming order %s", refunded.GetString("to"), refunded.GetString("subject"), number)
		}
	})
}

func TestSMTPFailures(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{MaxAttempts: 3}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	emailTo(t, shop, "anna@example.org", "Welcome")

	t.Run("451 is retried then delivered", func(t *testing.T) {
		shop.SMTP.FailNext(1, 451, "greylisted, try again later")
		placeOrder(t, shop, anna)
		m := shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent, notify.StatusFailed)
		if m.GetString("status") != notify.StatusSent || m.GetInt("attempts") != 2 {
			t.Fatalf("status=%s attempts=%d error=%q; want sent after 2 attempts", m.GetString("status"), m.GetInt("attempts"), m.GetString("error"))
		}
	})

	t.Run("550 fails with the server's reply", func(t *testing.T) {
		shop.SMTP.RejectRcpt("bounce@example.org", 550, "mailbox unavailable")
		shop.SignUp("Bounce", "bounce@example.org", "en")
		m := shop.WaitMessage("template = 'user.created' && to = 'bounce@example.org'", nil, notify.StatusFailed, notify.StatusSent)
		if m.GetString("status") != notify.StatusFailed || m.GetInt("attempts") != 1 || !strings.Contains(m.GetString("error"), "mailbox unavailable") {
			t.Fatalf("status=%s attempts=%d error=%q; want failed once with the 550 reply", m.GetString("status"), m.GetInt("attempts"), m.GetString("error"))
		}
	})

	t.Run("an admin retries a failed message", func(t *testing.T) {
		failed := shop.Messages("template = 'user.created' && to = 'bounce@example.org'")[0]
		shop.SMTP.RejectRcpt("bounce@example.org", 0, "") // the mailbox is fixed
		shop.MustDo(200, "PATCH", "/api/collections/notifyMessages/records/"+failed.Id, shop.SuperuserToken(), map[string]any{"status": "queued"})
		m := shop.WaitMessage("id = {:id}", map[string]any{"id": failed.Id}, notify.StatusSent, notify.StatusFailed)
		if m.GetString("status") != notify.StatusSent || m.GetInt("attempts") != 1 || m.GetString("error") != "" {
			t.Fatalf("after retry: status=%s attempts=%d error=%q; want sent on a fresh first attempt", m.GetString("status"), m.GetInt("attempts"), m.GetString("error"))
		}
		emailTo(t, shop, "bounce@example.org", "Welcome")
	})

	t.Run("closed port is retried", func(t *testing.T) {
		shop.SMTP.Close()
		shop.SignUp("Offline", "offline@example.org", "en")
		m := shop.WaitMessage("template = 'user.created' && user.email = 'offline@example.org' && channel = 'email'", nil, notify.StatusFailed)
		if m.GetInt("attempts") != 3 || !strings.Contains(m.GetString("error"), "gave up after 3 attempts") {
			t.Fatalf("attempts=%d error=%q; want 3 attempts and a give-up reason", m.GetInt("attempts"), m.GetString("error"))
		}
	})
}

func TestNoSMTPMarksSkipped(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	shop.SignUp("Anna", "anna@example.org", "en")
	m := shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSkipped, notify.StatusSent, notify.StatusFailed)
	if m.GetString("status") != notify.StatusSkipped || !strings.Contains(m.GetString("error"), "Mail settings") {
		t.Fatalf("status=%s error=%q; want skipped saying where to configure SMTP", m.GetString("status"), m.GetString("error"))
	}
	if !strings.Contains(m.GetString("subject"), "Welcome") || m.GetString("body") == "" {
		t.Errorf("skipped message was not rendered: subject=%q", m.GetString("subject"))
	}
}

func TestMailSettingsArePickedUp(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	settings := shop.App.Settings()
	settings.SMTP.Enabled = false
	if err := shop.App.Save(settings); err != nil {
		t.Fatal(err)
	}
	shop.SignUp("Anna", "anna@example.org", "en")
	shop.WaitMessage("template = 'user.created' && channel = 'email'", nil, notify.StatusSkipped)

	// The admin turns SMTP on and changes the sender: no restart.
	settings = shop.App.Settings()
	settings.SMTP.Enabled = true
	settings.Meta.SenderAddress = "orders@example.org"
	if err := shop.App.Save(settings); err != nil {
		t.Fatal(err)
	}
	shop.SignUp("Bob", "bob@example.org", "en")
	m := emailTo(t, shop, "bob@example.org", "Welcome")
	if from := m.Header("From"); !strings.Contains(from, "orders@example.org") {
		t.Errorf("From = %q; want the new sender orders@example.org", from)
	}
}

func TestUserDataIsEscaped(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	shop.SignUp("<script>alert(1)</script>", "xss@example.org", "en")
	m := emailTo(t, shop, "xss@example.org", "Welcome")
	html := part(t, m, "text/html")
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("customer name is not escaped in the HTML email:\n%s", html)
	}

	shop.SignUp("Eve\r\nBcc: victim@example.org", "eve@example.org", "en")
	m = emailTo(t, shop, "eve@example.org", "Welcome")
	if strings.Contains(m.Headers(), "\nBcc:") || len(m.To) != 1 {
		t.Errorf("a CR/LF in the name added a header or a recipient: to=%v\n%s", m.To, m.Headers())
	}
}
