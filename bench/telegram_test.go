package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// BenchmarkTelegramDispatch queues 1,000 messages to 100 linked chats
// through the dispatcher against a fake Bot API that enforces Telegram's
// limits (30/s overall, 1/s per chat) and answers 429 beyond them.
func BenchmarkTelegramDispatch(b *testing.B) {
	const chats, perChat = 100, 10
	for i := 0; i < b.N; i++ {
		bot := telegramtest.New(b)
		shop := shoptest.New(b, shoptest.Options{NoSMTP: true, Config: notify.Config{
			TelegramToken: telegramtest.Token, TelegramAPIURL: bot.URL, PollInterval: 50 * time.Millisecond,
		}})
		users, _ := shop.App.FindCollectionByNameOrId("users")
		links, _ := shop.App.FindCollectionByNameOrId(notify.TelegramLinksCollection)
		var ids []string
		for c := range chats {
			u := core.NewRecord(users)
			u.SetEmail(fmt.Sprintf("c%d@example.org", c))
			u.SetPassword("password123")
			u.Set("locale", "en")
			if err := shop.App.Save(u); err != nil {
				b.Fatal(err)
			}
			l := core.NewRecord(links)
			l.Load(map[string]any{"user": u.Id, "chatId": 9000000 + c, "active": true})
			if err := shop.App.Save(l); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, u.Id)
		}
		order := core.NewRecord(mustColl(b, shop, "orders"))
		order.Load(map[string]any{"customer": ids[0], "items": []map[string]any{{"name": "Tea", "qty": 1, "price": 10}}})
		if err := shop.App.Save(order); err != nil {
			b.Fatal(err)
		}
		shop.WaitMessage("template = 'order.created' && channel = 'telegram'", nil, notify.StatusSent)
		base := len(bot.Sent())

		start := time.Now()
		// One transaction: message k goes to chat k mod 100, so consecutive
		// rows are for different chats, as in a real burst of orders.
		_, err := shop.App.DB().NewQuery(`WITH RECURSIVE seq(k) AS (SELECT 0 UNION ALL SELECT k+1 FROM seq WHERE k < {:n} - 1),
			u(idx, id) AS (SELECT ROW_NUMBER() OVER (ORDER BY created) - 1, id FROM notifyTelegramLinks)
			INSERT INTO notifyMessages (id, template, channel, category, user, status, attempts, runAt, sourceCollection, sourceRecord, data, dedupeKey, created, updated)
			SELECT printf('tg%013d', k), m.template, 'telegram', m.category,
			       (SELECT l.user FROM notifyTelegramLinks l, u WHERE u.id = l.id AND u.idx = k % {:chats}),
			       'queued', 0, m.runAt, m.sourceCollection, m.sourceRecord, m.data, 'tg' || k, m.created, m.updated
			FROM seq, (SELECT * FROM notifyMessages WHERE template = 'order.created' AND channel = 'telegram' LIMIT 1) m`).
			Bind(dbx.Params{"n": chats * perChat, "chats": chats}).Execute()
		if err != nil {
			b.Fatal(err)
		}
		bot.WaitSent(b, base+chats*perChat, 3*time.Minute)
		elapsed := time.Since(start)
		time.Sleep(300 * time.Millisecond) // outcomes written
		var sent int
		_ = shop.App.DB().NewQuery(`SELECT COUNT(*) FROM notifyMessages WHERE id LIKE 'tg%' AND status = 'sent'`).Row(&sent)
		b.ReportMetric(float64(chats*perChat)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(bot.TooMany()), "429s")
		b.ReportMetric(float64(chats*perChat-sent), "lost")
	}
}

func mustColl(b *testing.B, shop *shoptest.Shop, name string) *core.Collection {
	c, err := shop.App.FindCollectionByNameOrId(name)
	if err != nil {
		b.Fatal(err)
	}
	return c
}
