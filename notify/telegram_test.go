package notify_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram"
	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

func telegramShop(t *testing.T, mod func(*notify.Config)) (*shoptest.Shop, *telegramtest.Server) {
	t.Helper()
	bot := telegramtest.New(t)
	cfg := notify.Config{TelegramToken: telegramtest.Token, TelegramAPIURL: bot.URL}
	if mod != nil {
		mod(&cfg)
	}
	return shoptest.New(t, shoptest.Options{Config: cfg}), bot
}

// linkTelegram runs the linking flow for c from chat and returns the start token.
func linkTelegram(t *testing.T, shop *shoptest.Shop, bot *telegramtest.Server, c shoptest.Customer, chat int64) string {
	t.Helper()
	res := shop.MustDo(200, "POST", "/api/notify/telegram/link", c.Token, nil)
	url := res.String("url")
	prefix := "https://t.me/" + telegramtest.BotUsername + "?start="
	if !strings.HasPrefix(url, prefix) {
		t.Fatalf("link url = %q; want %s<token>", url, prefix)
	}
	token := strings.TrimPrefix(url, prefix)
	before := len(bot.Sent())
	bot.PushUpdate(chat, "private", "/start "+token)
	confirm := bot.WaitSent(t, before+1, 10*time.Second)[before]
	if confirm.ChatID != chat || !strings.Contains(confirm.Plain, "connected") && !strings.Contains(confirm.Plain, "подключён") {
		t.Fatalf("confirmation = chat %d %q; want a confirmation in chat %d", confirm.ChatID, confirm.Plain, chat)
	}
	return token
}

func lastTo(bot *telegramtest.Server, chat int64) telegramtest.SentMessage {
	var last telegramtest.SentMessage
	for _, m := range bot.Sent() {
		if m.ChatID == chat {
			last = m
		}
	}
	return last
}

func TestTelegramLinkingAndDelivery(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	const chat = 5550001

	if res := shop.Do("POST", "/api/notify/telegram/link", "", nil); res.Status != 401 {
		t.Errorf("link while signed out = %d; want 401", res.Status)
	}
	token := linkTelegram(t, shop, bot, anna, chat)

	links := shop.MustDo(200, "GET", "/api/collections/notifyTelegramLinks/records", anna.Token, nil).JSON()["items"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["active"] != true {
		t.Fatalf("Anna's links = %v; want one active link", links)
	}
	if _, ok := links[0].(map[string]any)["chatId"]; ok {
		t.Errorf("the chat id is readable through the API")
	}

	t.Run("order messages arrive in the chat", func(t *testing.T) {
		useItemListTelegram(t, shop)
		order := shop.MustDo(200, "POST", "/api/collections/orders/records", anna.Token, map[string]any{
			"customer": anna.ID, "items": []map[string]any{shop.Item("<script>alert(1)</script>", 1, 100)},
		}).String("id")
		created := shop.WaitMessage("template = 'order.created' && channel = 'telegram'", nil, notify.StatusSent)
		got := lastTo(bot, chat)
		if got.ParseMode != "HTML" || !strings.Contains(got.Text, "&lt;script&gt;") || strings.Contains(got.Text, "<script>") {
			t.Errorf("order message parse_mode=%q text=%q; want HTML with the item name escaped", got.ParseMode, got.Text)
		}
		if created.GetString("to") != "5550001" {
			t.Errorf("message log to = %q; want the chat id", created.GetString("to"))
		}

		shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": "shipped", "trackingNumber": "RA123456789RU"})
		shop.WaitMessage("template = 'order.shipped' && channel = 'telegram'", nil, notify.StatusSent)
		got = lastTo(bot, chat)
		if !strings.Contains(got.Plain, "#1001") || !strings.Contains(got.Plain, "RA123456789RU") {
			t.Errorf("shipped message = %q; want the order number and tracking number", got.Plain)
		}
		if len(got.Keyboard) != 1 || resolve(t, shop, got.Keyboard[0][0].URL) != "http://shop.test/#/orders/"+order {
			t.Errorf("shipped message keyboard = %+v; want a button to the order page", got.Keyboard)
		}
	})

	t.Run("a used token links nothing", func(t *testing.T) {
		before := len(bot.Sent())
		bot.PushUpdate(5550002, "private", "/start "+token)
		reply := bot.WaitSent(t, before+1, 10*time.Second)[before]
		if reply.ChatID != 5550002 || !strings.Contains(reply.Plain, "expired or was already used") {
			t.Errorf("reply to a reused token = %q; want a polite refusal", reply.Plain)
		}
		if n := len(shop.Messages("1=1")); n == 0 {
			t.Fatal("no messages at all")
		}
		recs, _ := shop.App.FindAllRecords(notify.TelegramLinksCollection)
		for _, r := range recs {
			if r.GetInt("chatId") == 5550002 {
				t.Errorf("a reused token linked chat 5550002")
			}
		}
	})

	t.Run("the chat id cannot be set through the API", func(t *testing.T) {
		id := links[0].(map[string]any)["id"].(string)
		if res := shop.Do("PATCH", "/api/collections/notifyTelegramLinks/records/"+id, anna.Token, map[string]any{"chatId": 1}); res.Status != 403 {
			t.Errorf("PATCH own link = %d; want 403", res.Status)
		}
		if res := shop.Do("POST", "/api/collections/notifyTelegramLinks/records", anna.Token, map[string]any{"user": anna.ID, "chatId": 1, "active": true}); res.Status != 403 {
			t.Errorf("create a link = %d; want 403", res.Status)
		}
	})

	t.Run("/stop unlinks", func(t *testing.T) {
		before := len(bot.Sent())
		bot.PushUpdate(chat, "private", "/stop")
		bot.WaitSent(t, before+1, 10*time.Second)
		link, _ := shop.App.FindFirstRecordByData(notify.TelegramLinksCollection, "user", anna.ID)
		if link.GetBool("active") {
			t.Errorf("link still active after /stop")
		}
	})
}

func TestTelegramExpiredTokenAndGroups(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, func(c *notify.Config) { c.TelegramLinkTTL = 100 * time.Millisecond })
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	url := shop.MustDo(200, "POST", "/api/notify/telegram/link", anna.Token, nil).String("url")
	token := url[strings.Index(url, "start=")+6:]

	bot.PushUpdate(-100123, "supergroup", "/start "+token)
	if r := bot.WaitSent(t, 1, 10*time.Second)[0]; !strings.Contains(r.Plain, "private chat") {
		t.Errorf("reply in a group = %q; want to be asked for a private chat", r.Plain)
	}
	time.Sleep(200 * time.Millisecond)
	bot.PushUpdate(5550003, "private", "/start "+token)
	if r := bot.WaitSent(t, 2, 10*time.Second)[1]; !strings.Contains(r.Plain, "expired") {
		t.Errorf("reply to an expired token = %q; want a polite refusal", r.Plain)
	}
	if recs, _ := shop.App.FindAllRecords(notify.TelegramLinksCollection); len(recs) != 0 {
		t.Errorf("%d links made from a group or an expired token; want 0", len(recs))
	}
}

func TestTelegramWebhook(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, func(c *notify.Config) { c.TelegramWebhookSecret = "hook-secret" })
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	url := shop.MustDo(200, "POST", "/api/notify/telegram/link", anna.Token, nil).String("url")
	token := url[strings.Index(url, "start=")+6:]
	update := []byte(`{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 5550004, "type": "private"},
		"from": {"id": 5550004, "is_bot": false, "first_name": "Anna"}, "text": "/start ` + token + `"}}`)
	post := func(secret string) int {
		req, _ := http.NewRequest("POST", shop.URL+"/api/notify/telegram/webhook", bytes.NewReader(update))
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post("wrong"); got != 401 {
		t.Errorf("webhook with a wrong secret = %d; want 401", got)
	}
	if got := post(""); got != 401 {
		t.Errorf("webhook without a secret = %d; want 401", got)
	}
	if recs, _ := shop.App.FindAllRecords(notify.TelegramLinksCollection); len(recs) != 0 {
		t.Fatalf("a webhook call with a wrong secret linked a chat")
	}
	if got := post("hook-secret"); got != 200 {
		t.Fatalf("webhook with the secret = %d; want 200", got)
	}
	if link, err := shop.App.FindFirstRecordByData(notify.TelegramLinksCollection, "user", anna.ID); err != nil || link.GetInt("chatId") != 5550004 {
		t.Errorf("after the webhook /start Anna's link = %v, %v; want chat 5550004", link, err)
	}
	if n := bot.Requests("getUpdates"); n != 0 {
		t.Errorf("webhook mode polled getUpdates %d times", n)
	}
}

func TestTelegramErrors(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	const chat = 5550005
	linkTelegram(t, shop, bot, anna, chat)
	order := placeOrder(t, shop, anna).String("id")
	shop.WaitMessage("template = 'order.created' && channel = 'telegram'", nil, notify.StatusSent)

	// Order status messages: Telegram if linked, email otherwise.
	rules, err := shop.App.FindRecordsByFilter(notify.RulesCollection, "collection = 'orders' && event = 'update'", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		r.Set("channels", []string{"telegram", "email"})
		r.Set("mode", notify.ModeFirst)
		if err := shop.App.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	setStatus := func(status string) {
		shop.MustDo(200, "PATCH", "/api/collections/orders/records/"+order, admin, map[string]any{"status": status})
	}

	t.Run("429 waits without using an attempt", func(t *testing.T) {
		bot.TooManyNext(1, 1)
		setStatus("paid")
		m := shop.WaitMessage("template = 'order.paid'", nil, notify.StatusSent, notify.StatusFailed)
		if m.GetString("status") != notify.StatusSent || m.GetInt("attempts") != 1 || m.GetString("channel") != "telegram" {
			t.Errorf("after a 429: status=%s channel=%s attempts=%d; want sent on telegram at attempt 1", m.GetString("status"), m.GetString("channel"), m.GetInt("attempts"))
		}
		if bot.TooMany() != 1 {
			t.Errorf("the fake answered %d 429s; want exactly the scripted one", bot.TooMany())
		}
	})

	t.Run("5xx is retried", func(t *testing.T) {
		bot.FailNext(1, 502)
		setStatus("assembling")
		m := shop.WaitMessage("template = 'order.assembling'", nil, notify.StatusSent, notify.StatusFailed)
		if m.GetString("status") != notify.StatusSent || m.GetInt("attempts") != 2 {
			t.Errorf("after a 502: status=%s attempts=%d; want sent at attempt 2", m.GetString("status"), m.GetInt("attempts"))
		}
	})

	t.Run("403 deactivates the link and the message goes by email at once", func(t *testing.T) {
		bot.Block(chat)
		setStatus("shipped")
		m := shop.WaitMessage("template = 'order.shipped'", nil, notify.StatusFailed, notify.StatusSent)
		if m.GetString("status") != notify.StatusSent || m.GetString("channel") != "email" ||
			!strings.Contains(m.GetString("error"), "telegram failed") || !strings.Contains(m.GetString("error"), "blocked") {
			t.Errorf("after a 403: status=%s channel=%s note=%q; want sent by email, the note giving Telegram's reason",
				m.GetString("status"), m.GetString("channel"), m.GetString("error"))
		}
		emailTo(t, shop, "anna@example.org", "shipped")
		link, _ := shop.App.FindFirstRecordByData(notify.TelegramLinksCollection, "user", anna.ID)
		if link.GetBool("active") {
			t.Errorf("link still active after the bot was blocked")
		}
		setStatus("delivered")
		next := shop.WaitMessage("template = 'order.delivered'", nil, notify.StatusSent, notify.StatusFailed)
		if next.GetString("channel") != "email" || next.GetString("status") != notify.StatusSent || !strings.Contains(next.GetString("error"), "telegram: user has not linked Telegram") {
			t.Errorf("next message: channel=%s status=%s note=%q; want sent by email, saying why not Telegram", next.GetString("channel"), next.GetString("status"), next.GetString("error"))
		}
		emailTo(t, shop, "anna@example.org", "delivered")
	})
}

func TestTelegramLongMessageIsSplit(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	linkTelegram(t, shop, bot, anna, 5550006)
	useItemListTelegram(t, shop)
	// As many lines as a customer may order (50), each a long catalogue name.
	items := make([]map[string]any, 50)
	long := shop.Item(strings.Repeat("Очень длинное название товара ", 6), 1, 10)
	for i := range items {
		items[i] = long
	}
	shop.MustDo(200, "POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": items})
	shop.WaitMessage("template = 'order.created' && channel = 'telegram'", nil, notify.StatusSent)
	var parts []telegramtest.SentMessage
	for _, m := range bot.Sent() {
		if m.ChatID == 5550006 && !strings.Contains(m.Plain, "connected") {
			parts = append(parts, m)
		}
	}
	if len(parts) < 2 {
		t.Fatalf("a %d-item order went out as %d message(s); want it split", len(items), len(parts))
	}
	for i, p := range parts {
		if n := len([]rune(p.Plain)); n > telegram.MaxMessageLength {
			t.Errorf("part %d has %d characters; want at most %d", i, n, telegram.MaxMessageLength)
		}
	}
	if !strings.Contains(parts[len(parts)-1].Plain, "Total") {
		t.Errorf("the last part does not end the message with the total")
	}
}
