// Package channels defines what every delivery channel implements and how a
// channel tells the dispatcher what should happen after a failed send.
//
// Channel packages (email, telegram, webpush, ...) never import PocketBase:
// they receive a fully rendered Message and report an outcome. Retrying,
// backoff and bookkeeping belong to the dispatcher, never to a channel.
package channels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Stable channel names. They are persisted in notifyRules.channels and
// notifyMessages.channel, so they are never renamed.
const (
	Email    = "email"
	Telegram = "telegram"
	WebPush  = "webpush"
	Inbox    = "inbox"
)

// Message is one rendered message for one recipient on one channel.
type Message struct {
	// ID is the outbox row id. It is stable across attempts, so channels use
	// it for idempotency (an email Message-ID, a push Topic fallback).
	ID string

	// UserID is the recipient's user record id.
	UserID string

	// To is the channel address: an email address or a Telegram chat id.
	// Web push leaves it empty and looks the user's devices up itself.
	To string

	// Category is the rule's category: security, transactional, service or marketing.
	Category string

	// Key is the template's key, e.g. "order.shipped": what the message is
	// about, for channels that tell other systems (a webhook's type).
	Key string

	// Record is the record the message is about, as of the event, with the
	// fields a template may see (never password hashes or token keys).
	Record map[string]any

	// Email.
	Subject string
	Text    string // plain text part
	HTML    string // HTML part, already wrapped in the layout

	// Telegram: HTML in Telegram's parse_mode subset, plus optional link buttons.
	Telegram string
	Buttons  []Button

	// Web push.
	PushTitle string
	PushBody  string
	PushURL   string
	// PushTag groups notifications on the device: a newer message with the same
	// tag replaces the older one (e.g. one tag per order).
	PushTag string

	// SMS: plain text.
	SMS string

	// Headers are extra email headers, e.g. List-Unsubscribe; a channel
	// that has no headers ignores them. They never replace the headers
	// the channel sets itself (From, To, Subject, Message-ID, Date).
	Headers map[string]string
}

// Button is an inline link button under a message.
type Button struct {
	Text string
	URL  string
}

// Channel delivers rendered messages. Send must be safe for concurrent use.
//
// Send returns a provider id (SMTP Message-ID, Telegram message id, ...) on
// success. On failure the error says what happens next: wrap it with
// Permanent, RetryAfter or Skip; any other error is retried with backoff.
type Channel interface {
	Name() string
	Send(ctx context.Context, m *Message) (providerID string, err error)
}

// permanentError marks a failure that no retry can fix (SMTP 5xx, Telegram
// 403 bot blocked, push 400/403/413).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as final: the message becomes failed.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterError asks for a retry after a delay the provider dictated
// (Telegram 429 retry_after, push 429 Retry-After). It does not use an attempt.
type retryAfterError struct {
	after time.Duration
	err   error
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.err, e.after)
}
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter asks the dispatcher to try again after d without counting an attempt.
func RetryAfter(d time.Duration, err error) error {
	if err == nil {
		err = errors.New("rate limited")
	}
	return &retryAfterError{after: d, err: err}
}

// RetryAfterDelay returns the delay requested with RetryAfter, if any.
func RetryAfterDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// RetryAfterHeader reads an HTTP Retry-After value, seconds or an HTTP
// date (RFC 9110 §10.2.3), as a delay from now clamped to [1s, ceiling]; def
// when the value is absent or unusable. Each channel chooses its own def
// and ceiling; the reading is the same for all.
func RetryAfterHeader(v string, now time.Time, def, ceiling time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(ceiling/time.Second) {
			return ceiling
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return def
	}
	return min(max(d, time.Second), ceiling)
}

// skipError says the message cannot go out on this channel for a reason that
// is not a delivery failure: the channel is not configured, the user has not
// linked Telegram or has no push subscription. The message becomes skipped.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

// Skip marks the message as skipped with a human-readable reason.
func Skip(reason string) error { return &skipError{reason} }

// SkipReason returns the reason given to Skip, if err is one.
func SkipReason(err error) (string, bool) {
	var s *skipError
	if errors.As(err, &s) {
		return s.reason, true
	}
	return "", false
}
