package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/notify/internal/telegramlink"
)

// A customer who subscribes twelve devices keeps the ten most recent: the
// two oldest are replaced, and the customer cannot pile up more.
func TestPushDevicesAreCappedAtTen(t *testing.T) {
	t.Parallel()
	shop, svc := pushShop(t)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	bobs := svc.NewSubscription()
	if res := subscribe(t, shop, bob, bobs); res.Status != 200 {
		t.Fatalf("Bob's subscribe = %d %s", res.Status, res.Body)
	}
	var subs []webpush.Subscription
	for range 12 {
		sub := svc.NewSubscription()
		if res := subscribe(t, shop, anna, sub); res.Status != 200 {
			t.Fatalf("subscribe = %d %s; want 200", res.Status, res.Body)
		}
		subs = append(subs, sub)
	}
	list := shop.MustDo(200, "GET", "/api/collections/notifyPushSubscriptions/records?perPage=100", anna.Token, nil)
	have := map[string]bool{}
	for _, it := range list.JSON()["items"].([]any) {
		have[it.(map[string]any)["endpoint"].(string)] = true
	}
	if len(have) != 10 {
		t.Errorf("Anna has %d push devices after subscribing 12; want 10", len(have))
	}
	for i, sub := range subs {
		if want := i >= 2; have[sub.Endpoint] != want {
			t.Errorf("device %d kept = %v; want %v (the two oldest replaced)", i+1, have[sub.Endpoint], want)
		}
	}
	if n, _ := shop.App.CountRecords(notify.PushSubscriptionsCollection); n != 11 {
		t.Errorf("%d subscriptions in all; want 11 (Bob's untouched)", n)
	}
}

// Seven link requests leave five live tokens: the two oldest no longer
// link; expired and used tokens are deleted.
func TestTelegramLinkTokensAreCapped(t *testing.T) {
	t.Parallel()
	bot := telegramtest.New(t)
	shop := shoptest.New(t, shoptest.Options{FakeClock: true, Config: notify.Config{TelegramToken: telegramtest.Token, TelegramAPIURL: bot.URL}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	tokens := func() int {
		t.Helper()
		var n int
		if err := shop.App.DB().NewQuery("SELECT COUNT(*) FROM " + telegramlink.TokensTable).Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	newLink := func() string {
		t.Helper()
		url := shop.MustDo(200, "POST", "/api/notify/telegram/link", anna.Token, nil).String("url")
		_, token, _ := strings.Cut(url, "?start=")
		return token
	}
	var links []string
	for range 7 {
		links = append(links, newLink())
	}
	if n := tokens(); n != telegramlink.MaxLiveTokens {
		t.Errorf("%d tokens stored after 7 link requests; want %d", n, telegramlink.MaxLiveTokens)
	}
	const chat = 7770001
	before := len(bot.Sent())
	bot.PushUpdate(chat, "private", "/start "+links[0])
	if got := bot.WaitSent(t, before+1, 10*time.Second)[before].Plain; !strings.Contains(got, "expired") {
		t.Errorf("the oldest, replaced link answered %q; want it refused as expired or used", got)
	}
	// Another chat: the bot's replies to one chat wait their turn on the
	// shop's clock, which this test does not move.
	before = len(bot.Sent())
	bot.PushUpdate(chat+1, "private", "/start "+links[6])
	if got := bot.WaitSent(t, before+1, 10*time.Second)[before].Plain; !strings.Contains(got, "connected") {
		t.Errorf("the newest link answered %q; want it connected", got)
	}

	// Once the rest expired, the next request leaves only itself.
	shop.Clock.Advance(16 * time.Minute)
	newLink()
	if n := tokens(); n != 1 {
		t.Errorf("%d tokens stored after the others expired or were used; want 1", n)
	}
}
