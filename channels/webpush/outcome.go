package webpush

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
)

// outcome classifies one push service answer; summarize combines them into
// the message's fate.
type outcome int

const (
	accepted  outcome = iota // 2xx: the push service took the message
	gone                     // 404/410: the subscription no longer exists
	permanent                // the request can never succeed for this device
	transient                // 5xx, network error: try again later
	limited                  // 429: try again after retryAfter
)

type result struct {
	outcome    outcome
	host       string        // endpoint host, for messages: the full endpoint is a capability URL
	detail     string        // "410 Gone", "Post ...: timeout"
	retryAfter time.Duration // for limited
}

// Bounds for reading push service responses.
const (
	maxErrorBody = 256      // quoted in error messages
	maxDrain     = 64 << 10 // read before closing so the connection can be reused
)

// Bounds for a push service's Retry-After.
const (
	defaultRetryAfter = time.Minute    // 429 without a usable Retry-After
	maxRetryAfter     = 24 * time.Hour // a later retry would find the message expired anyway
)

// errorBody returns the start of a push service's error text, on one line.
func errorBody(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	return s
}

// parseRetryAfter reads Retry-After with this channel's limits.
func parseRetryAfter(v string, now time.Time) time.Duration {
	return channels.RetryAfterHeader(v, now, defaultRetryAfter, maxRetryAfter)
}

// summarize turns the per-device results into Send's answer.
func summarize(results []result) (string, error) {
	var ok, temporary, rateLimited int
	var wait time.Duration
	for _, r := range results {
		switch r.outcome {
		case accepted:
			ok++
		case transient:
			temporary++
		case limited:
			rateLimited++
			wait = max(wait, r.retryAfter)
		}
	}
	if ok > 0 {
		unit := "devices"
		if len(results) == 1 {
			unit = "device"
		}
		return fmt.Sprintf("%d/%d %s", ok, len(results), unit), nil
	}
	err := fmt.Errorf("web push: no device accepted the message: %s", describe(results))
	switch {
	case temporary > 0:
		return "", err // the dispatcher's backoff also covers any 429s
	case rateLimited > 0:
		return "", channels.RetryAfter(wait, err)
	default:
		return "", channels.Permanent(err)
	}
}

func describe(results []result) string {
	parts := make([]string, len(results))
	for i, r := range results {
		what := r.detail
		if r.outcome == gone {
			what += " (subscription removed)"
		}
		parts[i] = fmt.Sprintf("%s: %s", r.host, what)
	}
	return strings.Join(parts, "; ")
}

// endpointHost names a device in error messages without its token.
func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return "invalid endpoint"
}

// redactEndpoint removes the endpoint URL from an error text (net/http quotes
// it): the URL is a bearer capability for pushing to the device.
func redactEndpoint(msg, endpoint string) string {
	return strings.ReplaceAll(msg, endpoint, endpointHost(endpoint))
}
