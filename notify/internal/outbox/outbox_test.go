package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/internal/fakeclock"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// clock is a fake clock that tests move by hand.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)) }

// newApp is a PocketBase app in a temp dir with the outbox collection.
func newApp(t *testing.T) *tests.TestApp {
	t.Helper()
	app, users := pbtest.NewApp(t)
	rules := core.NewBaseCollection("notifyRules")
	pbtest.MustSave(t, app, rules)
	pbtest.MustSave(t, app, outbox.NewCollection(users.Id, rules.Id, []string{"email", "telegram", "webpush", "inbox", "sms"}))
	return app
}

func enqueue(t *testing.T, app core.App, now time.Time, msgs ...outbox.Message) {
	t.Helper()
	for i := range msgs {
		if msgs[i].DedupeKey == "" {
			msgs[i].DedupeKey = core.GenerateDefaultRandomId()
		}
		if msgs[i].RunAt.IsZero() {
			msgs[i].RunAt = now
		}
	}
	n, err := outbox.Insert(app, msgs, now)
	if err != nil || n != len(msgs) {
		t.Fatalf("Insert(%d messages) = %d, %v; want %d, nil", len(msgs), n, err, len(msgs))
	}
}

type row struct {
	ID         string `db:"id"`
	Channel    string `db:"channel"`
	Status     string `db:"status"`
	Attempts   int    `db:"attempts"`
	RunAt      string `db:"runAt"`
	LeaseUntil string `db:"leaseUntil"`
	Error      string `db:"error"`
	ProviderID string `db:"providerId"`
	To         string `db:"to"`
	Subject    string `db:"subject"`
	SentAt     string `db:"sentAt"`
	DedupeKey  string `db:"dedupeKey"`
}

func rows(t *testing.T, app core.App) []row {
	t.Helper()
	var out []row
	err := app.DB().NewQuery("SELECT id, channel, status, attempts, runAt, leaseUntil, error, providerId, [[to]], subject, sentAt, dedupeKey FROM notifyMessages ORDER BY dedupeKey").All(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dispatcher(t *testing.T, app core.App, c *clock, deliver outbox.Deliver, lanes ...outbox.Lane) *outbox.Dispatcher {
	t.Helper()
	d, err := outbox.New(app, outbox.Config{
		Lanes: lanes,
		Now:   c.Now,
		Lease: time.Minute,
		Retry: outbox.RetryPolicy{MaxAttempts: 3, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute }},
	}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWorkRecordsEachKindOfOutcome(t *testing.T) {
	app := newApp(t)
	c := newClock()
	enqueue(t, app, c.Now(),
		outbox.Message{Channel: "email", DedupeKey: "1 sent"},
		outbox.Message{Channel: "email", DedupeKey: "2 skipped"},
		outbox.Message{Channel: "email", DedupeKey: "3 permanent"},
		outbox.Message{Channel: "email", DedupeKey: "4 transient"},
		outbox.Message{Channel: "email", DedupeKey: "5 retry after"},
		outbox.Message{Channel: "email", DedupeKey: "6 cancelled"},
	)
	byKey := map[string]string{}
	for _, r := range rows(t, app) {
		byKey[r.ID] = r.DedupeKey
	}
	deliver := func(ctx context.Context, j outbox.Job) outbox.Outcome {
		switch byKey[j.ID] {
		case "1 sent":
			return outbox.Sent("<id@shop>", &outbox.Content{To: "a@example.org", Subject: "Hello"})
		case "2 skipped":
			return outbox.Retry(channels.Skip("no address"))
		case "3 permanent":
			return outbox.Retry(channels.Permanent(errors.New("550 mailbox unavailable")))
		case "4 transient":
			return outbox.Retry(errors.New("database is locked"))
		case "5 retry after":
			return outbox.Retry(channels.RetryAfter(30*time.Second, errors.New("429")))
		default:
			return outbox.Cancelled("the guard no longer holds")
		}
	}
	d := dispatcher(t, app, c, deliver, outbox.Lane{Channel: "email", Workers: 1})
	if n, err := d.Work(context.Background()); n != 6 || err != nil {
		t.Fatalf("Work() = %d, %v; want 6, nil", n, err)
	}
	now := outbox.DBTime(c.Now())
	want := []struct {
		key      string
		status   string
		attempts int
		runAt    string
		errText  string
	}{
		{"1 sent", "sent", 1, now, ""},
		{"2 skipped", "skipped", 1, now, "no address"},
		{"3 permanent", "failed", 1, now, "550 mailbox unavailable"},
		{"4 transient", "queued", 1, outbox.DBTime(c.Now().Add(time.Minute)), "attempt 1: database is locked"},
		{"5 retry after", "queued", 0, outbox.DBTime(c.Now().Add(30 * time.Second)), "429 (retry after 30s)"},
		{"6 cancelled", "cancelled", 1, now, "the guard no longer holds"},
	}
	got := rows(t, app)
	for i, w := range want {
		g := got[i]
		if g.DedupeKey != w.key || g.Status != w.status || g.Attempts != w.attempts || g.RunAt != w.runAt || g.Error != w.errText || g.LeaseUntil != "" {
			t.Errorf("row %q = %s attempts=%d runAt=%s error=%q lease=%q; want %s attempts=%d runAt=%s error=%q lease empty",
				g.DedupeKey, g.Status, g.Attempts, g.RunAt, g.Error, g.LeaseUntil, w.status, w.attempts, w.runAt, w.errText)
		}
	}
	if s := got[0]; s.ProviderID != "<id@shop>" || s.To != "a@example.org" || s.Subject != "Hello" || s.SentAt != now {
		t.Errorf("sent row = %+v; want provider, to, subject and sentAt recorded", s)
	}

	// The transient failure runs out of attempts: failed, saying why.
	for range 2 {
		c.Advance(time.Hour)
		if _, err := d.Work(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if g := rows(t, app)[3]; g.Status != "failed" || g.Attempts != 3 || g.Error != "gave up after 3 attempts: database is locked" {
		t.Errorf("after 3 attempts: %s attempts=%d error=%q; want failed, 3, gave up", g.Status, g.Attempts, g.Error)
	}
}

func TestNextDueWithNothingQueued(t *testing.T) {
	// MIN() over no rows is NULL; it used to be scanned into a string, the
	// error was ignored and delays fell back to the 5 s poll.
	app := newApp(t)
	c := newClock()
	next, ok, err := outbox.NextDueForTest(app)
	if err != nil || ok {
		t.Fatalf("nextDue(empty) = %v, %v, %v; want no time and no error", next, ok, err)
	}
	enqueue(t, app, c.Now(), outbox.Message{Channel: "email", RunAt: c.Now().Add(3 * time.Second)})
	next, ok, err = outbox.NextDueForTest(app)
	if err != nil || !ok || !next.Equal(c.Now().Add(3*time.Second)) {
		t.Fatalf("nextDue = %v, %v, %v; want %v", next, ok, err, c.Now().Add(3*time.Second))
	}
}

// run starts d in the background and returns a func that stops it and
// waits for it to return.
func run(t *testing.T, d *outbox.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls cond until it holds; a guard against hanging, not a
// timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDelayFiresWhenDue(t *testing.T) {
	// Real clock on purpose: the dispatcher must set its timer from the next
	// due message, not fall back to the poll interval (an hour here).
	app := newApp(t)
	delivered := make(chan string, 1)
	d, err := outbox.New(app, outbox.Config{PollInterval: time.Hour}, func(ctx context.Context, j outbox.Job) outbox.Outcome {
		delivered <- j.ID
		return outbox.Sent("", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, d)
	eventually(t, "the dispatcher to go idle", func() bool { return true })
	enqueue(t, app, time.Now(), outbox.Message{Channel: "email", RunAt: time.Now().Add(150 * time.Millisecond)})
	d.Wake()
	select {
	case <-delivered:
	case <-time.After(20 * time.Second):
		t.Fatal("a message due in 150ms was not delivered (the dispatcher waited for its poll interval)")
	}
}

func TestSlowSendIsNeverClaimedTwice(t *testing.T) {
	// 80 messages on one slow lane: the ones being sent and the ones waiting
	// for a worker all outlive the lease. Another process (a second
	// dispatcher on the same database) must not take any of them.
	app := newApp(t)
	c := newClock()
	const total = 80
	var msgs []outbox.Message
	for i := range total {
		msgs = append(msgs, outbox.Message{Channel: "email", DedupeKey: fmt.Sprint(i)})
	}
	enqueue(t, app, c.Now(), msgs...)

	release := make(chan struct{})
	var calls sync.Map
	var delivered atomic.Int32
	deliver := func(slow bool) outbox.Deliver {
		return func(ctx context.Context, j outbox.Job) outbox.Outcome {
			if _, dup := calls.LoadOrStore(j.ID, true); dup {
				t.Errorf("message %s delivered twice", j.ID)
			}
			if slow {
				select {
				case <-release:
				case <-ctx.Done():
					return outbox.Retry(ctx.Err())
				}
			}
			delivered.Add(1)
			return outbox.Sent("", nil)
		}
	}
	a := dispatcher(t, app, c, deliver(true), outbox.Lane{Channel: "email", Workers: 4})
	b := dispatcher(t, app, c, deliver(false), outbox.Lane{Channel: "email", Workers: 4})
	run(t, a)
	eventually(t, "the first dispatcher to claim more than its 4 workers take", func() bool { return count(t, app, "status = 'sending'") > 4 })
	held := count(t, app, "status = 'sending'")
	if held == total {
		t.Fatalf("the first dispatcher claimed all %d messages; want some left for the second", total)
	}

	for range 5 { // five leases, in steps shorter than a lease
		c.Advance(40 * time.Second)
		before := leaseOf(t, app)
		a.Wake()
		eventually(t, "the leases to be renewed", func() bool { return leaseOf(t, app) > before })
	}
	if n, err := b.Work(context.Background()); n != total-held || err != nil {
		// b may take those still queued, never those a holds.
		t.Fatalf("second dispatcher worked %d, %v; want the %d unclaimed", n, err, total-held)
	}
	close(release)
	eventually(t, "all sent", func() bool { return count(t, app, "status = 'sent'") == total })
	if n := delivered.Load(); n != total {
		t.Fatalf("%d deliveries for %d messages", n, total)
	}
}

func count(t *testing.T, app core.App, where string) int {
	t.Helper()
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM notifyMessages WHERE " + where).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// leaseOf is the earliest lease of a message in flight.
func leaseOf(t *testing.T, app core.App) string {
	t.Helper()
	var s string
	if err := app.DB().NewQuery("SELECT COALESCE(MIN(leaseUntil), '') FROM notifyMessages WHERE status = 'sending'").Row(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSlowChannelHoldsOnlyItsLane(t *testing.T) {
	app := newApp(t)
	c := newClock()
	var msgs []outbox.Message
	for i := range 20 {
		msgs = append(msgs, outbox.Message{Channel: "email", DedupeKey: fmt.Sprint("email", i)})
	}
	msgs = append(msgs, outbox.Message{Channel: "inbox", DedupeKey: "inbox"}, outbox.Message{Channel: "sms", DedupeKey: "sms"})
	enqueue(t, app, c.Now(), msgs...)
	stuck := make(chan struct{})
	defer close(stuck)
	d := dispatcher(t, app, c, func(ctx context.Context, j outbox.Job) outbox.Outcome {
		if j.Channel == "email" {
			select { // a mail server that never answers
			case <-stuck:
			case <-ctx.Done():
				return outbox.Retry(ctx.Err())
			}
		}
		return outbox.Sent("", nil)
	}, outbox.Lane{Channel: "email", Workers: 4}, outbox.Lane{Channel: "inbox", Workers: 1})
	run(t, d)
	eventually(t, "inbox and sms (the other lane) delivered while email hangs", func() bool {
		return count(t, app, "status = 'sent' AND channel IN ('inbox', 'sms')") == 2
	})
}

func TestOutcomesThatCannotBeWrittenAreNotSentAgain(t *testing.T) {
	// Disk full while recording "sent": the outcome is kept and written once
	// the database accepts it; the message is not delivered a second time
	// meanwhile, however long it takes.
	app := newApp(t)
	c := newClock()
	enqueue(t, app, c.Now(), outbox.Message{Channel: "email"})
	exec(t, app, `CREATE TRIGGER disk_full BEFORE UPDATE OF status ON notifyMessages WHEN NEW.status = 'sent'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
	var deliveries atomic.Int32
	d := dispatcher(t, app, c, func(ctx context.Context, j outbox.Job) outbox.Outcome {
		deliveries.Add(1)
		return outbox.Sent("", nil)
	}, outbox.Lane{Channel: "email", Workers: 1})
	run(t, d)
	eventually(t, "the first delivery", func() bool { return deliveries.Load() == 1 })
	for range 6 { // three minutes: past the lease
		c.Advance(30 * time.Second)
		d.Wake()
	}
	exec(t, app, `DROP TRIGGER disk_full`)
	d.Wake()
	eventually(t, "the outcome to be written", func() bool { return count(t, app, "status = 'sent'") == 1 })
	if n := deliveries.Load(); n != 1 {
		t.Fatalf("delivered %d times; want once", n)
	}
}

func exec(t *testing.T, app core.App, sql string) {
	t.Helper()
	if _, err := app.NonconcurrentDB().NewQuery(sql).Execute(); err != nil {
		t.Fatal(err)
	}
}

func TestStaleOutcomeIsDropped(t *testing.T) {
	app := newApp(t)
	c := newClock()
	enqueue(t, app, c.Now(), outbox.Message{Channel: "email"})
	r := rows(t, app)[0]
	// Attempt 1 claimed, then (its lease expired) attempt 2.
	exec(t, app, "UPDATE notifyMessages SET status = 'sending', attempts = 2 WHERE id = '"+r.ID+"'")
	stale := outbox.Sent("stale", nil)
	stale.Job = outbox.Job{ID: r.ID, Attempt: 1}
	changed, err := outbox.Finalize(app, c.Now(), []outbox.Outcome{stale})
	if err != nil || len(changed) != 0 {
		t.Fatalf("Finalize(stale) changed %v, %v; want nothing", changed, err)
	}
	if g := rows(t, app)[0]; g.Status != "sending" || g.ProviderID != "" {
		t.Fatalf("row after a stale outcome = %+v; want untouched", g)
	}
}

// A customer deleted while their message was being sent: the delete
// emptied the row's recipient and personal data, and the send's outcome
// records its status without writing them back.
func TestOutcomeKeepsADeletedRecipientForgotten(t *testing.T) {
	app := newApp(t)
	c := newClock()
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	anna := core.NewRecord(users)
	anna.SetEmail("anna@example.org")
	anna.SetPassword("password123")
	pbtest.MustSave(t, app, anna)
	enqueue(t, app, c.Now(), outbox.Message{Channel: "email", User: anna.Id}, outbox.Message{Channel: "inbox", User: anna.Id})
	rs := rows(t, app)
	exec(t, app, "UPDATE notifyMessages SET status = 'sending', attempts = 1")
	exec(t, app, "UPDATE notifyMessages SET user = '' WHERE id = '"+rs[0].ID+"'") // what deleting anna does
	content := &outbox.Content{To: "anna@example.org", Subject: "Your order", Body: "Hello Anna"}
	var outs []outbox.Outcome
	for _, r := range rs {
		o := outbox.Sent("p1", content)
		o.Job = outbox.Job{ID: r.ID, Attempt: 1, User: anna.Id}
		outs = append(outs, o)
	}
	if _, err := outbox.Finalize(app, c.Now(), outs); err != nil {
		t.Fatal(err)
	}
	for _, g := range rows(t, app) {
		forgotten := g.ID == rs[0].ID
		switch {
		case g.Status != "sent":
			t.Errorf("row %s status %q; want sent", g.ID, g.Status)
		case forgotten && (g.To != "" || g.Subject != ""):
			t.Errorf("the deleted customer's row got to=%q subject=%q back; want them empty", g.To, g.Subject)
		case !forgotten && (g.To != "anna@example.org" || g.Subject != "Your order"):
			t.Errorf("a kept customer's row has to=%q subject=%q; want what was sent", g.To, g.Subject)
		}
	}
}

func TestMoveToAnotherChannel(t *testing.T) {
	app := newApp(t)
	c := newClock()
	enqueue(t, app, c.Now(), outbox.Message{Channel: "telegram"})
	d := dispatcher(t, app, c, func(ctx context.Context, j outbox.Job) outbox.Outcome {
		if j.Channel == "telegram" {
			return outbox.Move("email", "skipped telegram: not linked")
		}
		out := outbox.Sent("ok", nil)
		out.Note = j.Error // the pipeline keeps the note of the move
		return out
	}, outbox.Lane{Channel: "email", Workers: 1}, outbox.Lane{Channel: "telegram", Workers: 1})
	if _, err := d.Work(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := rows(t, app)[0]
	if g.Channel != "email" || g.Status != "sent" || g.Attempts != 1 || g.Error != "skipped telegram: not linked" {
		t.Fatalf("moved message = %s %s attempts=%d error=%q; want email sent after 1 attempt with the note", g.Channel, g.Status, g.Attempts, g.Error)
	}
}

func TestShutdownReleasesWhatItCannotFinish(t *testing.T) {
	app := newApp(t)
	c := newClock()
	enqueue(t, app, c.Now(), outbox.Message{Channel: "email", DedupeKey: "a"}, outbox.Message{Channel: "email", DedupeKey: "b"})
	started := make(chan struct{}, 2)
	d, err := outbox.New(app, outbox.Config{
		Lanes: []outbox.Lane{{Channel: "email", Workers: 1}}, Now: c.Now, ShutdownGrace: 50 * time.Millisecond,
	}, func(ctx context.Context, j outbox.Job) outbox.Outcome {
		started <- struct{}{}
		<-ctx.Done() // a server that never answers
		return outbox.Retry(ctx.Err())
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, d)
	<-started
	stop()
	for _, g := range rows(t, app) {
		if g.Status != "queued" || g.Attempts != 0 || g.LeaseUntil != "" {
			t.Errorf("after shutdown %s = %s attempts=%d lease=%q; want queued, 0, no lease", g.DedupeKey, g.Status, g.Attempts, g.LeaseUntil)
		}
	}
}
