package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Defaults of Config, named so the README and the plugin can quote them.
const (
	DefaultWorkers       = 4
	DefaultLease         = 2 * time.Minute
	DefaultPollInterval  = 5 * time.Second
	DefaultShutdownGrace = 10 * time.Second
	DefaultMaxAttempts   = 10
)

// Deliver works one claimed message and says what happened. It owns its
// work and knows nothing of the queue: no retries, no bookkeeping. ctx is
// cancelled when shutdown's grace period is over.
type Deliver func(ctx context.Context, job Job) Outcome

// Lane is a channel with workers of its own: a slow or rate-limited provider
// holds only its own lane.
type Lane struct {
	Channel string
	Workers int
}

// Config of a Dispatcher.
type Config struct {
	// Lanes are the channels with their worker counts. Messages on channels
	// not listed share one more lane of OtherWorkers.
	Lanes []Lane

	// OtherWorkers works the messages on channels without a lane of their
	// own. Default: DefaultWorkers.
	OtherWorkers int

	// Lease is how long a claim is reserved without renewal. Work in flight
	// is renewed every Lease/3, so a lease only lapses when its process
	// died; then the message is claimed again. Default: DefaultLease.
	Lease time.Duration

	// PollInterval is the longest the dispatcher sleeps without being woken.
	// Default: DefaultPollInterval.
	PollInterval time.Duration

	// ShutdownGrace is how long sends in flight may finish after Run's
	// context is cancelled before their contexts are cancelled too.
	// Default: DefaultShutdownGrace.
	ShutdownGrace time.Duration

	// Retry turns transient errors into retries and gives up after
	// MaxAttempts. Default: DefaultMaxAttempts attempts with Backoff.
	Retry RetryPolicy

	// Now is the clock for every decision (due, lease, backoff). Default:
	// time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.OtherWorkers <= 0 {
		c.OtherWorkers = DefaultWorkers
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Retry.MaxAttempts <= 0 {
		c.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if c.Retry.Backoff == nil {
		c.Retry.Backoff = Backoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Lease < 3*time.Second {
		return c, fmt.Errorf("lease %s is too short: renewals every lease/3 need at least 3s", c.Lease)
	}
	seen := map[string]bool{}
	for _, l := range c.Lanes {
		switch {
		case l.Channel == "":
			return c, errors.New("a lane needs a channel name")
		case seen[l.Channel]:
			return c, fmt.Errorf("channel %q has two lanes", l.Channel)
		case l.Workers <= 0:
			return c, fmt.Errorf("lane %q needs at least one worker", l.Channel)
		}
		seen[l.Channel] = true
	}
	return c, nil
}

// minQueue is the least number of claimed messages a lane keeps waiting
// for its workers (see capacity).
const minQueue = 32

// finalizeLinger is how long a delivered message's outcome may wait for
// others to be written with it.
const finalizeLinger = 3 * time.Millisecond

// otherLaneInterval is how often the lane of unregistered channels is
// looked at: its rows are leftovers of a channel taken out of the
// configuration, and looking costs a scan of the queue.
const otherLaneInterval = time.Minute

// Dispatcher moves due messages from the outbox to Deliver and records the
// outcomes.
type Dispatcher struct {
	app     core.App
	cfg     Config
	deliver Deliver
	lanes   []*laneState
	byName  map[string]*laneState
	other   *laneState
	wake    chan struct{}
	running atomic.Bool

	mu      sync.Mutex // guards what Wake and Notify leave for the loop
	wakeAll bool
	hints   map[string]time.Time
}

// laneState is a lane while the dispatcher runs.
type laneState struct {
	lane
	workers int
	jobs    chan Job // claimed, waiting for a worker; never more than 2×workers
	held    int      // claimed and not yet delivered; owned by the loop
	// checkAt is when the lane may next have due messages; zero means "look
	// now". A lane that was drained is not claimed from again (a write, on
	// SQLite's one writer) until then, or until a commit wakes the
	// dispatcher, or the poll interval passes.
	checkAt  time.Time
	pollOnly bool // looked at every otherLaneInterval only
	// scan says the lane may hold rows this process was not told about (at
	// start, at a poll, after a plain Wake): a claim that drains it is
	// followed by asking the database when the next one is due.
	scan bool
	// hint is the earliest future runAt this process was told about and
	// has not claimed yet; zero when none.
	hint time.Time

	// The lane's statements, prepared once per Run: SQLite's parser is a
	// large part of a small statement's cost.
	claimQ, nextDueQ *dbx.Query
}

// due reports whether the lane should be claimed from at now.
func (l *laneState) due(now time.Time) bool { return l.checkAt.IsZero() || !now.Before(l.checkAt) }

// tell makes the lane look for due messages by at, at the latest.
func (l *laneState) tell(at, now time.Time) {
	if !at.After(now) {
		l.checkAt = time.Time{}
		return
	}
	if l.hint.IsZero() || at.Before(l.hint) {
		l.hint = at
	}
	if !l.checkAt.IsZero() && at.Before(l.checkAt) {
		l.checkAt = at
	}
}

// after returns when the lane should look next, at now with nothing known
// to be due: at its earliest hint, else after poll.
func (l *laneState) after(now time.Time, poll time.Duration) time.Time {
	if !l.hint.IsZero() && !l.hint.After(now) {
		l.hint = time.Time{} // claimed by now, or gone
	}
	if !l.hint.IsZero() && l.hint.Before(now.Add(poll)) {
		return l.hint
	}
	return now.Add(poll)
}

// rescan makes the lane look now, and ask the database what else is due.
func (l *laneState) rescan() {
	if !l.pollOnly {
		l.checkAt, l.scan = time.Time{}, true
	}
}

// capacity is how many messages a lane holds at most: its workers' and a
// queue of claimed ones waiting for a worker, so a worker never waits for a
// claim. The queue is deep because a claim is a write, and under load a
// write waits its turn behind the order writes on SQLite's one writer:
// fetching many at a time keeps the lane fed (their leases are renewed
// while they wait, so waiting costs nothing).
func (l *laneState) capacity() int { return l.workers + max(l.workers, minQueue) }

// refill is how many free places make a lane claim again: claims come in
// batches (one write instead of one per message), while the rest of the
// queue keeps the workers busy.
func (l *laneState) refill() int { return max(1, l.capacity()/2) }

// New returns a dispatcher over app's outbox.
func New(app core.App, cfg Config, deliver Deliver) (*Dispatcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	d := &Dispatcher{app: app, cfg: cfg, deliver: deliver, byName: map[string]*laneState{}, wake: make(chan struct{}, 1)}
	var named []string
	for _, l := range cfg.Lanes {
		ls := &laneState{lane: lane{channel: l.Channel}, workers: l.Workers}
		d.lanes = append(d.lanes, ls)
		d.byName[l.Channel] = ls
		named = append(named, l.Channel)
	}
	// The other lane serves rows of channels nobody registered (a channel
	// removed from the configuration): rare, and its claim cannot use the
	// lane index, so it is looked at once a minute (see otherLaneInterval).
	d.other = &laneState{lane: lane{except: named}, workers: cfg.OtherWorkers, pollOnly: len(named) > 0}
	d.lanes = append(d.lanes, d.other)
	return d, nil
}

// Wake makes the dispatcher look for due messages on every lane now. It
// never blocks and is safe to call at any time, running or not.
func (d *Dispatcher) Wake() {
	d.mu.Lock()
	d.wakeAll = true
	d.mu.Unlock()
	d.poke()
}

// Notify tells the dispatcher that messages were committed on these
// channels, due at these times: only their lanes look, and a lane knows
// when its next message is due without asking the database. Like Wake, it
// never blocks.
func (d *Dispatcher) Notify(due map[string]time.Time) {
	d.mu.Lock()
	if d.hints == nil {
		d.hints = map[string]time.Time{}
	}
	for ch, at := range due {
		if cur, ok := d.hints[ch]; !ok || at.Before(cur) {
			d.hints[ch] = at
		}
	}
	d.mu.Unlock()
	d.poke()
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// woken applies what Wake and Notify said since the last time.
func (d *Dispatcher) woken(now time.Time) {
	d.mu.Lock()
	all, hints := d.wakeAll, d.hints
	d.wakeAll, d.hints = false, nil
	d.mu.Unlock()
	if all {
		for _, l := range d.lanes {
			l.rescan()
		}
	}
	for ch, at := range hints {
		d.laneOf(ch).tell(at, now)
	}
}

func (d *Dispatcher) laneOf(channel string) *laneState {
	if l := d.byName[channel]; l != nil {
		return l
	}
	return d.other
}

// attempt delivers one job and resolves its outcome.
func (d *Dispatcher) attempt(ctx context.Context, j Job, released func() bool) (out Outcome) {
	if released() {
		// Claimed just before shutdown and never started: hand it back
		// untouched, so a restart sends it at once.
		out = Outcome{Status: StatusQueued, Refund: true, Err: errors.New("released at shutdown")}
	} else {
		out = d.deliver(ctx, j)
		if ctx.Err() != nil && out.Status != StatusSent && out.Err != nil {
			// Shutdown cut the send short; whether the provider took it is
			// unknown, so it is tried again (at least once).
			out = Outcome{Status: StatusQueued, Refund: true, Err: fmt.Errorf("%w: %v", errShutdown, out.Err)}
		}
	}
	out.Job = j
	return d.cfg.Retry.resolve(out, d.cfg.Now())
}

// Run works the outbox until stop is cancelled and every claimed message is
// finalized. Sends in flight at stop get ShutdownGrace to finish; then
// their contexts are cancelled. Run must not be called twice at once.
func (d *Dispatcher) Run(stop context.Context) {
	if !d.running.CompareAndSwap(false, true) {
		panic("outbox: Dispatcher.Run called twice")
	}
	defer d.running.Store(false)
	cfg := d.cfg
	log := d.app.Logger()

	sendCtx, cancelSends := context.WithCancel(context.Background())
	defer cancelSends()
	var stopping atomic.Bool
	results := make(chan Outcome, 64)
	var workers sync.WaitGroup
	for _, l := range d.lanes {
		l.jobs = make(chan Job, l.capacity())
		l.held = 0
		l.checkAt, l.scan, l.hint = time.Time{}, true, time.Time{}
		l.claimQ = d.app.NonconcurrentDB().NewQuery(claimSQL(l.lane)).Prepare()
		l.nextDueQ = d.app.DB().NewQuery(nextDueSQL(l.lane)).Prepare()
		for range l.workers {
			workers.Add(1)
			go func(jobs <-chan Job) {
				defer workers.Done()
				for j := range jobs {
					results <- d.attempt(sendCtx, j, stopping.Load)
				}
			}(l.jobs)
		}
	}
	defer func() {
		for _, l := range d.lanes {
			close(l.jobs)
		}
		workers.Wait()
		for _, l := range d.lanes {
			l.claimQ.Close()
			l.nextDueQ.Close()
		}
	}()

	inflight := map[string]Job{} // claimed and not yet finalized
	var pending []Outcome        // delivered, not yet written
	renewEvery := cfg.Lease / 3
	lastRenew := cfg.Now()
	lastPoll := time.Now() // the poll is a safety net on the wall clock
	timer := time.NewTimer(0)
	defer timer.Stop()
	stopC := stop.Done()
	var graceC, giveUpC <-chan time.Time

	var firstPending time.Time // when the oldest unwritten outcome arrived
	failing := false           // the last write of outcomes failed
	received := func(o Outcome) {
		if len(pending) == 0 {
			firstPending = time.Now()
		}
		pending = append(pending, o)
		d.laneOf(o.Job.Channel).held--
	}
	mine := func() []string {
		ids := make([]string, 0, len(inflight))
		for id := range inflight {
			ids = append(ids, id)
		}
		return ids
	}

	for {
	drain:
		for {
			select {
			case o := <-results:
				received(o)
			default:
				break drain
			}
		}

		wait := cfg.PollInterval
		// While more outcomes are on their way, the first one waits a
		// moment for them: the messages of one order, sent on several
		// lanes at once, are written in one transaction instead of one each.
		linger := finalizeLinger - time.Since(firstPending)
		if len(pending) > 0 && len(pending) < len(inflight) && linger > 0 && !failing && !stopping.Load() {
			wait = linger
		} else if len(pending) > 0 {
			// Outcomes are written before anything new is claimed: if they
			// cannot be (disk full), nothing more is sent until they are,
			// and the renewed leases keep the rows from being sent again.
			if _, err := Finalize(d.app, cfg.Now(), pending); err != nil {
				log.Error("notify: recording outcomes failed; retrying", "count", len(pending), "error", err)
				wait = min(time.Second, cfg.PollInterval)
				failing = true
			} else {
				failing = false
				for _, o := range pending {
					delete(inflight, o.Job.ID)
					if o.Status == StatusQueued { // a retry, a snooze or a move
						ch := o.Job.Channel
						if o.Channel != "" {
							ch = o.Channel
						}
						d.laneOf(ch).tell(o.RunAt, cfg.Now())
					}
				}
				pending = pending[:0]
			}
		}

		if stopping.Load() && len(inflight) == 0 {
			return
		}

		// Leases are renewed by the clock, before anything is claimed: work
		// in flight (a slow SMTP server, a worker still busy) never lapses
		// while this process lives.
		if now := cfg.Now(); len(inflight) > 0 && now.Sub(lastRenew) >= renewEvery {
			held := make([]Job, 0, len(inflight))
			for _, j := range inflight {
				held = append(held, j)
			}
			if err := renew(d.app, held, now.Add(cfg.Lease)); err != nil {
				log.Error("notify: renewing leases failed", "count", len(held), "error", err)
			} else {
				lastRenew = now
			}
		} else if len(inflight) == 0 {
			lastRenew = now
		}

		if time.Since(lastPoll) >= cfg.PollInterval {
			lastPoll = time.Now()
			for _, l := range d.lanes {
				l.rescan()
			}
		}
		if !stopping.Load() && !failing {
			now := cfg.Now()
			for _, l := range d.lanes {
				free := l.capacity() - l.held
				if free < l.refill() {
					continue
				}
				if !l.due(now) {
					// A floor keeps a clock that disagrees with the rows'
					// times from spinning the loop.
					wait = min(wait, max(l.checkAt.Sub(now), 10*time.Millisecond))
					continue
				}
				if l.scan {
					// The lane may hold rows this process was not told
					// about. Ask first, with a read, and claim (a write)
					// only if one is due: an idle poll costs a read a lane.
					l.scan = false
					next, ok, err := nextDue(l.nextDueQ, l.lane, mine())
					if err != nil {
						log.Error("notify: reading the next due message failed", "error", err)
						wait = min(time.Second, cfg.PollInterval)
						l.scan = true
						continue
					}
					if !ok || next.After(now) {
						l.checkAt = l.after(now, cfg.PollInterval)
						if ok && next.Before(l.checkAt) {
							l.checkAt = next
						}
						wait = min(wait, max(l.checkAt.Sub(now), 10*time.Millisecond))
						continue
					}
					// Due rows were found; what comes after them is not
					// known until the lane is drained: ask again then.
					l.scan = true
				}
				jobs, err := claim(l.claimQ, l.lane, now, cfg.Lease, free, mine())
				if err != nil {
					log.Error("notify: claiming messages failed", "error", err)
					wait = min(time.Second, cfg.PollInterval)
					continue
				}
				for _, j := range jobs {
					inflight[j.ID] = j
					l.held++
					l.jobs <- j // never blocks: held <= capacity
				}
				if len(jobs) == free {
					l.checkAt = time.Time{}
					continue // there may be more: look again when workers free
				}
				// Drained. What comes next is known from what this process
				// was told, or, after a scan, from the database.
				l.checkAt = l.after(now, cfg.PollInterval)
				if l.scan {
					l.scan = false
					next, ok, err := nextDue(l.nextDueQ, l.lane, mine())
					switch {
					case err != nil:
						log.Error("notify: reading the next due message failed", "error", err)
						wait = min(time.Second, cfg.PollInterval)
					case ok && next.Before(l.checkAt):
						l.checkAt = next
					}
				}
				wait = min(wait, max(l.checkAt.Sub(now), 10*time.Millisecond))
				if l.pollOnly {
					l.checkAt = now.Add(max(cfg.PollInterval, otherLaneInterval))
				}
			}
		}

		if len(inflight) > 0 {
			wait = min(wait, renewEvery)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case o := <-results:
			received(o)
		case <-d.wake:
			d.woken(cfg.Now())
		case <-timer.C:
		case <-stopC:
			stopC = nil
			stopping.Store(true)
			graceC = time.After(cfg.ShutdownGrace)
		case <-graceC:
			graceC = nil
			cancelSends()
			// Outcomes that still cannot be written are left to their
			// leases, which expire and send them again: at least once.
			giveUpC = time.After(cfg.ShutdownGrace)
		case <-giveUpC:
			log.Error("notify: shutting down with outcomes unrecorded; their messages will be retried", "count", len(inflight))
			return
		}
	}
}

// Work claims every due message of every lane, delivers them one after
// another and finalizes them, as Run would, until nothing is due; it returns
// how many attempts it made. It is the synchronous form for tests and for
// tools: pair it with a moved Config.Now.
func (d *Dispatcher) Work(ctx context.Context) (int, error) {
	total := 0
	never := func() bool { return false }
	// Bounded: a message re-queued for "now" on every pass would loop forever.
	for range 100 {
		n := 0
		for _, l := range d.lanes {
			jobs, err := claim(d.app.NonconcurrentDB().NewQuery(claimSQL(l.lane)), l.lane, d.cfg.Now(), d.cfg.Lease, 1000, nil)
			if err != nil {
				return total, err
			}
			outs := make([]Outcome, len(jobs))
			for i, j := range jobs {
				outs[i] = d.attempt(ctx, j, never)
			}
			if _, err := Finalize(d.app, d.cfg.Now(), outs); err != nil {
				return total, err
			}
			n += len(jobs)
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}
