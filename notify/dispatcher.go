package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pocketbase/pocketbase/core"
)

// dispatcher moves due messages from the outbox to their channels.
//
// One goroutine claims due rows (a lease per row), Workers goroutines
// render and send, and one goroutine writes outcomes back in batches. The
// claimer never holds more than 2×Workers messages, so a large backlog
// stays in the database, not in memory.
type dispatcher struct {
	p        *plugin
	wake     chan struct{} // a commit enqueued messages
	freed    chan struct{} // finalize made room for more
	inflight atomic.Int64
	done     chan struct{}
}

func newDispatcher(p *plugin) *dispatcher {
	return &dispatcher{
		p:     p,
		wake:  make(chan struct{}, 1),
		freed: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// Wake makes the dispatcher look for due messages now.
func (d *dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run blocks until stop is cancelled and every claimed message is finalized
// or released. Sends in flight at stop get ShutdownGrace to finish.
func (d *dispatcher) run(stop context.Context) {
	defer close(d.done)
	cfg := d.p.cfg

	// Sends outlive stop by the grace period, then are cancelled.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(stop))
	defer cancelSends()
	go func() {
		<-stop.Done()
		t := time.NewTimer(cfg.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelSends()
		case <-d.done:
		}
	}()

	jobs := make(chan claimed)
	results := make(chan outcome, cfg.Workers)
	var workers sync.WaitGroup
	for range cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for m := range jobs {
				results <- d.attempt(sendCtx, m)
			}
		}()
	}
	finalized := make(chan struct{})
	go func() {
		defer close(finalized)
		d.finalizeLoop(results)
	}()

	d.claimLoop(stop, jobs)
	close(jobs)
	workers.Wait()
	close(results)
	<-finalized
}

func (d *dispatcher) claimLoop(stop context.Context, jobs chan<- claimed) {
	cfg := d.p.cfg
	app := d.p.app
	maxInflight := int64(2 * cfg.Workers)
	for stop.Err() == nil {
		free := maxInflight - d.inflight.Load()
		if free <= 0 {
			select {
			case <-d.freed:
			case <-stop.Done():
			}
			continue
		}
		rows, err := claimDue(app, cfg.Now(), cfg.Lease, int(free))
		if err != nil {
			app.Logger().Error("notify: claim failed", "error", err)
			d.sleep(stop, time.Second)
			continue
		}
		if len(rows) == 0 {
			d.idle(stop)
			continue
		}
		d.inflight.Add(int64(len(rows)))
		for i, m := range rows {
			select {
			case jobs <- m:
			case <-stop.Done():
				d.release(rows[i:])
				return
			}
		}
	}
}

// idle waits for a wake-up, for the next scheduled message, or for the poll
// interval, whichever comes first.
func (d *dispatcher) idle(stop context.Context) {
	wait := d.p.cfg.PollInterval
	if next, err := nextDue(d.p.app); err == nil && !next.IsZero() {
		if until := next.Sub(d.p.cfg.Now()); until < wait {
			wait = max(until, 10*time.Millisecond)
		}
	}
	d.sleep(stop, wait)
}

func (d *dispatcher) sleep(stop context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-d.wake:
	case <-d.freed:
	case <-stop.Done():
	}
}

// release hands claimed but unsent messages back to the queue, without
// counting the attempt, so a restart sends them at once.
func (d *dispatcher) release(rows []claimed) {
	outs := make([]outcome, len(rows))
	now := d.p.cfg.Now()
	for i, m := range rows {
		outs[i] = outcome{msg: m, status: StatusQueued, runAt: now, refund: true, errText: "released at shutdown"}
	}
	if err := finalize(d.p.app, now, outs); err != nil {
		d.p.app.Logger().Error("notify: release at shutdown failed; the leases will expire", "error", err)
	}
	d.inflight.Add(-int64(len(rows)))
}

// finalizeLoop writes outcomes in batches: one transaction per burst
// instead of one per message.
func (d *dispatcher) finalizeLoop(results <-chan outcome) {
	const maxBatch = 256
	batch := make([]outcome, 0, maxBatch)
	for first := range results {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		if err := finalize(d.p.app, d.p.cfg.Now(), batch); err != nil {
			// The leases expire and the messages are retried: at-least-once.
			d.p.app.Logger().Error("notify: recording outcomes failed", "count", len(batch), "error", err)
		}
		d.inflight.Add(-int64(len(batch)))
		select {
		case d.freed <- struct{}{}:
		default:
		}
	}
}

// attempt renders and sends one claimed message and says what to record.
func (d *dispatcher) attempt(ctx context.Context, m claimed) outcome {
	p := d.p
	out := outcome{msg: m}
	now := p.cfg.Now()

	rule := p.rules.Load().ByID(m.RuleID)
	if m.RuleID != "" {
		switch {
		case rule == nil:
			return out.final(StatusCancelled, "the rule was deleted")
		case !rule.Active:
			return out.final(StatusCancelled, fmt.Sprintf("rule %q is disabled", rule.Name))
		}
		if rule.Guard != "" {
			if reason := p.guardFails(rule, m); reason != "" {
				return out.final(StatusCancelled, reason)
			}
		}
	}

	user, err := p.app.FindRecordById(p.cfg.UsersCollection, m.UserID)
	if err != nil {
		return out.final(StatusCancelled, "the recipient no longer exists")
	}

	chain := []string{m.Channel}
	if rule != nil && rule.Mode == ModeFirst {
		chain = fallbackChain(rule.Channels, m.Channel)
	}
	var skipped []string
	for i, ch := range chain {
		var res delivery
		if reason := p.turnedOff(user, ch, m.Category); reason != "" {
			res = delivery{channel: ch, err: channels.Skip(reason)}
		} else {
			res = p.deliver(ctx, ch, m, user)
		}
		if reason, ok := channels.SkipReason(res.err); ok && i < len(chain)-1 {
			skipped = append(skipped, ch+": "+reason)
			continue
		}
		return d.classify(out, res, skipped, now)
	}
	return out.final(StatusSkipped, "no channel to try")
}

// delivery is what happened on one channel.
type delivery struct {
	channel  string
	rendered *Rendered
	msg      *channels.Message
	provider string
	err      error
}

func (d *dispatcher) classify(out outcome, res delivery, skipped []string, now time.Time) outcome {
	cfg := d.p.cfg
	out.channel = res.channel
	if res.msg != nil {
		out.to = res.msg.To
		out.link = res.msg.PushURL
		out.subject, out.body, out.html = contentFor(res.msg, res.channel, out.msg.Channel)
	}
	prefix := ""
	if len(skipped) > 0 {
		prefix = "skipped " + strings.Join(skipped, "; ") + "; "
	}
	err := res.err
	switch {
	case err == nil:
		out.status = StatusSent
		out.provider = res.provider
		out.errText = strings.TrimSuffix(prefix, "; ")
	case isSkip(err):
		reason, _ := channels.SkipReason(err)
		out.status, out.errText = StatusSkipped, prefix+reason
	case channels.IsPermanent(err):
		out.status, out.errText = StatusFailed, prefix+err.Error()
	default:
		if after, ok := channels.RetryAfterDelay(err); ok {
			out.status, out.runAt, out.refund = StatusQueued, now.Add(after), true
			out.errText = prefix + err.Error()
			return out
		}
		if out.msg.Attempts >= cfg.MaxAttempts {
			out.status = StatusFailed
			out.errText = fmt.Sprintf("%sgave up after %d attempts: %v", prefix, out.msg.Attempts, err)
			return out
		}
		out.status, out.runAt = StatusQueued, now.Add(cfg.Backoff(out.msg.Attempts))
		out.errText = fmt.Sprintf("%sattempt %d: %v", prefix, out.msg.Attempts, err)
	}
	return out
}

func isSkip(err error) bool { _, ok := channels.SkipReason(err); return ok }

func (o outcome) final(status, reason string) outcome {
	o.status, o.errText = status, reason
	return o
}

// contentFor picks what the log (and the inbox) shows for a channel: the
// subject, the body and, for email, the HTML.
func contentFor(m *channels.Message, ch, fallback string) (subject, body, html string) {
	if ch == "" {
		ch = fallback
	}
	switch ch {
	case channels.Telegram:
		return m.Subject, m.Telegram, ""
	case channels.WebPush, channels.Inbox:
		return m.PushTitle, m.PushBody, ""
	}
	return m.Subject, m.Text, m.HTML
}

// fallbackChain returns the channels from start onwards, in rule order.
func fallbackChain(all []string, start string) []string {
	for i, ch := range all {
		if ch == start {
			return all[i:]
		}
	}
	return []string{start}
}

// guardFails re-checks the rule's guard against the current source record.
// It returns the cancellation reason, or "" when the message should go out.
func (p *plugin) guardFails(rule *Rule, m claimed) string {
	src, err := p.app.FindRecordById(m.SourceCollection, m.SourceRecord)
	if err != nil {
		return fmt.Sprintf("the %s record %s no longer exists", m.SourceCollection, m.SourceRecord)
	}
	ok, err := rule.GuardHolds(p.app, src)
	if err != nil {
		return fmt.Sprintf("guard %q is invalid: %v", rule.Guard, err)
	}
	if !ok {
		return fmt.Sprintf("guard no longer holds: %s", rule.Guard)
	}
	return ""
}

// deliver renders the message for one channel and sends it.
func (p *plugin) deliver(ctx context.Context, ch string, m claimed, user *core.Record) delivery {
	res := delivery{channel: ch}
	locale := user.GetString("locale")
	tpl, err := p.templates.Lookup(p.app, m.Template, locale, p.cfg.DefaultLocale)
	if errors.Is(err, render.ErrNoTemplate) {
		err = channels.Permanent(err)
	}
	if err != nil {
		res.err = err // a database error is retried
		return res
	}
	view, err := p.view(user, m.SourceCollection, m.SourceRecord, m.data(), tpl.Locale())
	if err != nil {
		res.err = err // a related record could not be read: retried
		return res
	}
	rendered, err := tpl.Render(view, ch)
	if err != nil {
		res.err = channels.Permanent(fmt.Errorf("template %q (%s): %w", tpl.Key(), tpl.Locale(), err))
		return res
	}
	res.rendered = rendered
	msg := &channels.Message{
		ID: m.ID, UserID: user.Id, Category: m.Category,
		Subject: rendered.Subject, Text: rendered.Text, HTML: rendered.HTML,
		Telegram:  rendered.Telegram,
		PushTitle: rendered.PushTitle, PushBody: rendered.PushBody,
		PushURL: rendered.PushURL,
		PushTag: m.SourceCollection + "-" + m.SourceRecord,
	}
	if msg.PushURL != "" && ch == channels.Telegram {
		msg.Buttons = []channels.Button{{Text: buttonLabel(tpl.Locale()), URL: msg.PushURL}}
	}
	res.msg = msg

	sender := p.senders[ch]
	if sender == nil {
		res.err = channels.Skip(fmt.Sprintf("the %s channel is not configured", ch))
		return res
	}
	if m.To != "" {
		msg.To = m.To // an explicit address (a test send)
	} else if addr := p.addresses[ch]; addr != nil {
		to, err := addr(user)
		if err != nil {
			res.err = err
			return res
		}
		msg.To = to
	}
	sendCtx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
	defer cancel()
	res.provider, res.err = sender.Send(sendCtx, msg)
	if res.err != nil && ctx.Err() != nil {
		// Shutdown cut the send short: hand the message back untouched.
		res.err = channels.RetryAfter(0, errors.New("interrupted by shutdown"))
	}
	return res
}

func buttonLabel(locale string) string {
	if locale == "ru" {
		return "Открыть"
	}
	return "Open"
}

// Backoff is River's retry policy: attempt⁴ seconds with ±10% jitter, so
// retries of many messages after an outage spread out instead of stampeding.
// Attempt 1 waits about 1 s, 5 about 10 min, 10 about 2.8 h.
func Backoff(attempt int) time.Duration {
	base := math.Pow(float64(attempt), 4)
	jitter := base * 0.1 * (rand.Float64()*2 - 1)
	return time.Duration((base + jitter) * float64(time.Second))
}
