package notify_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

func listedChannels(t *testing.T, shop *shoptest.Shop) []string {
	t.Helper()
	var out []string
	for _, c := range shop.MustDo(200, "GET", "/api/notify/channels", "", nil).JSON()["channels"].([]any) {
		out = append(out, c.(string))
	}
	return out
}

// A shop without a Telegram bot or a VAPID subject lists email and the
// inbox only; its customers cannot silence transactional messages by
// leaving them on only for channels it does not run; the push key route
// says push is off, and a push message's skip reason names the subject.
func TestChannelsTheShopRuns(t *testing.T) {
	t.Parallel()
	svc := pushtest.New(t)
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{PushAllowedOrigins: []string{svc.URL}}})
	if got, want := listedChannels(t, shop), []string{"email", "inbox"}; !slices.Equal(got, want) {
		t.Errorf("GET /api/notify/channels on a shop with SMTP only = %v; want %v", got, want)
	}
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	res := shop.Do("PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{"notifyPrefs": map[string]any{
		"email": map[string]any{"transactional": false}, "inbox": map[string]any{"transactional": false},
	}})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "must stay on") {
		t.Errorf("transactional off on email and inbox, on only for Telegram and push which the shop does not run: %d %s; want 400 saying it must stay on", res.Status, res.Body)
	}
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{"notifyPrefs": map[string]any{
		"email": map[string]any{"transactional": false}, "telegram": map[string]any{"transactional": false},
	}})

	if res := shop.Do("GET", "/api/notify/webpush/key", "", nil); res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), "NOTIFY_VAPID_SUBJECT") {
		t.Errorf("GET /api/notify/webpush/key without a VAPID subject = %d %s; want 503 naming NOTIFY_VAPID_SUBJECT", res.Status, res.Body)
	}
	// A device subscribed anyway (an old storefront): its pushes are
	// skipped with the reason.
	if res := subscribe(t, shop, anna, svc.NewSubscription()); res.Status != 200 {
		t.Fatalf("subscribe = %d %s", res.Status, res.Body)
	}
	order := placeOrder(t, shop, anna).String("id")
	push := shop.WaitMessage("channel = 'webpush' && sourceRecord = {:id}", map[string]any{"id": order}, notify.StatusSkipped)
	if reason := push.GetString("error"); !strings.Contains(reason, "VAPID subject") || strings.Contains(reason, "VAPID keys") {
		t.Errorf("push skip reason = %q; want it to name the missing VAPID subject, not the keys", reason)
	}

	// With no SMTP either, the inbox is all that is left.
	settings := shop.App.Settings()
	settings.SMTP.Enabled = false
	if err := shop.App.Save(settings); err != nil {
		t.Fatal(err)
	}
	if got, want := listedChannels(t, shop), []string{"inbox"}; !slices.Equal(got, want) {
		t.Errorf("GET /api/notify/channels without SMTP = %v; want %v", got, want)
	}
}

// A shop with a bot and a VAPID subject lists them.
func TestChannelsListsTelegramAndPushWhenConfigured(t *testing.T) {
	t.Parallel()
	bot := telegramtest.New(t)
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{
		TelegramToken: telegramtest.Token, TelegramAPIURL: bot.URL, VAPIDSubject: "mailto:shop@example.org",
	}})
	if got, want := listedChannels(t, shop), []string{"email", "telegram", "webpush", "inbox"}; !slices.Equal(got, want) {
		t.Errorf("GET /api/notify/channels = %v; want %v", got, want)
	}
	shop.MustDo(200, "GET", "/api/notify/webpush/key", "", nil)
}
