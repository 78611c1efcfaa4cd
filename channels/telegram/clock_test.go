package telegram

import (
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/internal/fakeclock"
)

// fakeClock is a clock that moves only when the test moves it.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// newClockedChannel returns a channel and a limit-enforcing fake Bot API
// that both read the same fake clock.
func newClockedChannel(t *testing.T, configure ...func(*Config)) (*Channel, *telegramtest.Server, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	srv := telegramtest.New(t)
	srv.SetClock(clk.Now)
	c, _ := newTestChannel(t, srv, append([]func(*Config){func(cfg *Config) { cfg.Now = clk.Now }}, configure...)...)
	return c, srv, clk
}

// deliver sends m as the dispatcher would: whenever Send defers it, the
// fake clock is moved to the turn it was given and Send is called again.
func deliver(t *testing.T, c *Channel, clk *fakeClock, m *channels.Message) string {
	t.Helper()
	for range 100 {
		id, err := c.Send(t.Context(), m)
		d, deferred := channels.RetryAfterDelay(err)
		if !deferred {
			if err != nil {
				t.Fatalf("Send(%q): %v", m.ID, err)
			}
			return id
		}
		clk.Advance(d)
	}
	t.Fatalf("Send(%q) is still deferred after 100 turns", m.ID)
	return ""
}

// within runs f on its own goroutine and fails the test if f has not
// returned after limit, so that a Send that waits for the rate limit fails
// the test clearly instead of hanging it. f must not call t's methods.
func within(t *testing.T, limit time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v: Send waits for the rate limit instead of deferring the message", what, limit)
	}
}
