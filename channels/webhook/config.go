package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Bounds of a signing secret, in bytes after base64 decoding: the Standard
// Webhooks specification asks for 24 to 64 random bytes (192 to 512 bits).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// SecretPrefix starts every Standard Webhooks symmetric secret, so a secret
// pasted in the wrong place is recognised.
const SecretPrefix = "whsec_"

// parseSecret returns the HMAC key of a "whsec_<base64>" secret. The key is
// the decoded bytes, not the text: that is what every Standard Webhooks
// library verifies with.
func parseSecret(secret string) ([]byte, error) {
	const want = "NOTIFY_WEBHOOK_SECRET must be \"whsec_\" followed by the base64 of 24 to 64 random bytes, e.g. whsec_ + `openssl rand -base64 32`"
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, errors.New("webhook: NOTIFY_WEBHOOK_SECRET is not set; " + want)
	}
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("webhook: NOTIFY_WEBHOOK_SECRET does not start with \"whsec_\"; " + want)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("webhook: NOTIFY_WEBHOOK_SECRET is not valid base64 after \"whsec_\" (%v); %s", err, want)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("webhook: NOTIFY_WEBHOOK_SECRET decodes to %d bytes; %s", len(key), want)
	}
	return key, nil
}

// parseURL checks the receiver's address. The payload carries a customer's
// name, message text and record, and a signature proves origin but hides
// nothing, so it travels over https, except to hosts that are not on the
// internet: loopback, private-network IP addresses (10/8, 172.16/12,
// 192.168/16, fc00::/7) and single-label names such as a docker-compose
// service ("http://crm:8080/hook").
func parseURL(raw string) (*url.URL, error) {
	const want = "NOTIFY_WEBHOOK_URL must be an absolute https:// URL (http:// only for localhost, a private-network IP or a single-label host name)"
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("webhook: NOTIFY_WEBHOOK_URL does not parse (%v); %s", err, want)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("webhook: NOTIFY_WEBHOOK_URL %q is not an absolute http(s) URL; %s", redactURL(u), want)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("webhook: NOTIFY_WEBHOOK_URL %q has a #fragment, which is never sent; %s", redactURL(u), want)
	}
	if u.Scheme == "http" && !offInternet(u.Hostname()) {
		return nil, fmt.Errorf("webhook: NOTIFY_WEBHOOK_URL %q uses http:// to a host on the internet, which would expose customers' data in transit; %s", redactURL(u), want)
	}
	return u, nil
}

// offInternet reports whether host cannot be reached over the public
// internet, so plain http to it does not cross untrusted networks.
func offInternet(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate()
	}
	return host != "" && !strings.Contains(host, ".")
}

// redactURL names the receiver in messages by scheme and host only: the
// path, query and user info of webhook URLs often carry an access token
// (".../hooks/<token>"), and error texts end up in logs and message rows.
func redactURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
