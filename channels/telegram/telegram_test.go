package telegram

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
)

// recordingLinks remembers what the channel asked the link store to do.
type recordingLinks struct {
	mu          sync.Mutex
	deactivated []int64
	migrated    [][2]int64
}

func (l *recordingLinks) Deactivate(_ context.Context, chatID int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deactivated = append(l.deactivated, chatID)
	return nil
}

func (l *recordingLinks) Migrate(_ context.Context, oldID, newID int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.migrated = append(l.migrated, [2]int64{oldID, newID})
	return nil
}

func (l *recordingLinks) calls() (deactivated []int64, migrated [][2]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.deactivated), slices.Clone(l.migrated)
}

// newTestChannel returns a channel talking to srv; configure may adjust the
// config before New.
func newTestChannel(t testing.TB, srv *telegramtest.Server, configure ...func(*Config)) (*Channel, *recordingLinks) {
	t.Helper()
	links := &recordingLinks{}
	cfg := Config{Token: telegramtest.Token, APIURL: srv.URL, Links: links}
	for _, f := range configure {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, links
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewMakesNoRequests(t *testing.T) {
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	if got := c.Name(); got != channels.Telegram {
		t.Errorf("Name() = %q; want %q", got, channels.Telegram)
	}
	if n := srv.Requests("getMe"); n != 0 {
		t.Errorf("New made %d getMe calls; want none", n)
	}
}

func TestSendHTMLWithButtons(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	// Escaping is the renderer's job; the channel must pass the text through
	// byte for byte.
	text := `<b>Заказ №42</b> shipped &amp; on its way — <a href="https://shop.example/o/42?x=1&amp;y=2">track</a> &lt;3 😀`
	id, err := c.Send(testContext(t), &channels.Message{
		ID: "msg1", To: "4242", Telegram: text,
		Buttons: []channels.Button{
			{Text: "Track", URL: "https://shop.example/o/42"},
			{Text: "", URL: "https://ignored.example"},
			{Text: "Invoice", URL: "https://shop.example/i/42"},
		},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	sent := srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d messages delivered; want 1", len(sent))
	}
	got := sent[0]
	if id != strconv.Itoa(got.MessageID) {
		t.Errorf("Send returned id %q; want the message id %d", id, got.MessageID)
	}
	if got.ChatID != 4242 {
		t.Errorf("chat_id = %d; want 4242", got.ChatID)
	}
	if got.Text != text {
		t.Errorf("text = %q; want %q byte for byte", got.Text, text)
	}
	if got.ParseMode != "HTML" {
		t.Errorf("parse_mode = %q; want HTML", got.ParseMode)
	}
	if !got.LinkPreviewDisabled {
		t.Errorf("link previews are enabled; want disabled")
	}
	wantKeyboard := [][]telegramtest.Button{
		{{Text: "Track", URL: "https://shop.example/o/42"}},
		{{Text: "Invoice", URL: "https://shop.example/i/42"}},
	}
	if !slices.EqualFunc(got.Keyboard, wantKeyboard, slices.Equal) {
		t.Errorf("keyboard = %v; want %v (reply_markup %s)", got.Keyboard, wantKeyboard, got.ReplyMarkup)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		script        func(*telegramtest.Server)
		text          string
		wantPermanent bool
		wantRetry     time.Duration // 0: no RetryAfter
		wantInError   string        // Telegram's description must reach the caller
		wantDeactive  []int64
	}{
		{
			name:        "429 asks to retry after Telegram's delay",
			script:      func(s *telegramtest.Server) { s.TooManyNext(1, 7) },
			wantRetry:   7 * time.Second,
			wantInError: "Too Many Requests: retry after 7",
		},
		{
			name:          "403 deactivates the chat",
			script:        func(s *telegramtest.Server) { s.Block(42) },
			wantPermanent: true,
			wantInError:   "Forbidden: bot was blocked by the user",
			wantDeactive:  []int64{42},
		},
		{
			name:          "400 bad HTML is final",
			text:          "<b>unclosed",
			wantPermanent: true,
			wantInError:   "can't parse entities",
		},
		{
			name:        "500 is retried with backoff",
			script:      func(s *telegramtest.Server) { s.FailNext(1, 500) },
			wantInError: "Internal Server Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := telegramtest.New(t)
			c, links := newTestChannel(t, srv)
			if tt.script != nil {
				tt.script(srv)
			}
			text := tt.text
			if text == "" {
				text = "hello"
			}
			_, err := c.Send(testContext(t), &channels.Message{To: "42", Telegram: text})
			if err == nil {
				t.Fatalf("Send succeeded; want an error")
			}
			if got := channels.IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v; want %v", err, got, tt.wantPermanent)
			}
			if got, _ := channels.RetryAfterDelay(err); got != tt.wantRetry {
				t.Errorf("RetryAfterDelay(%v) = %v; want %v", err, got, tt.wantRetry)
			}
			if reason, ok := channels.SkipReason(err); ok {
				t.Errorf("SkipReason(%v) = %q; want no skip", err, reason)
			}
			if !strings.Contains(err.Error(), tt.wantInError) {
				t.Errorf("error %q does not contain %q", err, tt.wantInError)
			}
			if deactivated, _ := links.calls(); !slices.Equal(deactivated, tt.wantDeactive) {
				t.Errorf("Links.Deactivate calls = %v; want %v", deactivated, tt.wantDeactive)
			}
			if tt.wantRetry > 0 {
				// Other chats must not hammer the API during the penalty.
				if paused := c.limits.pausedFor(); paused < tt.wantRetry-2*time.Second {
					t.Errorf("global limiter paused for %v after a 429; want about %v", paused, tt.wantRetry)
				}
			}
		})
	}
}

// TestSendRetryAfterFromRealLimit lets the fake's own rate limiting answer,
// with the channel's limiter set far above Telegram's limits.
func TestSendRetryAfterFromRealLimit(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv, func(cfg *Config) { cfg.PerChatRate = 1000 })
	ctx := testContext(t)
	if _, err := c.Send(ctx, &channels.Message{To: "7", Telegram: "one"}); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	_, err := c.Send(ctx, &channels.Message{To: "7", Telegram: "two"})
	if got, ok := channels.RetryAfterDelay(err); !ok || got != time.Second {
		t.Errorf("RetryAfterDelay(%v) = %v, %v; want 1s, true", err, got, ok)
	}
	if n := srv.TooMany(); n != 1 {
		t.Errorf("server sent %d 429s; want 1", n)
	}
}

func TestSendFollowsMigration(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, links := newTestChannel(t, srv)
	const oldID, newID = -4001, -1004001
	srv.Migrate(oldID, newID)
	id, err := c.Send(testContext(t), &channels.Message{To: strconv.Itoa(oldID), Telegram: "group news"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, migrated := links.calls(); !slices.Equal(migrated, [][2]int64{{oldID, newID}}) {
		t.Errorf("Links.Migrate calls = %v; want [[%d %d]]", migrated, oldID, newID)
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].ChatID != newID || sent[0].Text != "group news" {
		t.Fatalf("delivered %+v; want one message to chat %d", sent, newID)
	}
	if id != strconv.Itoa(sent[0].MessageID) {
		t.Errorf("Send returned id %q; want %d", id, sent[0].MessageID)
	}
}

func TestSendSkips(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	tests := []struct {
		name       string
		token      string
		to         string
		wantReason string
	}{
		{"no token", "", "42", "Telegram is not configured (NOTIFY_TELEGRAM_TOKEN is not set)"},
		{"not linked", telegramtest.Token, "", "user has not linked Telegram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestChannel(t, srv, func(cfg *Config) { cfg.Token = tt.token })
			_, err := c.Send(testContext(t), &channels.Message{To: tt.to, Telegram: "hi"})
			if reason, ok := channels.SkipReason(err); !ok || reason != tt.wantReason {
				t.Errorf("SkipReason(%v) = %q, %v; want %q", err, reason, ok, tt.wantReason)
			}
		})
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("skipped sends reached the API: %+v", calls)
	}
}

func TestSendRejectsBadInput(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	for _, m := range []*channels.Message{
		{To: "@channel", Telegram: "hi"},
		{To: "42", Telegram: "  \n "},
	} {
		if _, err := c.Send(testContext(t), m); !channels.IsPermanent(err) {
			t.Errorf("Send(To %q, Telegram %q) = %v; want a permanent error", m.To, m.Telegram, err)
		}
	}
}

// longMessage builds valid HTML of about n characters with paragraphs,
// lines, tags that straddle the cuts, entities and Cyrillic text.
func longMessage(n int) string {
	var b strings.Builder
	for i, length := 0, 0; length < n; i++ {
		line := fmt.Sprintf("<b>Пункт %d</b>: заказ &amp; доставка, <i>see <a href=\"https://shop.example/o/%d?a=1&amp;b=2\">order %d</a> for details</i>.\n", i, i, i)
		if i%5 == 4 {
			line += "\n"
		}
		plain, _ := telegramtest.PlainText(line)
		length += telegramtest.Length(plain)
		b.WriteString(line)
	}
	return b.String()
}

// TestSendLongText sends a message without an ID, as a caller outside the
// dispatcher might: its parts go out one per turn all the same.
func TestSendLongText(t *testing.T) {
	t.Parallel()
	c, srv, clk := newClockedChannel(t)
	text := longMessage(3 * MaxMessageLength)
	want, err := telegramtest.PlainText(text)
	if err != nil {
		t.Fatalf("test message is invalid: %v", err)
	}
	button := channels.Button{Text: "Open", URL: "https://shop.example"}
	id := deliver(t, c, clk, &channels.Message{To: "55", Telegram: text, Buttons: []channels.Button{button}})
	sent := srv.Sent()
	if len(sent) < 3 {
		t.Fatalf("%d messages delivered; want the text split into at least 3", len(sent))
	}
	var got strings.Builder
	for i, m := range sent {
		if m.ChatID != 55 {
			t.Errorf("part %d went to chat %d; want 55", i, m.ChatID)
		}
		if n := telegramtest.Length(m.Plain); n > MaxMessageLength {
			t.Errorf("part %d is %d characters; want at most %d", i, n, MaxMessageLength)
		}
		wantButtons := i == len(sent)-1
		if hasButtons := len(m.Keyboard) > 0; hasButtons != wantButtons {
			t.Errorf("part %d has buttons: %v; want %v", i, hasButtons, wantButtons)
		}
		got.WriteString(m.Plain)
	}
	if got.String() != want {
		t.Errorf("the parts' text differs from the original:\n got %q\nwant %q", got.String(), want)
	}
	if id != strconv.Itoa(sent[0].MessageID) {
		t.Errorf("Send returned id %q; want the first part's id %d", id, sent[0].MessageID)
	}
	if n := srv.TooMany(); n != 0 {
		t.Errorf("the fake answered %d times with 429; want 0", n)
	}
}

// TestSendResumesLongText interrupts a three-part message after its first
// part, first by the per-chat limit and then by a server error, and checks
// that the retries do not send that part again.
func TestSendResumesLongText(t *testing.T) {
	t.Parallel()
	c, srv, clk := newClockedChannel(t)
	ctx := testContext(t)
	m := &channels.Message{ID: "outbox-1", To: "66", Telegram: longMessage(2*MaxMessageLength + 100)}
	parts := Split(m.Telegram, MaxMessageLength)
	if len(parts) != 3 {
		t.Fatalf("test message splits into %d parts; want 3", len(parts))
	}

	// Part 2 may not follow part 1 within a second: Send defers the rest.
	_, err := c.Send(ctx, m)
	d, deferred := channels.RetryAfterDelay(err)
	if !deferred || d <= 0 {
		t.Fatalf("Send of a three-part message = %v; want a RetryAfter for part 2", err)
	}
	if n := len(srv.Sent()); n != 1 {
		t.Fatalf("%d parts delivered before the deferral; want 1", n)
	}

	clk.Advance(d)
	srv.FailNext(1, 502)
	_, err = c.Send(ctx, m)
	if _, deferred := channels.RetryAfterDelay(err); err == nil || deferred || channels.IsPermanent(err) {
		t.Fatalf("Send interrupted by a 502 = %v; want a retryable error", err)
	}

	id := deliver(t, c, clk, m)
	sent := srv.Sent()
	if len(sent) != 3 {
		t.Fatalf("%d messages delivered; want 3 (no part twice)", len(sent))
	}
	for i, msg := range sent {
		if msg.Text != parts[i] {
			t.Errorf("delivered part %d = %.40q...; want %.40q...", i, msg.Text, parts[i])
		}
	}
	if id != strconv.Itoa(sent[0].MessageID) {
		t.Errorf("retried Send returned id %q; want the first part's id %d", id, sent[0].MessageID)
	}
	if n := srv.TooMany(); n != 0 {
		t.Errorf("the fake answered %d times with 429; want 0", n)
	}
}

// TestRateLimitAvoids429 sends from many goroutines, on the wall clock and
// over real HTTP (so with real jitter), to a fake that enforces Telegram's
// limits, and checks that it never had to refuse a message. The goroutines
// act as the dispatcher: a deferred message is queued again for its turn.
func TestRateLimitAvoids429(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	ctx := testContext(t)
	const messages, chats, workers = 60, 20, 16

	jobs := make(chan int, messages)
	var pending sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	deferrals := 0
	for i := range messages {
		pending.Add(1)
		jobs <- i
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				m := &channels.Message{ID: fmt.Sprintf("m%d", i), To: strconv.Itoa(1000 + i%chats), Telegram: fmt.Sprintf("message <b>%d</b>", i)}
				_, err := c.Send(ctx, m)
				if d, ok := channels.RetryAfterDelay(err); ok {
					mu.Lock()
					deferrals++
					mu.Unlock()
					time.AfterFunc(d, func() { jobs <- i })
					continue
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				pending.Done()
			}
		})
	}
	pending.Wait()
	close(jobs)
	wg.Wait()

	if n := srv.TooMany(); n != 0 {
		t.Errorf("the fake answered %d times with 429; want 0", n)
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("Send errors: %v", err)
	}
	if n := len(srv.Sent()); n != messages {
		t.Errorf("%d messages delivered; want %d", n, messages)
	}
	// Three messages per chat: at least two of each chat wait their turn.
	if least := messages - chats; deferrals < least {
		t.Errorf("%d deferrals; want at least %d", deferrals, least)
	}
}

func TestChatLimiterForgetsIdleChats(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := newLimiter(limits{global: 1000, perChat: 1, now: clk.Now, idle: 20 * time.Millisecond, grace: time.Minute})
	use := func(id int64, sent bool) {
		t.Helper()
		release, wait := l.try(fmt.Sprintf("chat %d", id), id)
		if release == nil {
			t.Fatalf("try(chat %d) deferred for %v; want to go at once", id, wait)
		}
		release(sent)
	}
	for id := range int64(100) {
		use(id, true)
	}
	if n, _, _ := l.size(); n != 100 {
		t.Fatalf("%d chats remembered after 100 chats; want 100", n)
	}
	// Chats whose slot is still held (1 s after a send) must survive a
	// sweep; once free and idle they go. Each try sweeps after idle.
	clk.Advance(50 * time.Millisecond)
	use(1000, false)
	if n, _, _ := l.size(); n != 101 {
		t.Fatalf("%d chats remembered while their slots are held; want 101", n)
	}
	clk.Advance(2 * time.Second)
	use(1001, false)
	if n, _, _ := l.size(); n != 1 {
		t.Errorf("%d chats remembered after the idle ones expired; want 1", n)
	}
}

func TestLimiterWaitStopsWithContext(t *testing.T) {
	t.Parallel()
	l := newLimiter(limits{global: 30, perChat: 1})
	release, err := l.wait(t.Context(), "first", 1)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	release(true) // the chat's slot comes back only after a second
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.wait(ctx, "second", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("wait with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	if err := c.Reply(testContext(t), 31, "Telegram is now linked to <b>ann@example.com</b> ✅"); err != nil {
		t.Fatalf("Reply: %v", err)
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].ChatID != 31 || sent[0].ParseMode != "HTML" || len(sent[0].Keyboard) != 0 {
		t.Errorf("delivered %+v; want one HTML message without buttons to chat 31", sent)
	}
}

func TestUsernameIsCached(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	for range 3 {
		name, err := c.Username(testContext(t))
		if err != nil || name != telegramtest.BotUsername {
			t.Fatalf("Username() = %q, %v; want %q", name, err, telegramtest.BotUsername)
		}
	}
	if n := srv.Requests("getMe"); n != 1 {
		t.Errorf("getMe called %d times; want 1", n)
	}
}

func TestWebhookSetup(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	ctx := testContext(t)
	if err := c.SetWebhook(ctx, "https://app.example/api/notify/telegram", "s3cret"); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	if url, secret := srv.Webhook(); url != "https://app.example/api/notify/telegram" || secret != "s3cret" {
		t.Errorf("webhook = %q, %q; want the URL and secret given", url, secret)
	}
	if err := c.DeleteWebhook(ctx); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if url, _ := srv.Webhook(); url != "" {
		t.Errorf("webhook = %q after DeleteWebhook; want none", url)
	}
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	c, err := New(Config{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := testContext(t)
	for name, err := range map[string]error{
		"Reply":         c.Reply(ctx, 1, "x"),
		"Poll":          c.Poll(ctx, func(context.Context, Update) {}),
		"SetWebhook":    c.SetWebhook(ctx, "https://x", "s"),
		"DeleteWebhook": c.DeleteWebhook(ctx),
	} {
		if !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s on an unconfigured channel = %v; want ErrNotConfigured", name, err)
		}
	}
	if _, err := c.Username(ctx); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Username on an unconfigured channel = %v; want ErrNotConfigured", err)
	}
}

func TestNewRejectsNegativeRates(t *testing.T) {
	if _, err := New(Config{Token: telegramtest.Token, GlobalRate: -1}); err == nil {
		t.Errorf("New with a negative rate succeeded; want an error")
	}
}

// failingLinks is a link store whose database is down.
type failingLinks struct{}

var errDatabaseDown = errors.New("database is down")

func (failingLinks) Deactivate(context.Context, int64) error     { return errDatabaseDown }
func (failingLinks) Migrate(context.Context, int64, int64) error { return errDatabaseDown }

func TestSendWhenLinksFail(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv, func(cfg *Config) { cfg.Links = failingLinks{} })
	ctx := testContext(t)

	// Blocked stays blocked: still final, and the store's error is reported.
	srv.Block(1)
	_, err := c.Send(ctx, &channels.Message{To: "1", Telegram: "hi"})
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), errDatabaseDown.Error()) {
		t.Errorf("Send to a blocked chat with a failing store = %v; want permanent, mentioning %q", err, errDatabaseDown)
	}

	// A migration that cannot be saved is retried later rather than sent to
	// a chat id nobody knows about.
	srv.Migrate(-2, -1002)
	_, err = c.Send(ctx, &channels.Message{To: "-2", Telegram: "hi"})
	if err == nil || channels.IsPermanent(err) || !errors.Is(err, errDatabaseDown) {
		t.Errorf("Send to a migrated chat with a failing store = %v; want a retryable error wrapping %v", err, errDatabaseDown)
	}
	if sent := srv.Sent(); len(sent) != 0 {
		t.Errorf("delivered %+v; want nothing", sent)
	}
}
