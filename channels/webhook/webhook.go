// Package webhook delivers notifications to the shop's own systems (a CRM,
// 1C, a chat relay) as HTTP POSTs signed per the Standard Webhooks
// specification (https://www.standardwebhooks.com), so any Standard
// Webhooks library verifies them.
//
// Each message is one POST of JSON
//
//	{"type": "order.shipped", "timestamp": "2026-03-01T10:04:05Z",
//	 "data": {"message": "<id>", "user": "<id>", "record": {...},
//	          "subject": "...", "text": "...", "url": "..."}}
//
// with the headers webhook-id (the message id, the same on every retry, so
// receivers deduplicate on it), webhook-timestamp (unix seconds of the
// attempt) and webhook-signature ("v1," + base64 of HMAC-SHA256 over
// id.timestamp.body, keyed with the base64-decoded part of the whsec_
// secret).
//
// The receiver's answer decides the outcome: 2xx is sent; 410 Gone means
// "stop sending" and fails the message for good; 429 retries after its
// Retry-After; everything else (other 4xx, 5xx, a redirect, a timeout, a
// network error) is retried with the dispatcher's backoff. Redirects are
// never followed: a webhook must not be bounced to another address.
//
// The package never imports PocketBase. Tests use the receiver in package
// webhooktest, which verifies signatures with its own HMAC code.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// Name is the channel's stable name, persisted in notifyRules.channels and
// notifyMessages.channel: never rename it.
const Name = "webhook"

// Defaults for Config and answers.
const (
	// DefaultTimeout bounds one delivery, from connecting to the end of
	// the answer's headers. A receiver that needs longer should answer 2xx
	// first and work afterwards.
	DefaultTimeout = 10 * time.Second

	// DefaultRetryAfter is the wait after a 429 without a usable
	// Retry-After header.
	DefaultRetryAfter = time.Minute

	// maxRetryAfter caps a receiver's Retry-After, so a typo in it cannot
	// park a message for a year.
	maxRetryAfter = 24 * time.Hour
)

// UserAgent is sent with every delivery, so receivers and their logs can
// tell these requests apart.
const UserAgent = "pbnotify-webhook/1 (PocketBase notifications; +https://github.com/pbnotify/pbnotify)"

// Bounds for reading a receiver's answer: its start is quoted in errors,
// and a little more is drained so the connection can be reused; the rest
// is dropped with the connection.
const (
	maxErrorBody = 256
	maxDrain     = 4 << 10
)

// Config configures a Channel. The zero value is a channel that is off.
type Config struct {
	// URL is the receiver's address (NOTIFY_WEBHOOK_URL). Empty turns the
	// channel off: Send skips every message. It must be an absolute https
	// URL; http is accepted only for localhost, private-network IP
	// addresses and single-label host names (a docker-compose service).
	URL string

	// Secret is the signing secret (NOTIFY_WEBHOOK_SECRET): "whsec_"
	// followed by the base64 of 24 to 64 random bytes. Required with URL.
	Secret string

	// HTTPClient carries every delivery. Its redirect policy is replaced:
	// redirects are never followed. Default: a client with a
	// DefaultTimeout (10 second) timeout.
	HTTPClient *http.Client

	// Now is the clock of the webhook-timestamp header, of the payload's
	// timestamp when Event.Time is zero, and of Retry-After dates.
	// Default: time.Now.
	Now func() time.Time

	// Event turns a message into what its delivery says. It must set Type
	// (the template key), and usually Time and Record. Default: EventFrom,
	// which sets no Type, so every message fails until Event is set.
	Event func(*channels.Message) Event
}

// Channel posts signed webhooks. It is safe for concurrent use.
type Channel struct {
	url    *url.URL // nil when the channel is off
	key    []byte
	client *http.Client
	now    func() time.Time
	event  func(*channels.Message) Event
}

var _ channels.Channel = (*Channel)(nil)

// New checks cfg and creates the channel. It makes no network calls. Errors
// name the environment variable to fix and what it must look like.
func New(cfg Config) (*Channel, error) {
	c := &Channel{now: cfg.Now, event: cfg.Event}
	if c.now == nil {
		c.now = time.Now
	}
	if c.event == nil {
		c.event = EventFrom
	}
	if strings.TrimSpace(cfg.URL) == "" {
		if strings.TrimSpace(cfg.Secret) != "" {
			return nil, errors.New("webhook: NOTIFY_WEBHOOK_SECRET is set but NOTIFY_WEBHOOK_URL is not; set both to send webhooks, or neither")
		}
		return c, nil
	}
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	key, err := parseSecret(cfg.Secret)
	if err != nil {
		return nil, err
	}
	c.url, c.key = u, key

	client := http.Client{Timeout: DefaultTimeout}
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient // a copy: the caller's client keeps its own redirect policy
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client = &client
	return c, nil
}

// Name returns Name.
func (c *Channel) Name() string { return Name }

// Configured reports whether the channel has a receiver; when it has none,
// Send skips every message.
func (c *Channel) Configured() bool { return c.url != nil }

// Send posts the message's event to the receiver, signed for this attempt,
// and returns the receiver's status line ("200 OK") as the provider id.
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if c.url == nil {
		return "", channels.Skip("webhook is not configured (NOTIFY_WEBHOOK_URL is not set)")
	}
	ev := c.event(m)
	if ev.Type == "" {
		return "", channels.Permanent(errors.New("webhook: the event has no type (template key); Config.Event must set it"))
	}
	if err := checkID(ev.MessageID); err != nil {
		return "", channels.Permanent(err)
	}
	now := c.now()
	body, err := payload(ev, now)
	if err != nil {
		return "", channels.Permanent(err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url.String(), bytes.NewReader(body))
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("webhook: building the request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", ev.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sign(c.key, ev.MessageID, now, body))

	resp, err := c.client.Do(req)
	if err != nil {
		// net/http's error quotes the whole URL, which may hold a token:
		// keep only the cause under it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", fmt.Errorf("webhook: posting to %s: %w", c.host(), err)
	}
	defer resp.Body.Close()
	return c.outcome(resp)
}

// outcome maps the receiver's answer to Send's result, reading a bounded
// start of the body for the error text.
func (c *Channel) outcome(resp *http.Response) (string, error) {
	snippet := readSnippet(resp.Body)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	code := resp.StatusCode
	switch {
	case code >= 200 && code <= 299:
		return status, nil
	case code >= 300 && code <= 399:
		// The standard calls redirects a failure: the URL should be updated
		// instead. Retried, because a misconfigured receiver may be fixed.
		to := "no Location"
		if loc, err := resp.Location(); err == nil {
			to = redactURL(loc)
		}
		return "", fmt.Errorf("webhook: %s answered %s redirecting to %s; redirects are not followed, update NOTIFY_WEBHOOK_URL", c.host(), status, to)
	}
	err := fmt.Errorf("webhook: %s answered %s%s", c.host(), status, quote(snippet))
	switch code {
	case http.StatusGone:
		return "", channels.Permanent(fmt.Errorf("%w (the receiver asks to stop sending)", err))
	case http.StatusTooManyRequests:
		return "", channels.RetryAfter(parseRetryAfter(resp.Header.Get("Retry-After"), c.now()), err)
	default:
		return "", err
	}
}

func (c *Channel) host() string { return redactURL(c.url) }

// checkID refuses ids that cannot serve as webhook-id: the standard asks
// that it contain no "." (it delimits the signed content), and it must fit
// in a header.
func checkID(id string) error {
	if id == "" {
		return errors.New("webhook: the event has no message id, which receivers deduplicate on")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("webhook: message id %q may hold only letters, digits, '_' and '-'", id)
		}
	}
	return nil
}

func readSnippet(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
}

func quote(snippet string) string {
	if snippet == "" {
		return ""
	}
	return ": " + snippet
}

// parseRetryAfter reads Retry-After with this channel's limits.
func parseRetryAfter(v string, now time.Time) time.Duration {
	return channels.RetryAfterHeader(v, now, DefaultRetryAfter, maxRetryAfter)
}
