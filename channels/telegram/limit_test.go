package telegram

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
)

// TestSendDefersABusyChat is a customer who places 300 orders in one
// instant, then another customer's order. No Send may wait for the first
// customer's chat (it would hold a dispatcher worker): the other customer's
// message goes at once, the busy chat's messages get turns a second apart,
// and replayed at those turns each goes out once, in order, without a 429.
func TestSendDefersABusyChat(t *testing.T) {
	t.Parallel()
	c, srv, clk := newClockedChannel(t)
	ctx := testContext(t)
	const orders = 300
	const busy, other = 100, 200
	order := func(i int) *channels.Message {
		return &channels.Message{ID: fmt.Sprintf("a%d", i), To: strconv.Itoa(busy), Telegram: fmt.Sprintf("order <b>%d</b>", i)}
	}
	start := clk.Now()

	errs := make([]error, orders)
	var otherErr error
	within(t, 20*time.Second, "301 Sends in one instant", func() {
		for i := range orders {
			_, errs[i] = c.Send(ctx, order(i))
		}
		_, otherErr = c.Send(ctx, &channels.Message{ID: "b", To: strconv.Itoa(other), Telegram: "your order"})
	})
	if errs[0] != nil {
		t.Fatalf("Send(first order) = %v; want it sent", errs[0])
	}
	if otherErr != nil {
		t.Fatalf("Send(other customer) = %v; want it sent at once", otherErr)
	}
	if sent := srv.Sent(); len(sent) != 2 || sent[0].ChatID != busy || sent[1].ChatID != other {
		t.Fatalf("delivered %+v; want the first order and the other customer's message", sent)
	}

	turns := make([]time.Duration, orders)
	for i := 1; i < orders; i++ {
		d, ok := channels.RetryAfterDelay(errs[i])
		if !ok {
			t.Fatalf("Send(order %d) = %v; want a RetryAfter", i, errs[i])
		}
		turns[i] = d
		if gap := d - turns[i-1]; gap < telegramtest.PerChatInterval || gap > telegramtest.PerChatInterval*3/2 {
			t.Fatalf("order %d's turn is %v after order %d's; want about %v", i, gap, i-1, telegramtest.PerChatInterval)
		}
	}

	// A message that comes back before its turn keeps it, and a new one
	// queues behind everybody.
	if _, err := c.Send(ctx, order(150)); !deferredFor(err, turns[150]) {
		t.Errorf("Send(order 150) again before its turn = %v; want RetryAfter(%v)", err, turns[150])
	}
	if _, err := c.Send(ctx, order(orders)); !deferredAfter(err, turns[orders-1]) {
		t.Errorf("Send(a newer order) = %v; want a turn after %v", err, turns[orders-1])
	}

	for i := 1; i < orders; i++ {
		clk.Set(start.Add(turns[i]))
		if _, err := c.Send(ctx, order(i)); err != nil {
			t.Fatalf("Send(order %d) at its turn = %v; want it sent", i, err)
		}
	}
	var texts []string
	for _, m := range srv.Sent() {
		if m.ChatID == busy {
			texts = append(texts, m.Plain)
		}
	}
	if len(texts) != orders {
		t.Fatalf("%d orders delivered; want %d", len(texts), orders)
	}
	for i, text := range texts {
		if want := fmt.Sprintf("order %d", i); text != want {
			t.Fatalf("delivery %d = %q; want %q (each order once, in order)", i, text, want)
		}
	}
	if n := srv.TooMany(); n != 0 {
		t.Errorf("the fake answered %d times with 429; want 0", n)
	}
}

// TestSendDefersPastTheGlobalLimit sends to more chats in one instant than
// the bot may send to in three seconds: the first 30 go, the rest are
// deferred without reaching Telegram, 30 to each following second, and each
// goes out when it comes back at its turn.
func TestSendDefersPastTheGlobalLimit(t *testing.T) {
	t.Parallel()
	c, srv, clk := newClockedChannel(t)
	ctx := testContext(t)
	const perSecond = telegramtest.GlobalPerSecond
	const chats = 3*perSecond + 5
	message := func(i int) *channels.Message {
		return &channels.Message{ID: fmt.Sprintf("c%d", i), To: strconv.Itoa(3000 + i), Telegram: "hello"}
	}
	start := clk.Now()

	errs := make([]error, chats)
	within(t, 20*time.Second, fmt.Sprintf("Sends to %d chats in one instant", chats), func() {
		for i := range chats {
			_, errs[i] = c.Send(ctx, message(i))
		}
	})
	turns := make([]time.Duration, chats)
	for i, err := range errs {
		second := time.Duration(i/perSecond) * time.Second
		d, deferred := channels.RetryAfterDelay(err)
		switch {
		case i < perSecond && err != nil:
			t.Errorf("Send(chat %d) = %v; want it sent", i, err)
		case i >= perSecond && (!deferred || d < second || d > second+time.Second/2):
			t.Errorf("Send(chat %d) = %v; want a RetryAfter of about %v", i, err, second)
		}
		turns[i] = d
	}
	if n := len(srv.Calls()); n != perSecond {
		t.Errorf("%d requests reached the API; want %d", n, perSecond)
	}
	if t.Failed() {
		return
	}

	for i := perSecond; i < chats; i++ {
		clk.Set(start.Add(turns[i]))
		if _, err := c.Send(ctx, message(i)); err != nil {
			t.Errorf("Send(chat %d) at its turn = %v; want it sent", i, err)
		}
	}
	if n := len(srv.Sent()); n != chats {
		t.Errorf("%d messages delivered; want %d", n, chats)
	}
	if n := srv.TooMany(); n != 0 {
		t.Errorf("the fake answered %d times with 429; want 0", n)
	}
}

// TestSendDefersDuringA429Pause checks that a 429 pauses every chat, and
// that the others are deferred past the pause without a request.
func TestSendDefersDuringA429Pause(t *testing.T) {
	t.Parallel()
	c, srv, clk := newClockedChannel(t)
	ctx := testContext(t)
	const retryAfter = 60
	srv.TooManyNext(1, retryAfter)
	if _, err := c.Send(ctx, &channels.Message{ID: "x", To: "1", Telegram: "hi"}); !deferredFor(err, retryAfter*time.Second) {
		t.Fatalf("Send answered 429 = %v; want RetryAfter(%ds)", err, retryAfter)
	}
	other := &channels.Message{ID: "y", To: "2", Telegram: "hi"}
	var err error
	within(t, 20*time.Second, "Send during a 429 pause", func() { _, err = c.Send(ctx, other) })
	d, deferred := channels.RetryAfterDelay(err)
	if !deferred || d < retryAfter*time.Second || d > (retryAfter+2)*time.Second {
		t.Fatalf("Send to another chat during the pause = %v; want a RetryAfter of about %ds", err, retryAfter)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Errorf("%d requests reached the API during the pause; want 1", n)
	}
	clk.Advance(d)
	if _, err := c.Send(ctx, other); err != nil {
		t.Errorf("Send after the pause = %v; want it sent", err)
	}
}

// TestReservationsExpire gives turns to messages that never come back, as
// when they are cancelled, round after round for two hours: the limiter
// must forget them, and the chats and windows they used, so that its
// memory stays bounded.
func TestReservationsExpire(t *testing.T) {
	t.Parallel()
	c, srv, clk := newClockedChannel(t)
	ctx := testContext(t)
	const perRound, rounds = 100, 12
	message := func(round, i int) *channels.Message {
		return &channels.Message{ID: fmt.Sprintf("r%d-%d", round, i), To: strconv.Itoa(5000 + round), Telegram: "hi"}
	}
	for round := range rounds {
		if round > 0 {
			clk.Advance(10 * time.Minute)
		}
		for i := range perRound {
			_, err := c.Send(ctx, message(round, i))
			if _, deferred := channels.RetryAfterDelay(err); (i == 0 && err != nil) || (i > 0 && !deferred) {
				t.Fatalf("round %d: Send(message %d) = %v; want the first sent and the rest deferred", round, i, err)
			}
		}
		// Only this round's turns may be remembered; the earlier rounds'
		// were never used and expired.
		chats, reservations, windows := c.limits.size()
		if chats != 1 || reservations != perRound-1 || windows > 2*perRound {
			t.Fatalf("round %d: the limiter remembers %d chats, %d reservations, %d windows; want 1, %d, at most %d",
				round, chats, reservations, windows, perRound-1, 2*perRound)
		}
	}
	// A message whose turn expired is not lost: it goes as a newcomer.
	clk.Advance(10 * time.Minute)
	if _, err := c.Send(ctx, message(rounds-1, 1)); err != nil {
		t.Errorf("Send of a message whose turn expired = %v; want it sent", err)
	}
	if n := srv.TooMany(); n != 0 {
		t.Errorf("the fake answered %d times with 429; want 0", n)
	}
}

// deferredFor reports whether err is a RetryAfter of d.
func deferredFor(err error, d time.Duration) bool {
	got, ok := channels.RetryAfterDelay(err)
	return ok && got == d
}

// deferredAfter reports whether err is a RetryAfter of more than d.
func deferredAfter(err error, d time.Duration) bool {
	got, ok := channels.RetryAfterDelay(err)
	return ok && got > d
}
