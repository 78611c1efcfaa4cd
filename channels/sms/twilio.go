package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// twilio sends through Twilio's Messages API:
// POST {base}/2010-04-01/Accounts/{SID}/Messages.json, form To, From, Body,
// HTTP basic auth SID:token.
type twilio struct {
	base, account, token, from string
}

// twilioMessage is the part of Twilio's message resource that Send reads.
type twilioMessage struct {
	SID string `json:"sid"`
}

// twilioError is Twilio's error body: {"code": 21211, "message": "...",
// "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (p *twilio) send(ctx context.Context, c *Channel, to, text string) (string, error) {
	endpoint := p.base + "/2010-04-01/Accounts/" + url.PathEscape(p.account) + "/Messages.json"
	form := url.Values{"To": {to}, "From": {p.from}, "Body": {text}}
	resp, body, err := c.post(ctx, endpoint, form, func(r *http.Request) { r.SetBasicAuth(p.account, p.token) })
	if err != nil {
		return "", fmt.Errorf("sms: twilio: send: %w", err)
	}
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		var m twilioMessage
		if err := json.Unmarshal(body, &m); err != nil || m.SID == "" {
			// Twilio took the message; resending would send it twice.
			return "", channels.Permanent(fmt.Errorf("sms: twilio: HTTP %d accepted the message but the answer has no sid: %s", status, snippet(body)))
		}
		return m.SID, nil
	}
	why := twilioReason(status, body)
	switch {
	case status == http.StatusTooManyRequests:
		return "", channels.RetryAfter(parseRetryAfter(resp.Header.Get("Retry-After"), c.now()), fmt.Errorf("sms: twilio: rate limited: %s", why))
	case status == http.StatusUnauthorized:
		// Wrong SID or token is the shop's configuration, not this
		// message: retried with backoff, so messages queued while the
		// operator fixes NOTIFY_SMS_TOKEN still go out (as Telegram's 401).
		return "", fmt.Errorf("sms: twilio: credentials refused (check NOTIFY_SMS_ACCOUNT and NOTIFY_SMS_TOKEN): %s", why)
	case status >= 400 && status < 500:
		return "", channels.Permanent(fmt.Errorf("sms: twilio refused the message: %s", why))
	default:
		return "", fmt.Errorf("sms: twilio: %s", why)
	}
}

// twilioReason is "21211 The 'To' number ... is not a valid phone number."
// from Twilio's error body, or the HTTP status and body start when the body
// is not Twilio's JSON (a proxy's error page).
func twilioReason(status int, body []byte) string {
	var e twilioError
	if err := json.Unmarshal(body, &e); err == nil && (e.Code != 0 || e.Message != "") {
		return strings.TrimSpace(fmt.Sprintf("%d %s", e.Code, e.Message))
	}
	return fmt.Sprintf("HTTP %d %s", status, snippet(body))
}

// parseRetryAfter reads Retry-After with this channel's limits.
func parseRetryAfter(v string, now time.Time) time.Duration {
	return channels.RetryAfterHeader(v, now, DefaultRetryAfter, MaxRetryAfter)
}
