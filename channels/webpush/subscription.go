package webpush

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Subscription is one browser push subscription: one device (more exactly
// one browser profile) of one user. Keys are stored as unpadded base64url,
// the form browsers produce.
type Subscription struct {
	Endpoint string // the push service URL the message is POSTed to
	P256dh   string // the device's P-256 public key (65 bytes, uncompressed)
	Auth     string // the device's 16-byte authentication secret
}

// Subscriptions is the store of push subscriptions, implemented over the
// database by the caller.
type Subscriptions interface {
	// ForUser returns every subscription of the user, possibly none.
	ForUser(ctx context.Context, userID string) ([]Subscription, error)
	// Delete removes the subscription with this endpoint. The channel calls it
	// only when the push service answered 404 or 410: the device unsubscribed
	// or the subscription expired, so it will never accept a message again.
	Delete(ctx context.Context, endpoint string) error
}

// Limits on what a subscribe request may contain.
const (
	// MaxEndpointLength bounds the endpoint URL. Real endpoints are a few
	// hundred bytes; the limit keeps junk out of the database.
	MaxEndpointLength = 2048
	// maxSubscriptionJSON bounds the whole PushSubscription JSON.
	maxSubscriptionJSON = 8 << 10
)

// ErrInvalidSubscription is wrapped by every error ParseSubscription returns,
// so a route can answer 400 with the error text, which says what to fix.
var ErrInvalidSubscription = errors.New("invalid push subscription")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSubscription}, args...)...)
}

// subscriptionJSON is the shape of PushSubscription.toJSON().
type subscriptionJSON struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is null or a number of milliseconds; it is accepted and
	// ignored because browsers renew subscriptions themselves and push
	// services answer 404/410 once a subscription has expired.
	ExpirationTime json.RawMessage `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// ParseSubscription validates the JSON of a browser's
// PushSubscription.toJSON() and returns the subscription with its keys
// re-encoded as unpadded base64url.
//
// The endpoint must be an absolute https URL on a known browser push service
// (see KnownPushService), or have an origin (scheme://host[:port]) equal to
// one of allowedOrigins, which may use http for local testing. Without this
// check any client could make the server POST to an arbitrary URL (SSRF).
//
// The keys are checked the way the encryption will use them: p256dh must be
// an uncompressed point on the P-256 curve and auth exactly 16 bytes, so a
// broken subscription is refused now rather than failing on every send.
func ParseSubscription(body []byte, allowedOrigins []string) (Subscription, error) {
	if len(body) > maxSubscriptionJSON {
		return Subscription{}, invalid("the JSON is larger than %d bytes", maxSubscriptionJSON)
	}
	var raw subscriptionJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		return Subscription{}, invalid("expected the JSON of PushSubscription.toJSON(): %v", err)
	}
	if err := ValidateEndpoint(raw.Endpoint, allowedOrigins); err != nil {
		return Subscription{}, err
	}
	p256dh, err := parseP256dh(raw.Keys.P256dh)
	if err != nil {
		return Subscription{}, err
	}
	auth, err := parseAuth(raw.Keys.Auth)
	if err != nil {
		return Subscription{}, err
	}
	return Subscription{Endpoint: raw.Endpoint, P256dh: p256dh, Auth: auth}, nil
}

// ValidateEndpoint checks a push endpoint the way ParseSubscription does.
// Send checks stored endpoints again, so a row written by another path
// (admin UI, import) cannot turn the server into a proxy either.
func ValidateEndpoint(endpoint string, allowedOrigins []string) error {
	switch {
	case endpoint == "":
		return invalid("endpoint is missing")
	case len(endpoint) > MaxEndpointLength:
		return invalid("endpoint is longer than %d characters", MaxEndpointLength)
	}
	for _, r := range endpoint {
		if r <= ' ' || r == 0x7f {
			return invalid("endpoint contains spaces or control characters")
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return invalid("endpoint is not a valid URL")
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return invalid("endpoint must be an absolute URL such as https://fcm.googleapis.com/fcm/send/…")
	}
	if u.User != nil {
		return invalid("endpoint must not contain a user name or password")
	}
	if u.Fragment != "" || strings.Contains(endpoint, "#") {
		return invalid("endpoint must not contain a #fragment")
	}
	if origin := canonicalOrigin(u); origin != "" {
		for _, allowed := range allowedOrigins {
			if a, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(allowed), "/")); err == nil && canonicalOrigin(a) == origin {
				return nil
			}
		}
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return invalid("endpoint must use https, got %q", u.Scheme+":")
	}
	// Browsers' push services all listen on the default port.
	if p := u.Port(); p != "" && p != "443" {
		return invalid("endpoint must not use port %s", p)
	}
	if !KnownPushService(u.Hostname()) {
		return invalid("endpoint host %q is not a known browser push service (Google FCM, Mozilla, Apple or Microsoft)", u.Hostname())
	}
	return nil
}

// canonicalOrigin returns scheme://host[:port] in lower case without a
// default port, so "https://x:443" and "HTTPS://X" compare equal. It returns
// "" for anything that is not a plain http(s) origin.
func canonicalOrigin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

// exactPushHosts are push service hosts without per-region subdomains.
var exactPushHosts = map[string]bool{
	"fcm.googleapis.com":     true, // Chrome, Edge on Android, Opera, Samsung Internet
	"android.googleapis.com": true, // legacy GCM endpoints still held by old Chrome installs
}

// pushHostSuffixes are push services that hand out endpoints on many
// subdomains. The leading dot makes "evilpush.apple.com" fail the match.
var pushHostSuffixes = []string{
	".push.services.mozilla.com", // Firefox autopush (updates.push.services.mozilla.com)
	".push.apple.com",            // Safari (web.push.apple.com)
	".notify.windows.com",        // Edge/Windows WNS (wns2-*.notify.windows.com)
}

// KnownPushService reports whether host (a host name without port, any
// case) belongs to one of the browser push services: Google FCM, Mozilla
// autopush, Apple or Microsoft WNS. Only exact names and subdomains of the
// services' own domains match; look-alikes such as
// "fcm.googleapis.com.evil.org" do not.
func KnownPushService(host string) bool {
	host = strings.ToLower(host)
	if !validHostname(host) {
		return false
	}
	if exactPushHosts[host] {
		return true
	}
	for _, suffix := range pushHostSuffixes {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// validHostname accepts lower-case DNS names made of non-empty labels of
// letters, digits and hyphens, so that no odd spelling (empty labels,
// percent-encoding, a trailing dot) slips past the suffix match.
func validHostname(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func parseP256dh(s string) (string, error) {
	if s == "" {
		return "", invalid("keys.p256dh is missing")
	}
	b, err := decodeBase64(s)
	if err != nil {
		return "", invalid("keys.p256dh is not valid base64url")
	}
	if len(b) != 65 || b[0] != 4 {
		return "", invalid("keys.p256dh must be a 65-byte uncompressed P-256 public key, got %d bytes", len(b))
	}
	// The message is encrypted to this key with ECDH: a point off the curve
	// would fail on every send, so refuse it now.
	if _, err := ecdh.P256().NewPublicKey(b); err != nil {
		return "", invalid("keys.p256dh is not a point on the P-256 curve")
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func parseAuth(s string) (string, error) {
	if s == "" {
		return "", invalid("keys.auth is missing")
	}
	b, err := decodeBase64(s)
	if err != nil {
		return "", invalid("keys.auth is not valid base64url")
	}
	if len(b) != 16 {
		return "", invalid("keys.auth must be 16 bytes, got %d", len(b))
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeBase64 accepts base64url (what browsers send), with or without
// padding, and standard base64, which some client libraries produce.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
