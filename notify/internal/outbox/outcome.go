package outbox

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// Outcome is what one attempt decided. Deliver returns one; the dispatcher
// resolves an error into a status with the retry policy and Finalize writes
// it.
type Outcome struct {
	// Job is the attempt this outcome belongs to; the dispatcher sets it.
	Job Job

	// Status is the row's new status. When empty, Err decides: nil is sent;
	// channels.Skip is skipped; channels.Permanent is failed;
	// channels.RetryAfter is queued again after that delay without using an
	// attempt; anything else is retried with backoff until the attempts run
	// out, then failed. Errors that are not a channel's or a template's
	// verdict (a database hiccup) must stay plain errors, so they are retried.
	Status string
	Err    error
	// Reason is the text kept in the error field for a status set directly
	// (skipped, cancelled, failed) without an Err.
	Reason string
	// Note is prepended to the error field, e.g. why earlier channels of a
	// "first available" rule were passed over.
	Note string

	RunAt  time.Time // when a queued outcome runs again
	Refund bool      // the attempt does not count (a snooze)

	Provider string   // the provider's id of a sent message
	Channel  string   // the row moves to this channel (a fallback)
	Content  *Content // what was rendered, for the log; nil keeps the row's

	// Then is a message to queue with this outcome, in the same
	// transaction and only if the outcome is recorded: the next step of an
	// escalation.
	Then *Message
}

// Content is what a message said on its channel, kept in the log (and, for
// the inbox, what the customer reads).
type Content struct {
	To, Subject, Body, HTML, Link string
	// Variant is the template's A/B variant ("" for the original).
	Variant string
	// Links are the original addresses of the message's signed links, in
	// the order their tokens name them; nil when links were not signed.
	Links []string
}

// Sent is a delivered message.
func Sent(provider string, c *Content) Outcome {
	return Outcome{Status: StatusSent, Provider: provider, Content: c}
}

// Cancelled ends a message that should no longer go out (its guard no longer
// holds, its rule or recipient is gone).
func Cancelled(reason string) Outcome { return Outcome{Status: StatusCancelled, Reason: reason} }

// Skipped ends a message that cannot go out on its channel for a reason that
// is not a failure.
func Skipped(reason string) Outcome { return Outcome{Status: StatusSkipped, Reason: reason} }

// Failed ends a message for good: a provider's or a template's verdict.
func Failed(err error) Outcome { return Outcome{Status: StatusFailed, Err: err} }

// Move queues the message again at once on another channel, without using
// an attempt: a "first available channel" rule falling through.
func Move(channel, note string) Outcome {
	return Outcome{Status: StatusQueued, Channel: channel, Refund: true, Note: note}
}

// Retry decides from err (see Outcome.Status).
func Retry(err error) Outcome { return Outcome{Err: err} }

func (o Outcome) errorText() string {
	text := o.Reason
	if text == "" && o.Err != nil {
		text = o.Err.Error()
	}
	if o.Note == "" {
		return text
	}
	if text == "" {
		return o.Note
	}
	return o.Note + "; " + text
}

// RetryPolicy turns errors into statuses.
type RetryPolicy struct {
	MaxAttempts int
	Backoff     func(attempt int) time.Duration
}

// resolve fills in the status of an outcome decided by its error.
func (p RetryPolicy) resolve(o Outcome, now time.Time) Outcome {
	if o.Status == StatusQueued && o.RunAt.IsZero() {
		o.RunAt = now
	}
	if o.Status != "" {
		return o
	}
	err := o.Err
	if err == nil {
		o.Status = StatusSent
		return o
	}
	if reason, ok := channels.SkipReason(err); ok {
		o.Status, o.Reason = StatusSkipped, reason
		return o
	}
	if channels.IsPermanent(err) {
		o.Status = StatusFailed
		return o
	}
	if after, ok := channels.RetryAfterDelay(err); ok {
		o.Status, o.RunAt, o.Refund = StatusQueued, now.Add(after), true
		return o
	}
	if o.Job.Attempt >= p.MaxAttempts {
		o.Status = StatusFailed
		o.Err = fmt.Errorf("gave up after %d attempts: %w", o.Job.Attempt, err)
		return o
	}
	o.Status, o.RunAt = StatusQueued, now.Add(p.Backoff(o.Job.Attempt))
	o.Err = fmt.Errorf("attempt %d: %w", o.Job.Attempt, err)
	return o
}

// Backoff is River's retry policy: attempt⁴ seconds with ±10% jitter, so
// retries of many messages after an outage spread out instead of stampeding.
// Attempt 1 waits about 1 s, 5 about 10 min, 10 about 2.8 h.
func Backoff(attempt int) time.Duration {
	base := math.Pow(float64(attempt), 4)
	jitter := base * 0.1 * (rand.Float64()*2 - 1)
	return time.Duration((base + jitter) * float64(time.Second))
}

// errShutdown marks a send that shutdown cut short.
var errShutdown = errors.New("interrupted by shutdown")
