package notify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// telegramLinks lists c's notifyTelegramLinks through the API.
func telegramLinks(t *testing.T, shop *shoptest.Shop, c shoptest.Customer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range shop.MustDo(200, "GET", "/api/collections/notifyTelegramLinks/records", c.Token, nil).JSON()["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// Anna gets Bob to open her link in his chat, which is linked to Bob: the
// chat does not move, Anna's account shows nothing of it, and the bot asks
// in the chat with buttons. A press from another chat does nothing; only
// Bob's press in his chat moves it.
func TestTelegramLinkedChatMovesOnlyWhenItsOwnerConfirms(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	const bobsChat, strangersChat = 5550002, 5550009
	linkTelegram(t, shop, bot, bob, bobsChat)

	url := shop.MustDo(200, "POST", "/api/notify/telegram/link", anna.Token, nil).String("url")
	_, annasToken, _ := strings.Cut(url, "?start=")
	before := len(bot.Sent())
	bot.PushUpdate(bobsChat, "private", "/start "+annasToken)
	ask := bot.WaitSent(t, before+1, 10*time.Second)[before]
	if ask.ChatID != bobsChat || !strings.Contains(ask.Plain, "Move this chat") {
		t.Fatalf("the bot answered chat %d %q; want it to ask chat %d whether to move", ask.ChatID, ask.Plain, bobsChat)
	}
	var move, keep string
	for _, row := range ask.Keyboard {
		for _, b := range row {
			switch {
			case strings.HasPrefix(b.CallbackData, "move:"):
				move = b.CallbackData
			case strings.HasPrefix(b.CallbackData, "keep:"):
				keep = b.CallbackData
			}
		}
	}
	if move == "" || keep == "" {
		t.Fatalf("the question's keyboard = %+v; want a move and a keep button", ask.Keyboard)
	}
	if links := telegramLinks(t, shop, anna); len(links) != 0 {
		t.Errorf("Anna's links before the chat confirmed = %v; want none (nothing about Bob's chat)", links)
	}
	if links := telegramLinks(t, shop, bob); len(links) != 1 || links[0]["active"] != true {
		t.Errorf("Bob's links after Anna's link was opened = %v; want his active link", links)
	}

	// The same button data from another chat moves nothing.
	before = len(bot.Sent())
	cb := bot.PushCallback(strangersChat, strangersChat, move)
	bot.WaitSent(t, before+1, 10*time.Second)
	if links := telegramLinks(t, shop, anna); len(links) != 0 {
		t.Errorf("Anna's links after another chat pressed the button = %v; want none", links)
	}
	if !slices.Contains(bot.Answered(), cb) {
		t.Errorf("the callback query %s was not answered", cb)
	}

	// Bob presses Move in his chat.
	before = len(bot.Sent())
	bot.PushCallback(bobsChat, bobsChat, move)
	done := bot.WaitSent(t, before+1, 10*time.Second)[before]
	if done.ChatID != bobsChat || !strings.Contains(done.Plain, "connected") {
		t.Errorf("after the confirmation the bot said %q to chat %d; want a confirmation", done.Plain, done.ChatID)
	}
	links := telegramLinks(t, shop, anna)
	if len(links) != 1 || links[0]["username"] != "user5550002" {
		t.Errorf("Anna's links after Bob confirmed = %v; want the moved chat", links)
	}
	if links := telegramLinks(t, shop, bob); len(links) != 0 {
		t.Errorf("Bob's links after he moved his chat = %v; want none", links)
	}
}

// A chat linked to nobody links at once, without a question.
func TestTelegramFreshChatLinksAtOnce(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	linkTelegram(t, shop, bot, anna, 5550003)
	if n := len(bot.Answered()); n != 0 {
		t.Errorf("%d callback queries answered; want none", n)
	}
}
