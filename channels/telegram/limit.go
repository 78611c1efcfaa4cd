package telegram

import (
	"context"
	"math"
	"sync"
	"time"
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
//
// A send that cannot start now does not wait: Send runs on one of the
// dispatcher's few workers, and a customer with 300 orders would hold them
// all on their chat's 1 message per second while everybody else's messages
// queue behind. Instead the limiter tells when the message's turn comes and
// Send returns channels.RetryAfter, so the dispatcher parks the message and
// frees the worker. So that 300 waiting messages are not all retried every
// second (O(n²) sends), the limiter reserves each one a turn, by message:
// the k-th waiting message of a chat gets a turn about k seconds out, and is
// let through when it comes back then. Turns are planned in windows of the
// bot-wide limit too, so that no window is promised to more than N messages.
// The plan only decides who goes when; whether a message may start is still
// decided by the slots above, so a message that comes back before its slot
// is free (the previous send was slow) is deferred again, never let through.

// earlyTolerance lets a reserved message through a little before its turn:
// the dispatcher stores times in milliseconds and may wake up marginally
// early. The slots still decide; this only avoids one pointless deferral.
const earlyTolerance = 100 * time.Millisecond

// turnMargin is planned between a slot's expected return and the next turn
// on it, for a dispatcher that comes back a little late or a send slower
// than the average. Without it most turns would come back a moment before
// their slot is free and be deferred once more.
const turnMargin = 50 * time.Millisecond

// Defaults for how long the limiter remembers things.
const (
	// chatIdle is how long a chat's state is kept after its last use.
	chatIdle = 5 * time.Minute
	// reservationGrace is how long a reserved turn is kept after its time.
	// A message that never comes back (it was cancelled) is forgotten then;
	// one that comes back later still goes, but after those waiting.
	reservationGrace = 5 * time.Minute
)

// limits configures a limiter.
type limits struct {
	global  float64          // messages per second over all chats
	perChat float64          // messages per second to one chat
	now     func() time.Time // the clock
	idle    time.Duration    // chat state is forgotten this long after its last use
	grace   time.Duration    // a reservation is forgotten this long after its turn
}

// slots is a counting semaphore whose slots come back hold after release.
// It keeps no timers: the caller passes the time, so a fake clock moves it.
type slots struct {
	hold time.Duration
	slot []slot
}

type slot struct {
	busy   bool      // a request is in flight
	freeAt time.Time // when not busy: usable from this moment
}

// newSlots allows rate sends per second: floor(rate) slots (at least one)
// each held for slots/rate seconds, so 30/s is 30 slots held 1 s and 0.5/s
// is 1 slot held 2 s.
func newSlots(perSecond float64) slots {
	n := max(int(math.Floor(perSecond)), 1)
	return slots{
		hold: time.Duration(float64(n) / perSecond * float64(time.Second)),
		slot: make([]slot, n),
	}
}

// wait returns how long until a slot is free, 0 if one is free now. While
// all slots are in flight it guesses hold plus inFlight, the time the
// requests are expected to take still.
func (s *slots) wait(now time.Time, inFlight time.Duration) time.Duration {
	soonest := time.Duration(-1)
	for _, sl := range s.slot {
		if sl.busy {
			continue
		}
		d := sl.freeAt.Sub(now)
		if d <= 0 {
			return 0
		}
		if soonest < 0 || d < soonest {
			soonest = d
		}
	}
	if soonest < 0 {
		return s.hold + inFlight
	}
	return soonest
}

// take marks a free slot busy and returns it. Call it only after wait
// returned 0 for the same now.
func (s *slots) take(now time.Time) int {
	for i, sl := range s.slot {
		if !sl.busy && !sl.freeAt.After(now) {
			s.slot[i].busy = true
			return i
		}
	}
	panic("telegram: slots.take without a free slot")
}

// release ends the request in slot i. If it was sent, the slot stays held
// for hold from now; if not, it is free again at once.
func (s *slots) release(i int, sent bool, now time.Time) {
	s.slot[i].busy = false
	if sent {
		s.slot[i].freeAt = now.Add(s.hold)
	}
}

// heldUntil reports whether a request is in flight, and until when the
// slots are held.
func (s *slots) heldUntil() (busy bool, until time.Time) {
	for _, sl := range s.slot {
		busy = busy || sl.busy
		if sl.freeAt.After(until) {
			until = sl.freeAt
		}
	}
	return busy, until
}

// calendar plans turns in fixed windows of the bot-wide limit (1 s for
// 30/s), so that reservations never promise one window to more messages
// than it has slots. Booked windows only fill up, never empty, which lets
// skip jump over runs of full windows in amortised constant time.
type calendar struct {
	origin time.Time
	length time.Duration
	size   int
	count  map[int64]int   // window → turns booked in it
	skip   map[int64]int64 // full window → a later one; all between are full
}

func newCalendar(origin time.Time, s slots) calendar {
	return calendar{
		origin: origin,
		length: s.hold,
		size:   len(s.slot),
		count:  map[int64]int{},
		skip:   map[int64]int64{},
	}
}

// index returns the window that t falls in.
func (c *calendar) index(t time.Time) int64 {
	d := t.Sub(c.origin)
	w := int64(d / c.length)
	if d < 0 && d%c.length != 0 {
		w-- // round towards minus infinity
	}
	return w
}

func (c *calendar) start(w int64) time.Time {
	return c.origin.Add(time.Duration(w) * c.length)
}

func (c *calendar) hasRoom(w int64) bool { return c.count[w] < c.size }

// book takes a turn in the first window from w on that has room and
// returns that window.
func (c *calendar) book(w int64) int64 {
	free := w
	for !c.hasRoom(free) {
		if next, ok := c.skip[free]; ok {
			free = next
		} else {
			free++
		}
	}
	// Every window on the path from w to free is full: point them at free.
	for v := w; v != free; {
		next, ok := c.skip[v]
		if !ok {
			next = v + 1
		}
		c.skip[v] = free
		v = next
	}
	c.count[free]++
	if !c.hasRoom(free) {
		c.skip[free] = free + 1
	}
	return free
}

// forgetBefore drops the windows before w. Skips only point forward, so
// none that is kept points at a dropped one.
func (c *calendar) forgetBefore(w int64) {
	for k := range c.count {
		if k < w {
			delete(c.count, k)
		}
	}
	for k := range c.skip {
		if k < w {
			delete(c.skip, k)
		}
	}
}

// chatState is the limiter's view of one chat.
type chatState struct {
	slots slots
	// next is the first moment a new reservation may take: the chat's
	// reserved turns are spaced by limiter.spacing from here on.
	next     time.Time
	lastUsed time.Time
}

// forgettable reports whether the chat has been idle for at least idle:
// nothing in flight, its slots free, its reservations in the past.
func (c *chatState) forgettable(now time.Time, idle time.Duration) bool {
	busy, until := c.slots.heldUntil()
	if busy {
		return false
	}
	for _, t := range []time.Time{c.next, c.lastUsed} {
		if t.After(until) {
			until = t
		}
	}
	return now.Sub(until) >= idle
}

// reservation is a message's turn.
type reservation struct {
	chatID int64
	at     time.Time
}

// limiter keeps sends under Telegram's bot-wide and per-chat limits without
// making anybody wait: try either lets a send start or says when to come
// back. It is safe for concurrent use.
type limiter struct {
	now     func() time.Time
	perChat float64
	idle    time.Duration
	grace   time.Duration

	mu          sync.Mutex
	pausedUntil time.Time // set by a 429: nobody sends before this
	// latency is a moving average of how long a send takes. A slot is held
	// for that plus the hold time, so reserved turns are planned with both.
	latency      time.Duration
	global       slots
	plan         calendar
	chats        map[int64]*chatState
	reservations map[string]reservation // by message
	lastSweep    time.Time
}

func newLimiter(cfg limits) *limiter {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.idle == 0 {
		cfg.idle = chatIdle
	}
	if cfg.grace == 0 {
		cfg.grace = reservationGrace
	}
	global := newSlots(cfg.global)
	now := cfg.now()
	return &limiter{
		now:          cfg.now,
		perChat:      cfg.perChat,
		idle:         cfg.idle,
		grace:        cfg.grace,
		global:       global,
		plan:         newCalendar(now, global),
		chats:        map[int64]*chatState{},
		reservations: map[string]reservation{},
		lastSweep:    now,
	}
}

// try lets the send identified by key (one message; the same key each time
// it comes back) start now towards chatID, or returns how long until its
// turn. On success the caller must call release exactly once, with
// sent=false if it did not send after all.
//
// A key that has no turn yet gets one and keeps it until it comes back, so
// waiting messages are let through in the order they first asked.
func (l *limiter) try(key string, chatID int64) (release func(sent bool), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) >= min(l.idle, l.grace) {
		l.sweep(now)
	}
	c := l.chats[chatID]
	if c == nil {
		c = &chatState{slots: newSlots(l.perChat)}
		l.chats[chatID] = c
	}
	c.lastUsed = now
	ready := l.readyIn(c, now)

	if r, ok := l.reservations[key]; ok {
		switch {
		case r.chatID != chatID:
			// The chat moved (a group became a supergroup): the turn was
			// planned for another chat's queue.
			delete(l.reservations, key)
		case r.at.Sub(now) > earlyTolerance:
			return nil, r.at.Sub(now)
		case ready > 0:
			return nil, ready // keeps its reservation, and so its place
		default:
			delete(l.reservations, key)
			return l.take(c, now), 0
		}
	}

	// Nobody is waiting for this chat and there is room now: go.
	if ready == 0 && !c.next.After(now) && l.plan.hasRoom(l.plan.index(now)) {
		l.plan.book(l.plan.index(now))
		return l.take(c, now), 0
	}

	// Otherwise take the next turn of the chat in a window with room.
	at := now.Add(ready)
	if c.next.After(at) {
		at = c.next
	}
	w := l.plan.book(l.plan.index(at))
	// The previous window's sends, started at its start, hold their slots
	// until a latency (and a margin) into this one.
	if start := l.plan.start(w).Add(l.latency + turnMargin); start.After(at) {
		at = start
	}
	c.next = at.Add(l.spacing(c))
	l.reservations[key] = reservation{chatID: chatID, at: at}
	return nil, at.Sub(now)
}

// spacing is the time between two reserved turns of c: each of its n slots
// is held for a send's latency plus the hold time. Callers hold l.mu.
func (l *limiter) spacing(c *chatState) time.Duration {
	return (c.slots.hold + l.latency + turnMargin) / time.Duration(len(c.slots.slot))
}

// readyIn returns how long until a send to c could start as far as the
// pause, c's slots and the bot-wide slots are concerned. Callers hold l.mu.
func (l *limiter) readyIn(c *chatState, now time.Time) time.Duration {
	inFlight := l.latency + turnMargin
	return max(l.pausedUntil.Sub(now), c.slots.wait(now, inFlight), l.global.wait(now, inFlight), 0)
}

// take starts a send to c. Callers hold l.mu and checked readyIn.
func (l *limiter) take(c *chatState, now time.Time) func(sent bool) {
	ci, gi := c.slots.take(now), l.global.take(now)
	started := now
	return func(sent bool) {
		l.mu.Lock()
		defer l.mu.Unlock()
		// Held from the response on, see the comment at the top.
		now := l.now()
		c.slots.release(ci, sent, now)
		l.global.release(gi, sent, now)
		c.lastUsed = now
		if sent {
			l.latency += (max(now.Sub(started), 0) - l.latency) / 8
		}
	}
}

// sweep forgets expired reservations, idle chats and past windows. It runs
// at most once per min(idle, grace), so its cost is spread over all the
// sends in that period. Callers hold l.mu.
func (l *limiter) sweep(now time.Time) {
	for key, r := range l.reservations {
		if now.Sub(r.at) >= l.grace {
			delete(l.reservations, key)
		}
	}
	for id, c := range l.chats {
		if c.forgettable(now, l.idle) {
			delete(l.chats, id)
		}
	}
	l.plan.forgetBefore(l.plan.index(now))
	l.lastSweep = now
}

// wait blocks until the send identified by key may start, for callers that
// have nobody to defer to (Reply answers a user who just wrote to the bot).
// The caller must call release exactly once, as with try.
func (l *limiter) wait(ctx context.Context, key string, chatID int64) (release func(sent bool), err error) {
	for {
		release, d := l.try(key, chatID)
		if release != nil {
			return release, nil
		}
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// pause stops all sends for d. Telegram's retry_after is bot-wide in
// practice: hammering it with other chats only extends the penalty.
func (l *limiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

func (l *limiter) pausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil.Sub(l.now())
}

// size reports how many chats, reservations and planned windows the
// limiter remembers, for tests of its memory bound.
func (l *limiter) size() (chats, reservations, windows int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.chats), len(l.reservations), len(l.plan.count)
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
