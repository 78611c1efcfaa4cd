package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// smsru sends through SMS.ru: POST {base}/sms/send, form api_id, to, msg,
// from, json=1.
type smsru struct {
	base, apiID, from string
}

// smsruAnswer is SMS.ru's answer with json=1:
//
//	{"status": "OK", "status_code": 100, "balance": 4122.56,
//	 "sms": {"79123456789": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}}}
//
// A request-wide failure has "status": "ERROR" with status_code and
// status_text at the top; a failure for one number has them in its entry.
type smsruAnswer struct {
	smsruStatus
	SMS map[string]smsruStatus `json:"sms"`
}

type smsruStatus struct {
	Status     string `json:"status"`
	StatusCode int    `json:"status_code"`
	StatusText string `json:"status_text"`
	SMSID      string `json:"sms_id"`
}

// SMS.ru status codes that decide an outcome (https://sms.ru/api/send).
const (
	// Request-wide trouble with the account or the service: the shop can
	// fix it (top up, correct the api_id, approve the sender), and then the
	// queued messages should still go out.
	smsruBadAPIID      = 200 // wrong api_id
	smsruNoFunds       = 201 // balance too low
	smsruSenderRefused = 204 // sender name not approved
	smsruDailyLimit    = 206 // the account's daily limit is reached
	smsruUnavailable   = 220 // the service is temporarily unavailable
	smsruBadToken      = 300 // wrong token (the api_id expired)
	smsruBadLogin      = 301 // wrong api_id or login/password
	smsruUnconfirmed   = 302 // the account is not confirmed yet
	smsruServerError   = 500 // error on SMS.ru's side; repeat the request
	// A duplicate of the same text to the same number within a minute:
	// SMS.ru's flood guard, which lets it through a minute later.
	smsruSameTextMinute = 231
)

// smsruRetryAfterSameText is the wait after status 231.
const smsruRetryAfterSameText = time.Minute

func (p *smsru) send(ctx context.Context, c *Channel, to, text string) (string, error) {
	number := strings.TrimPrefix(to, "+") // SMS.ru takes digits only: 79123456789
	form := url.Values{"api_id": {p.apiID}, "to": {number}, "msg": {text}, "json": {"1"}}
	if p.from != "" {
		form.Set("from", p.from)
	}
	resp, body, err := c.post(ctx, p.base+"/sms/send", form, nil)
	if err != nil {
		return "", fmt.Errorf("sms: smsru: send: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		// SMS.ru answers 200 even for its own errors; anything else is an
		// outage or a proxy in the way.
		return "", fmt.Errorf("sms: smsru: HTTP %d %s", resp.StatusCode, snippet(body))
	}
	var a smsruAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", fmt.Errorf("sms: smsru: answer is not JSON: %s", snippet(body))
	}
	if a.Status != "OK" {
		return "", smsruOutcome(a.smsruStatus, "the request")
	}
	entry, ok := a.SMS[number]
	if !ok && len(a.SMS) == 1 {
		for _, e := range a.SMS { // SMS.ru may key the entry by its own spelling of the number
			entry, ok = e, true
		}
	}
	if !ok {
		// The request was accepted but the answer does not say about this
		// number; resending could send the SMS twice.
		return "", channels.Permanent(fmt.Errorf("sms: smsru: the answer has no entry for the number: %s", snippet(body)))
	}
	if entry.Status == "OK" {
		return entry.SMSID, nil
	}
	return "", smsruOutcome(entry, "the message")
}

// smsruOutcome maps an SMS.ru error status to what the queue does next.
//
// Account and service trouble (wrong api_id, no money, unapproved sender,
// daily limit, outage) is a plain error, retried with backoff up to the
// attempt cap: it says nothing about this message, and failing every queued
// message at once because the balance ran out would lose them all when the
// shop tops up an hour later. Everything else (wrong number, no route, stop
// list, text too long, per-number limits for the day, ...) is about this
// message and will not change on retry: channels.Permanent with SMS.ru's
// code and text. Codes this package does not know are retried, since a
// wrongly retried message costs a few attempts and a wrongly failed one is
// lost.
func smsruOutcome(s smsruStatus, what string) error {
	why := strings.TrimSpace(fmt.Sprintf("%d %s", s.StatusCode, s.StatusText))
	switch s.StatusCode {
	case smsruBadAPIID, smsruBadToken, smsruBadLogin, smsruUnconfirmed:
		return fmt.Errorf("sms: smsru: api_id refused (check NOTIFY_SMS_TOKEN): %s", why)
	case smsruNoFunds, smsruSenderRefused, smsruDailyLimit:
		return fmt.Errorf("sms: smsru: account cannot send now: %s", why)
	case smsruUnavailable, smsruServerError:
		return fmt.Errorf("sms: smsru: service unavailable: %s", why)
	case smsruSameTextMinute:
		return channels.RetryAfter(smsruRetryAfterSameText, fmt.Errorf("sms: smsru: rate limited: %s", why))
	}
	if s.StatusCode >= 202 && s.StatusCode < 300 {
		return channels.Permanent(fmt.Errorf("sms: smsru refused %s: %s", what, why))
	}
	return fmt.Errorf("sms: smsru: %s failed: %s", what, why)
}
