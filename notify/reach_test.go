package notify_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/channels/sms/smstest"
	"github.com/pbnotify/pbnotify/channels/webhook/webhooktest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestSMSAndWebhookDelivery(t *testing.T) {
	t.Parallel()
	provider := smstest.New(t)
	receiver := webhooktest.New(t, testWebhookSecret)
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{
		SMSProvider: "twilio", SMSAPIURL: provider.URL, SMSAccount: smstest.AccountSID,
		SMSToken: smstest.AuthToken, SMSFrom: smstest.From,
		WebhookURL: receiver.URL, WebhookSecret: testWebhookSecret,
	}})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "ru")
	nophone := shop.SignUp("Boris", "boris@example.org", "ru")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, admin, map[string]any{"phone": "8 (912) 345-67-89"})

	// The shipped message by SMS, and every order event to the shop's CRM.
	recs, err := shop.App.FindRecordsByFilter(notify.TemplatesCollection, "key = 'order.created'", "", 0, 0)
	if err != nil || len(recs) == 0 {
		t.Fatalf("order.created templates: %v", err)
	}
	for _, r := range recs {
		r.Set("sms", "Заказ №{{.Record.number}} принят: {{money .Record.total .Record.currency}}")
		if err := shop.App.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Order by SMS and to the CRM", "active": true, "collection": "orders", "event": "create",
		"recipient": "customer", "template": "order.created", "channels": []string{"sms", "webhook"}, "category": "transactional",
	})

	order := placeOrder(t, shop, anna).String("id")
	sent := shop.WaitMessage("channel = 'sms' && user = {:u}", map[string]any{"u": anna.ID}, notify.StatusSent, notify.StatusFailed, notify.StatusSkipped)
	if sent.GetString("status") != notify.StatusSent {
		t.Fatalf("sms message = %s (%s); want sent", sent.GetString("status"), sent.GetString("error"))
	}
	got := provider.Sent()
	if len(got) != 1 || got[0].To != "+79123456789" || got[0].From != smstest.From || !strings.Contains(got[0].Body, "№1001") {
		t.Fatalf("the provider got %+v; want one SMS to +79123456789 naming order №1001", got)
	}
	if sent.GetString("providerId") != got[0].ID {
		t.Errorf("providerId = %q; want the provider's id %q", sent.GetString("providerId"), got[0].ID)
	}

	hook := shop.WaitMessage("channel = 'webhook' && user = {:u}", map[string]any{"u": anna.ID}, notify.StatusSent, notify.StatusFailed)
	if hook.GetString("status") != notify.StatusSent {
		t.Fatalf("webhook message = %s (%s); want sent", hook.GetString("status"), hook.GetString("error"))
	}
	deliveries := receiver.Received()
	if len(deliveries) != 1 {
		t.Fatalf("the receiver verified %d deliveries; want 1", len(deliveries))
	}
	d := deliveries[0]
	if d.ID != hook.Id || d.Payload.Type != "order.created" || d.Payload.Data.User != anna.ID ||
		d.Payload.Data.Record["id"] != order || d.Payload.Data.Record["number"] != float64(1001) {
		t.Errorf("webhook = id %s type %q user %q record %v; want message %s, order.created, Anna, order %s №1001",
			d.ID, d.Payload.Type, d.Payload.Data.User, d.Payload.Data.Record, hook.Id, order)
	}
	if strings.Contains(hook.GetString("to"), receiver.URL) {
		t.Errorf("the message log shows the webhook URL to the customer: %q", hook.GetString("to"))
	}

	// A customer without a phone gets no SMS row at all (mode "all"): the
	// CRM still hears of the order.
	placeOrder(t, shop, nophone)
	shop.WaitMessage("channel = 'webhook' && user = {:u}", map[string]any{"u": nophone.ID}, notify.StatusSent)
	if rows := shop.Messages("channel = 'sms' && user = {:u}", map[string]any{"u": nophone.ID}); len(rows) != 0 {
		t.Errorf("%d sms rows for a customer without a phone; want none", len(rows))
	}
}

func TestSMSWithoutProviderIsSkipped(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, admin, map[string]any{"phone": "+44 20 7946 0958"})
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "SMS", "active": true, "collection": "orders", "event": "create",
		"recipient": "customer", "template": "order.created", "channels": []string{sms.Name}, "category": "transactional",
	})
	placeOrder(t, shop, anna)
	m := shop.WaitMessage("channel = 'sms'", nil, notify.StatusSkipped, notify.StatusSent, notify.StatusFailed)
	if m.GetString("status") != notify.StatusSkipped || !strings.Contains(m.GetString("error"), "NOTIFY_SMS_PROVIDER") {
		t.Errorf("sms without a provider = %s %q; want skipped, naming NOTIFY_SMS_PROVIDER", m.GetString("status"), m.GetString("error"))
	}
}
