package webpush

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"unicode"
)

// MaxPayload is the largest plaintext webpush-go can encrypt. It writes one
// aes128gcm record of 4096 bytes (RFC 8291 §4): 16 bytes go to the GCM tag,
// 86 to the header (salt 16, record size 4, key id length 1, key id 65), and
// one to the 0x02 padding delimiter, leaving 4096-16-86-1 = 3993 bytes.
const MaxPayload = 3993

// ellipsis marks shortened text.
const ellipsis = "…"

// Payload is the JSON the service worker receives in event.data.json().
type Payload struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
	Tag   string `json:"tag"`
	Icon  string `json:"icon,omitempty"`
}

// errPayloadTooLarge means the parts that cannot be shortened (url, tag,
// icon) alone exceed MaxPayload.
var errPayloadTooLarge = errors.New("web push payload is too large even with an empty title and body: shorten the url, tag or icon")

// encodePayload marshals p, shortening the body and then the title until the
// JSON fits in MaxPayload. It cuts on rune boundaries and adds "…", so the
// result is always valid JSON of valid UTF-8 (encoding/json replaces invalid
// input bytes with U+FFFD).
func encodePayload(p Payload) ([]byte, error) {
	b, err := marshal(p)
	if err != nil || len(b) <= MaxPayload {
		return b, err
	}
	// The body is the least important part: a notification stays useful with
	// a title and a link, so shorten it first, down to nothing if need be.
	if body, ok := fit(p.Body, func(s string) Payload { q := p; q.Body = s; return q }); ok {
		p.Body = body
		return marshal(p)
	}
	p.Body = ""
	if title, ok := fit(p.Title, func(s string) Payload { q := p; q.Title = s; return q }); ok {
		p.Title = title
		return marshal(p)
	}
	return nil, errPayloadTooLarge
}

// fit returns the longest shortening of s (a rune prefix plus "…", or "")
// for which with(s) marshals to at most MaxPayload bytes. The JSON size grows
// monotonically with the prefix length, so a binary search finds it.
func fit(s string, with func(string) Payload) (string, bool) {
	runes := []rune(s)
	shorten := func(n int) string {
		if n == 0 {
			return ""
		}
		return strings.TrimRightFunc(string(runes[:n]), unicode.IsSpace) + ellipsis
	}
	fits := func(n int) bool {
		b, err := marshal(with(shorten(n)))
		return err == nil && len(b) <= MaxPayload
	}
	if !fits(0) {
		return "", false
	}
	lo, hi := 0, len(runes)-1 // fits(lo) holds; the full string did not fit
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return shorten(lo), true
}

// marshal encodes without HTML escaping: the payload is read by a service
// worker, not embedded in HTML, and escaping "&" in URLs as \u0026 only
// wastes the limited payload space.
func marshal(p Payload) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// maxTopic is the Topic header limit of RFC 8030 §5.4.
const maxTopic = 32

// topic turns a notification tag into a Topic header value. RFC 8030 allows
// at most 32 characters of the URL-safe base64 alphabet; a tag that does not
// fit is replaced by a hash, which keeps "same tag ⇒ same topic", the only
// property the push service needs to replace an undelivered older message.
func topic(tag string) string {
	if tag == "" {
		return ""
	}
	if len(tag) <= maxTopic && isURLSafe(tag) {
		return tag
	}
	sum := sha256.Sum256([]byte(tag))
	return base64.RawURLEncoding.EncodeToString(sum[:24]) // 24 bytes → 32 characters
}

func isURLSafe(s string) bool {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
