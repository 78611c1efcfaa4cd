package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far webhook-timestamp may be from the receiver's clock,
// either way: the Standard Webhooks libraries' default, which stops a
// captured request from being replayed later.
const Tolerance = 5 * time.Minute

// Verify checks a delivery the way a Standard Webhooks receiver does, from
// the specification and nothing of package webhook: the key is the base64
// after "whsec_"; one of the space-separated "v1,<base64>" signatures in
// webhook-signature must equal HMAC-SHA256(key, id "." timestamp "." body),
// compared in constant time; webhook-timestamp must be within Tolerance of
// now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("secret is not whsec_ + base64: %v", err)
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not unix seconds", ts)
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > Tolerance || skew < -Tolerance {
		return fmt.Errorf("webhook-timestamp %s is %s from the receiver's clock, beyond %s", ts, skew, Tolerance)
	}

	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, versioned := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(versioned, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no v1 signature in webhook-signature matches the body")
}
