// Package webpush delivers notifications to browsers with the Web Push
// protocol (RFC 8030), VAPID (RFC 8292) and aes128gcm message encryption
// (RFC 8291), using github.com/SherClockHolmes/webpush-go for the
// encryption and the signed request.
//
// A user may have several subscriptions (phone, laptop, ...): Send encrypts
// the message for each one and POSTs it to its push service. The message is
// delivered when at least one device accepted it. Devices the push service
// reports as gone (404/410) are deleted from the Subscriptions store.
//
// ParseSubscription validates what a browser sends to the subscribe route,
// and the pushtest package runs a fake push service that decrypts what it
// receives, for tests.
package webpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"

	"github.com/pbnotify/pbnotify/channels"
)

// Config holds the web push settings.
type Config struct {
	// Subject is the VAPID contact the push services can reach the sender at:
	// "mailto:admin@example.org" or "https://example.org/contact". Empty
	// means web push is not configured: every message is skipped with a reason.
	Subject string
	// Keys is the VAPID key pair. Empty means web push is not configured.
	// Generate it once with GenerateKeys and keep it: browsers subscribed
	// with the public key, and changing it invalidates every subscription.
	Keys KeyPair
	// HTTPClient sends the push requests. Default: a client with a 10 second
	// timeout that does not follow redirects.
	HTTPClient *http.Client
	// TTL is how long the push service keeps a message for a device that is
	// offline. Default: 24 hours. It is rounded up to whole seconds and never
	// 0, which would make push services drop messages for any device that is
	// not connected at that very moment.
	TTL time.Duration
	// AllowedOrigins are extra endpoint origins (scheme://host[:port]) accepted
	// besides the browser push services, e.g. "http://127.0.0.1:9999" for a
	// test push service. Default: none.
	AllowedOrigins []string
	// Icon is the URL of the notification icon, sent in the payload. Default:
	// empty, which leaves it out of the payload.
	Icon string
	// Store looks up and deletes subscriptions. Required.
	Store Subscriptions
}

// Defaults New applies to a zero Config.TTL and a nil Config.HTTPClient.
const (
	DefaultTTL     = 24 * time.Hour
	DefaultTimeout = 10 * time.Second
)

// maxConcurrent bounds the requests in flight for one message. Users have a
// handful of devices; the bound only matters for a runaway subscription table.
const maxConcurrent = 8

// Channel sends web push notifications. It is safe for concurrent use.
type Channel struct {
	cfg        Config
	subscriber string // Subject as webpush-go wants it (see vapidSubscriber)
	ttl        int    // seconds, > 0
}

// New returns a web push channel. A Config without Subject or Keys is valid:
// such a channel skips every message and says why. Keys and Subject, when
// set, are checked here so that a typo shows up at startup, not as a failed
// message.
func New(cfg Config) (*Channel, error) {
	if cfg.Store == nil {
		return nil, errors.New("webpush: Config.Store is required")
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("webpush: TTL %s is negative", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout: DefaultTimeout,
			// Push services answer directly; following a redirect would
			// send the VAPID token and the payload to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	c := &Channel{cfg: cfg, ttl: int((cfg.TTL + time.Second - 1) / time.Second)}

	if cfg.Keys != (KeyPair{}) {
		keys, err := normalizeKeys(cfg.Keys)
		if err != nil {
			return nil, err
		}
		c.cfg.Keys = keys
	}
	if cfg.Subject != "" {
		sub, err := vapidSubscriber(cfg.Subject)
		if err != nil {
			return nil, err
		}
		c.subscriber = sub
	}
	return c, nil
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return channels.WebPush }

// PublicKey returns the VAPID public key (unpadded base64url) that the
// browser passes to pushManager.subscribe as applicationServerKey, or ""
// when no keys are configured.
func (c *Channel) PublicKey() string { return c.cfg.Keys.Public }

// Configured reports whether the channel has keys and a subject, i.e.
// whether Send can deliver anything.
func (c *Channel) Configured() bool { return c.cfg.Keys.Private != "" && c.subscriber != "" }

// AllowedOrigins returns Config.AllowedOrigins, to pass to ParseSubscription.
func (c *Channel) AllowedOrigins() []string { return c.cfg.AllowedOrigins }

// Send implements channels.Channel. It sends m to every subscription of
// m.UserID; the provider id says how many devices accepted it ("2/3 devices").
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if !c.Configured() {
		return "", channels.Skip("web push is not configured: set the VAPID keys and subject")
	}
	subs, err := c.cfg.Store.ForUser(ctx, m.UserID)
	if err != nil {
		return "", fmt.Errorf("web push: loading subscriptions: %w", err)
	}
	subs = dedupe(subs)
	if len(subs) == 0 {
		return "", channels.Skip("user has no web push subscription")
	}

	payload, err := encodePayload(Payload{Title: m.PushTitle, Body: m.PushBody, URL: m.PushURL, Tag: m.PushTag, Icon: c.cfg.Icon})
	if err != nil {
		return "", channels.Permanent(err)
	}
	opts := &wp.Options{
		HTTPClient:      c.cfg.HTTPClient,
		Subscriber:      c.subscriber,
		TTL:             c.ttl,
		Urgency:         urgency(m.Category),
		Topic:           messageTopic(m),
		VAPIDPublicKey:  c.cfg.Keys.Public,
		VAPIDPrivateKey: c.cfg.Keys.Private,
	}

	results := make([]result, len(subs))
	sem := make(chan struct{}, maxConcurrent)
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = c.sendOne(ctx, payload, s, opts)
		}()
	}
	wg.Wait()

	// Deletes run after all sends and one at a time: the store is usually
	// SQLite, where concurrent writes only queue up anyway.
	for i := range results {
		if results[i].outcome == gone {
			if err := c.cfg.Store.Delete(ctx, subs[i].Endpoint); err != nil {
				results[i].detail += fmt.Sprintf(" (deleting the subscription failed: %v)", err)
			}
		}
	}
	return summarize(results)
}

// urgency maps the rule category to the Urgency header (RFC 8030 §5.3).
// Security alerts and transactional updates (order paid, shipped) may wake a
// device on low battery; the rest can wait until the device is awake.
func urgency(category string) wp.Urgency {
	switch category {
	case "security", "transactional":
		return wp.UrgencyHigh
	}
	return wp.UrgencyNormal
}

// messageTopic returns the Topic header: from the tag, so a newer status of
// the same order replaces an older one still waiting on the push service,
// or else from the message id, so that a retried message replaces its own
// earlier copy instead of arriving twice.
func messageTopic(m *channels.Message) string {
	if m.PushTag != "" {
		return topic(m.PushTag)
	}
	return topic(m.ID)
}

// dedupe drops empty and repeated endpoints, so a store that lists a device
// twice does not make it show the notification twice.
func dedupe(subs []Subscription) []Subscription {
	seen := make(map[string]bool, len(subs))
	out := subs[:0:0]
	for _, s := range subs {
		if s.Endpoint == "" || seen[s.Endpoint] {
			continue
		}
		seen[s.Endpoint] = true
		out = append(out, s)
	}
	return out
}

// sendOne pushes to one device and classifies the answer.
func (c *Channel) sendOne(ctx context.Context, payload []byte, s Subscription, opts *wp.Options) result {
	r := result{host: endpointHost(s.Endpoint)}
	if err := ValidateEndpoint(s.Endpoint, c.cfg.AllowedOrigins); err != nil {
		r.outcome, r.detail = permanent, err.Error()
		return r
	}
	if _, err := parseP256dh(s.P256dh); err != nil {
		r.outcome, r.detail = permanent, err.Error()
		return r
	}
	if _, err := parseAuth(s.Auth); err != nil {
		r.outcome, r.detail = permanent, err.Error()
		return r
	}
	sub := &wp.Subscription{Endpoint: s.Endpoint, Keys: wp.Keys{P256dh: s.P256dh, Auth: s.Auth}}
	// webpush-go appends the padding to the message slice itself
	// (bytes.NewBuffer(message)), writing into its spare capacity: each
	// concurrent send needs its own copy.
	resp, err := wp.SendNotificationWithContext(ctx, bytes.Clone(payload), sub, opts)
	if err != nil {
		// Keys and endpoint were checked above and encodePayload keeps within
		// MaxPayload, so an error here is the HTTP client's (refused,
		// timeout, reset): worth a retry. ErrMaxPadExceeded would never heal.
		if errors.Is(err, wp.ErrMaxPadExceeded) {
			r.outcome, r.detail = permanent, err.Error()
		} else {
			r.outcome, r.detail = transient, redactEndpoint(err.Error(), s.Endpoint)
		}
		return r
	}
	defer func() {
		// Drain (bounded) and close every body, including 404/410/429, which
		// webpush-go returns as ordinary responses.
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
	}()

	r.detail = resp.Status
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		r.outcome = accepted
		return r
	case code == http.StatusNotFound || code == http.StatusGone:
		r.outcome = gone
	case code == http.StatusTooManyRequests:
		r.outcome = limited
		r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code == http.StatusRequestTimeout || code >= 500:
		r.outcome = transient
	default:
		// 400 malformed, 401/403 VAPID refused, 413 too large and anything
		// unexpected: sending the same request again gives the same answer.
		r.outcome = permanent
	}
	if body := errorBody(resp.Body); body != "" {
		r.detail += ": " + body
	}
	return r
}
