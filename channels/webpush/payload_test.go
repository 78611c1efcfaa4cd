package webpush

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestEncodePayloadFitsAndIsMaximal(t *testing.T) {
	// Sizes around the limit, with runes of 1 to 4 bytes and characters JSON
	// escapes, so every cut point and escape width is exercised.
	pieces := []string{"a", "é", "漢", "🎉", "\"", "\n", "\x01", "a b "}
	for _, piece := range pieces {
		for n := 3900; n < 4100; n += 7 {
			body := strings.Repeat(piece, n/len(piece)+1)
			p := Payload{Title: "Title", Body: body, URL: "https://x.example/o/1", Tag: "t"}
			b, err := encodePayload(p)
			if err != nil {
				t.Fatalf("encodePayload(body %d×%q) error = %v; want nil", n, piece, err)
			}
			if len(b) > MaxPayload || !json.Valid(b) || !utf8.Valid(b) {
				t.Fatalf("encodePayload(body %d×%q) = %d bytes, valid JSON %v, valid UTF-8 %v; want ≤ %d, true, true",
					n, piece, len(b), json.Valid(b), utf8.Valid(b), MaxPayload)
			}
			var got Payload
			_ = json.Unmarshal(b, &got)
			if got.Body == body {
				continue // it fitted unchanged
			}
			if !strings.HasSuffix(got.Body, ellipsis) {
				t.Fatalf("encodePayload(body %d×%q) body ends %q; want …", n, piece, got.Body[max(0, len(got.Body)-8):])
			}
			// Maximal: one more rune of the original would not fit.
			// (A space after the cut is trimmed, so the next rune is only
			// comparable when it is not a space.)
			kept, runes := []rune(strings.TrimSuffix(got.Body, ellipsis)), []rune(body)
			if k := len(kept); k < len(runes) && !unicode.IsSpace(runes[k]) {
				longer := p
				longer.Body = string(runes[:k+1]) + ellipsis
				if lb, _ := marshal(longer); len(lb) <= MaxPayload {
					t.Errorf("encodePayload(body %d×%q) kept %d runes, but %d would fit (%d bytes)", n, piece, k, k+1, len(lb))
				}
			}
		}
	}
}

func TestEncodePayloadShortensTitleLast(t *testing.T) {
	p := Payload{Title: strings.Repeat("T", 5000), Body: "body", URL: "https://x.example/", Tag: "t"}
	b, err := encodePayload(p)
	if err != nil {
		t.Fatalf("encodePayload(5000-byte title) error = %v; want nil", err)
	}
	var got Payload
	if err := json.Unmarshal(b, &got); err != nil || len(b) > MaxPayload {
		t.Fatalf("encodePayload(5000-byte title) = %d bytes, %v; want valid JSON ≤ %d", len(b), err, MaxPayload)
	}
	if got.Body != "" || !strings.HasSuffix(got.Title, ellipsis) {
		t.Errorf("encodePayload(5000-byte title) body %q, title ends %q; want body emptied, title shortened with …", got.Body, got.Title[len(got.Title)-5:])
	}

	p = Payload{Title: "t", Body: "b", URL: "https://x.example/" + strings.Repeat("u", 4000)}
	if _, err := encodePayload(p); err == nil {
		t.Errorf("encodePayload(4000-byte url) error = nil; want errPayloadTooLarge")
	}
}

func TestEncodePayloadTrimsSpaceBeforeEllipsis(t *testing.T) {
	p := Payload{Title: "t", Body: strings.Repeat("word ", 1000)}
	b, _ := encodePayload(p)
	var got Payload
	_ = json.Unmarshal(b, &got)
	if strings.HasSuffix(got.Body, " "+ellipsis) {
		t.Errorf("shortened body ends %q; want no space before …", got.Body[len(got.Body)-8:])
	}
}

func TestTopic(t *testing.T) {
	tests := []struct {
		tag, want string
	}{
		{"", ""},
		{"order-42", "order-42"},
		{"Order_42-abc", "Order_42-abc"},
		{strings.Repeat("a", 32), strings.Repeat("a", 32)},
	}
	for _, tt := range tests {
		if got := topic(tt.tag); got != tt.want {
			t.Errorf("topic(%q) = %q; want %q", tt.tag, got, tt.want)
		}
	}
	for _, tag := range []string{strings.Repeat("a", 33), "order/42", "order 42", "заказ-42", "a.b"} {
		got := topic(tag)
		if len(got) != 32 || !isURLSafe(got) {
			t.Errorf("topic(%q) = %q; want a 32-character URL-safe hash", tag, got)
		}
		if got != topic(tag) {
			t.Errorf("topic(%q) is not deterministic", tag)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"120", 120 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", time.Second},
		{"-3", time.Second},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), time.Second},
		{"999999999999", maxRetryAfter},
		{"", defaultRetryAfter},
		{"soon", defaultRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s; want %s", tt.header, got, tt.want)
		}
	}
}

func TestVAPIDSubscriber(t *testing.T) {
	// webpush-go prepends "mailto:" unless the value starts with "https:",
	// so a mailto subject is passed without its prefix.
	tests := []struct {
		subject, want, wantErr string
	}{
		{"mailto:shop@example.org", "shop@example.org", ""},
		{"MAILTO:shop@example.org", "shop@example.org", ""},
		{" mailto:shop@example.org ", "shop@example.org", ""},
		{"https://example.org/contact", "https://example.org/contact", ""},
		{"HTTPS://example.org/", "https://example.org/", ""},
		{"mailto:mailto:shop@example.org", "", "one address"},
		{"mailto:a@x.org,b@x.org", "", "one address"},
		{"mailto:", "", "one address"},
		{"shop@example.org", "", "must start with"},
		{"http://example.org", "", "must start with"},
		{"https://", "", "not a valid https URL"},
	}
	for _, tt := range tests {
		got, err := vapidSubscriber(tt.subject)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("vapidSubscriber(%q) error = %v; want one containing %q", tt.subject, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("vapidSubscriber(%q) = %q, %v; want %q, nil", tt.subject, got, err, tt.want)
		}
	}
}

func TestUrgency(t *testing.T) {
	for category, want := range map[string]string{
		"security": "high", "transactional": "high", "service": "normal", "marketing": "normal", "": "normal",
	} {
		if got := string(urgency(category)); got != want {
			t.Errorf("urgency(%q) = %q; want %q", category, got, want)
		}
	}
}
