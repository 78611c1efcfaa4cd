// Package sms delivers notifications as SMS through Twilio or SMS.ru.
//
// Why a package of its own: an SMS costs money per part, goes to a number
// that users type in a dozen ways, and each provider reports failures in its
// own shape. This package normalises numbers to E.164 (Normalize), counts
// parts (Segments) and turns each provider's answers into the outcomes the
// dispatcher understands: channels.Permanent for a number or text the
// provider refuses, channels.RetryAfter for rate limits, channels.Skip for a
// number that is not a phone number, a plain error (retried with backoff)
// for outages and account trouble.
//
// Usage:
//
//	ch, err := sms.New(sms.Config{
//		Provider: os.Getenv("NOTIFY_SMS_PROVIDER"), // "twilio" or "smsru"
//		APIURL:   os.Getenv("NOTIFY_SMS_API_URL"),
//		Account:  os.Getenv("NOTIFY_SMS_ACCOUNT"),
//		Token:    os.Getenv("NOTIFY_SMS_TOKEN"),
//		From:     os.Getenv("NOTIFY_SMS_FROM"),
//	})
//	...
//	id, err := ch.Send(ctx, &channels.Message{ID: "m1", To: "8 912 345-67-89", Text: "Order 1001 shipped"})
//
// The package never imports PocketBase. Tests use the fake providers in
// package smstest.
package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// Name is the channel's stable name, persisted in notifyRules.channels and
// notifyMessages.channel; it is never renamed.
const Name = "sms"

// Providers accepted in Config.Provider.
const (
	Twilio = "twilio"
	SMSRu  = "smsru"
)

// Defaults for Config.
const (
	DefaultTwilioURL   = "https://api.twilio.com"
	DefaultSMSRuURL    = "https://sms.ru"
	DefaultHTTPTimeout = 30 * time.Second
	// DefaultRetryAfter is the wait after a rate limit that names no delay.
	DefaultRetryAfter = time.Minute
	// MaxRetryAfter caps a provider's Retry-After: a later SMS about an
	// order is rarely still wanted, and the queue has its own attempts.
	MaxRetryAfter = time.Hour
)

// Bounds for reading provider responses.
const (
	maxBody      = 64 << 10 // a provider answer is a small JSON object
	maxErrorBody = 256      // quoted in error messages
)

// Config configures a Channel. The zero value is a channel that is off.
type Config struct {
	// Provider is "twilio" or "smsru" (NOTIFY_SMS_PROVIDER). Empty turns
	// the channel off: Send skips every message with the reason.
	Provider string

	// APIURL is the provider's base URL (NOTIFY_SMS_API_URL), without a
	// path. Default: "https://api.twilio.com" for Twilio, "https://sms.ru"
	// for SMS.ru. Tests point it at smstest.
	APIURL string

	// Account is the Twilio Account SID, "AC..." (NOTIFY_SMS_ACCOUNT).
	// Required for Twilio; SMS.ru does not use it.
	Account string

	// Token is the Twilio auth token or the SMS.ru api_id
	// (NOTIFY_SMS_TOKEN). Required.
	Token string

	// From is the sender (NOTIFY_SMS_FROM): a number in E.164 form or an
	// approved alphanumeric sender name. Required for Twilio; for SMS.ru
	// empty means the account's default sender.
	From string

	// HTTPClient carries every request. Default: a client with a 30 second
	// timeout.
	HTTPClient *http.Client

	// Now is the clock that turns a Retry-After date into a delay.
	// Default: time.Now.
	Now func() time.Time
}

// Channel sends SMS through one provider. It is safe for concurrent use.
type Channel struct {
	provider provider // nil when the channel is off
	client   *http.Client
	now      func() time.Time
}

var _ channels.Channel = (*Channel)(nil)

// provider is one SMS API: it sends one text to one E.164 number and maps
// the answer to an outcome.
type provider interface {
	send(ctx context.Context, c *Channel, to, text string) (string, error)
}

// New checks cfg and creates the channel. It makes no network calls, so
// wrong credentials show up on the first send, not at startup. Every
// problem in cfg is reported at once, each naming what to fix.
func New(cfg Config) (*Channel, error) {
	c := &Channel{client: cfg.HTTPClient, now: cfg.Now}
	if c.client == nil {
		c.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.now == nil {
		c.now = time.Now
	}
	name := strings.ToLower(strings.TrimSpace(cfg.Provider))
	token := strings.TrimSpace(cfg.Token)
	account := strings.TrimSpace(cfg.Account)
	from := strings.TrimSpace(cfg.From)

	var problems []error
	need := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Errorf(format, args...))
		}
	}
	var base string
	switch name {
	case "":
		if token != "" || account != "" {
			return nil, errors.New(`sms: Provider (NOTIFY_SMS_PROVIDER) is not set but credentials are: set it to "twilio" or "smsru"`)
		}
		return c, nil // off: Send skips
	case Twilio:
		base = DefaultTwilioURL
		need(account != "", "Account (NOTIFY_SMS_ACCOUNT) is required for twilio: the Account SID, AC...")
		need(account == "" || strings.HasPrefix(account, "AC"), "Account (NOTIFY_SMS_ACCOUNT) must be the Account SID, which starts with AC")
		need(token != "", "Token (NOTIFY_SMS_TOKEN) is required for twilio: the auth token")
		need(from != "", "From (NOTIFY_SMS_FROM) is required for twilio: a Twilio number such as +15005550006 or a sender name")
	case SMSRu:
		base = DefaultSMSRuURL
		need(token != "", "Token (NOTIFY_SMS_TOKEN) is required for smsru: the api_id")
	default:
		return nil, fmt.Errorf(`sms: unknown Provider (NOTIFY_SMS_PROVIDER) %q: use "twilio" or "smsru"`, cfg.Provider)
	}
	if raw := strings.TrimSpace(cfg.APIURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Errorf("APIURL (NOTIFY_SMS_API_URL) %q is not an http(s) URL", raw))
		}
		base = strings.TrimRight(raw, "/")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("sms: %s: %w", name, errors.Join(problems...))
	}
	switch name {
	case Twilio:
		c.provider = &twilio{base: base, account: account, token: token, from: from}
	case SMSRu:
		c.provider = &smsru{base: base, apiID: token, from: from}
	}
	return c, nil
}

// Name returns Name, "sms".
func (c *Channel) Name() string { return Name }

// text is the part of the message that goes out as SMS: the template's
// sms field.
func text(m *channels.Message) string { return m.SMS }

// Send delivers the message text to the phone number in m.To and returns
// the provider's message id (Twilio's sid, SMS.ru's sms_id).
//
// A number that Normalize refuses is skipped with the reason, before any
// request: no provider could deliver it, and nothing about it is a delivery
// failure worth an alert.
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if c.provider == nil {
		return "", channels.Skip("SMS is not configured (NOTIFY_SMS_PROVIDER is not set)")
	}
	if strings.TrimSpace(m.To) == "" {
		return "", channels.Skip("user has no phone number")
	}
	to, err := Normalize(m.To)
	if err != nil {
		return "", channels.Skip("sms: " + err.Error())
	}
	body := text(m)
	if strings.TrimSpace(body) == "" {
		// Like an inbox message without inbox text: the template has no
		// version for this channel, which is not a delivery failure.
		return "", channels.Skip("the template has no sms text")
	}
	return c.provider.send(ctx, c, to, body)
}

// post sends a form and returns the status, headers and body (at most
// maxBody bytes). A network error is returned as is: it is retried.
func (c *Channel) post(ctx context.Context, endpoint string, form url.Values, auth func(*http.Request)) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("read response (HTTP %d): %w", resp.StatusCode, err)
	}
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	return resp, body, nil
}

// snippet returns the start of a response body, on one line, for an error.
func snippet(body []byte) string {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "?")), " ")
}
