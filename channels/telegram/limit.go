package telegram

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Telegram measures its limits by when a request arrives, which is somewhere
// between the moment we start it and the moment its response comes back. A
// plain token bucket spaces the starts exactly 1/rate apart, so any jitter in
// the network or the scheduler lets two requests arrive closer together than
// allowed. The limiters here therefore count a send as "in the window" from
// before it starts until one window after its response arrived: a send may
// start only while fewer than N sends hold such a slot. That bounds the
// arrivals in any window to N whatever the latency, at the price of one
// round-trip per window of throughput.

// slots is a counting semaphore whose slots come back hold after release.
type slots struct {
	free chan struct{}
	hold time.Duration
}

// newSlots allows rate sends per second: floor(rate) slots (at least one)
// each held for slots/rate seconds, so 30/s is 30 slots held 1 s and 0.5/s
// is 1 slot held 2 s.
func newSlots(perSecond float64) *slots {
	n := max(int(math.Floor(perSecond)), 1)
	s := &slots{
		free: make(chan struct{}, n),
		hold: time.Duration(float64(n) / perSecond * float64(time.Second)),
	}
	for range n {
		s.free <- struct{}{}
	}
	return s
}

func (s *slots) acquire(ctx context.Context) error {
	select {
	case <-s.free:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release returns the slot, after the hold time if the request was sent,
// and then calls done (if not nil).
func (s *slots) release(sent bool, done func()) {
	giveBack := func() {
		s.free <- struct{}{}
		if done != nil {
			done()
		}
	}
	if !sent {
		giveBack()
		return
	}
	time.AfterFunc(s.hold, giveBack)
}

// globalLimiter keeps all sends under Telegram's bot-wide limit.
type globalLimiter struct {
	bucket *rate.Limiter // spreads sends evenly instead of in bursts of N
	window *slots        // hard bound on arrivals per window, see above

	mu          sync.Mutex
	pausedUntil time.Time // set by a 429: nobody sends before this
}

func newGlobalLimiter(perSecond float64) *globalLimiter {
	return &globalLimiter{
		bucket: rate.NewLimiter(rate.Limit(perSecond), 1),
		window: newSlots(perSecond),
	}
}

// pause stops all sends for d. Telegram's retry_after is bot-wide in
// practice: hammering it with other chats only extends the penalty.
func (g *globalLimiter) pause(d time.Duration) {
	until := time.Now().Add(d)
	g.mu.Lock()
	defer g.mu.Unlock()
	if until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
}

func (g *globalLimiter) pausedFor() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Until(g.pausedUntil)
}

func (g *globalLimiter) wait(ctx context.Context) (release func(sent bool), err error) {
	// Loop because another 429 may extend the pause while we sleep.
	for d := g.pausedFor(); d > 0; d = g.pausedFor() {
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
	}
	if err := g.bucket.Wait(ctx); err != nil {
		return nil, err
	}
	if err := g.window.acquire(ctx); err != nil {
		return nil, err
	}
	return func(sent bool) { g.window.release(sent, nil) }, nil
}

// chatLimiter keeps each chat under Telegram's per-chat limit. It holds one
// gate per chat that sent recently and forgets gates idle for longer than
// idle, so the map is bounded by the chats active in the last few minutes.
type chatLimiter struct {
	perSecond float64
	idle      time.Duration

	mu        sync.Mutex
	gates     map[int64]*chatGate
	lastSweep time.Time
}

type chatGate struct {
	slots *slots
	// users counts goroutines waiting for or holding a slot (including the
	// hold time after a send); a gate with users is never forgotten.
	users    int
	lastUsed time.Time
}

func newChatLimiter(perSecond float64, idle time.Duration) *chatLimiter {
	return &chatLimiter{perSecond: perSecond, idle: idle, gates: map[int64]*chatGate{}}
}

func (l *chatLimiter) wait(ctx context.Context, chatID int64) (release func(sent bool), err error) {
	g := l.checkout(chatID)
	if err := g.slots.acquire(ctx); err != nil {
		l.checkin(g)
		return nil, err
	}
	return func(sent bool) { g.slots.release(sent, func() { l.checkin(g) }) }, nil
}

func (l *chatLimiter) checkout(chatID int64) *chatGate {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastSweep) >= l.idle {
		l.sweep(now)
	}
	g, ok := l.gates[chatID]
	if !ok {
		g = &chatGate{slots: newSlots(l.perSecond)}
		l.gates[chatID] = g
	}
	g.users++
	return g
}

func (l *chatLimiter) checkin(g *chatGate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g.users--
	g.lastUsed = time.Now()
}

// sweep forgets idle gates. It runs at most once per idle period, so its
// cost is spread over all the sends in that period. Callers hold l.mu.
func (l *chatLimiter) sweep(now time.Time) {
	for id, g := range l.gates {
		if g.users == 0 && now.Sub(g.lastUsed) >= l.idle {
			delete(l.gates, id)
		}
	}
	l.lastSweep = now
}

func (l *chatLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.gates)
}

// limiter combines both limits. The per-chat wait comes first so that a
// busy chat does not hold global slots while it waits for its own turn.
type limiter struct {
	global *globalLimiter
	chats  *chatLimiter
}

// chatIdle is how long a chat's gate is kept after its last send.
const chatIdle = 5 * time.Minute

func newLimiter(globalRate, perChatRate float64) *limiter {
	return &limiter{
		global: newGlobalLimiter(globalRate),
		chats:  newChatLimiter(perChatRate, chatIdle),
	}
}

// wait blocks until a message may be sent to chatID. The caller must call
// release exactly once, with sent=false if it did not send after all.
func (l *limiter) wait(ctx context.Context, chatID int64) (release func(sent bool), err error) {
	releaseChat, err := l.chats.wait(ctx, chatID)
	if err != nil {
		return nil, err
	}
	releaseGlobal, err := l.global.wait(ctx)
	if err != nil {
		releaseChat(false)
		return nil, err
	}
	return func(sent bool) {
		releaseGlobal(sent)
		releaseChat(sent)
	}, nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
