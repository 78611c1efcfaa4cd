package pushtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pbnotify/pbnotify/channels/webpush"
)

// send pushes msg to sub with webpush-go, the library the channel uses, and
// returns the status. edit may change the options first.
func send(t *testing.T, sub webpush.Subscription, msg string, edit func(*wp.Options)) int {
	t.Helper()
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	opts := &wp.Options{
		Subscriber:      "shop@example.org", // webpush-go adds "mailto:"
		TTL:             60,
		Urgency:         wp.UrgencyHigh,
		Topic:           "order-1",
		VAPIDPublicKey:  keys.Public,
		VAPIDPrivateKey: keys.Private,
		HTTPClient:      &http.Client{Timeout: 5 * time.Second},
	}
	if edit != nil {
		edit(opts)
	}
	resp, err := wp.SendNotification([]byte(msg), &wp.Subscription{Endpoint: sub.Endpoint, Keys: wp.Keys{P256dh: sub.P256dh, Auth: sub.Auth}}, opts)
	if err != nil {
		t.Fatalf("webpush-go: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestServiceDecryptsValidPush(t *testing.T) {
	s := New(t)
	sub := s.NewSubscription()
	if status := send(t, sub, `{"title":"hi"}`, nil); status != http.StatusCreated {
		t.Fatalf("valid push answered %d; want 201 (rejected: %v)", status, s.Rejected())
	}
	got := s.WaitReceived(t, 1, time.Second)
	p := got[0]
	if string(p.Payload) != `{"title":"hi"}` || p.TTL != 60 || p.Urgency != "high" || p.Topic != "order-1" || p.Subject != "mailto:shop@example.org" || p.Device != s.DeviceID(sub) {
		t.Errorf("received %+v; want the payload, TTL 60, Urgency high, Topic order-1, sub mailto:shop@example.org on device %s", p, s.DeviceID(sub))
	}
	var v struct{ Title string }
	if err := p.Decode(&v); err != nil || v.Title != "hi" {
		t.Errorf("Decode = %+v, %v; want title hi", v, err)
	}
}

// roundTripFunc lets a test rewrite requests on their way out.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestServiceRejectsMalformedRequests(t *testing.T) {
	rewrite := func(edit func(r *http.Request)) func(*wp.Options) {
		return func(o *wp.Options) {
			o.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				edit(r)
				return http.DefaultTransport.RoundTrip(r)
			})}
		}
	}
	flipLastByte := func(r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body[len(body)-1] ^= 1
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	other, _ := webpush.GenerateKeys()

	tests := []struct {
		name       string
		edit       func(*wp.Options)
		wrongKeys  bool // encrypt to another device's keys
		wantStatus int
		wantReason string
	}{
		{name: "doubled mailto", edit: func(o *wp.Options) { o.Subscriber = "mailto:shop@example.org" }, wantStatus: 403, wantReason: `"mailto:mailto:shop@example.org"`},
		{name: "TTL 0", edit: func(o *wp.Options) { o.TTL = 0 }, wantStatus: 400, wantReason: "TTL"},
		{name: "long topic", edit: func(o *wp.Options) { o.Topic = strings.Repeat("t", 33) }, wantStatus: 400, wantReason: "Topic"},
		{name: "topic with slash", edit: func(o *wp.Options) { o.Topic = "order/1" }, wantStatus: 400, wantReason: "Topic"},
		{name: "signed by another key", edit: func(o *wp.Options) { o.VAPIDPrivateKey = other.Private }, wantStatus: 403, wantReason: "signature"},
		{name: "no authorization", edit: rewrite(func(r *http.Request) { r.Header.Del("Authorization") }), wantStatus: 403, wantReason: "vapid scheme"},
		{name: "old aesgcm encoding", edit: rewrite(func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }), wantStatus: 400, wantReason: "aes128gcm"},
		{name: "no TTL", edit: rewrite(func(r *http.Request) { r.Header.Del("TTL") }), wantStatus: 400, wantReason: "TTL"},
		{name: "bad urgency", edit: rewrite(func(r *http.Request) { r.Header.Set("Urgency", "urgent") }), wantStatus: 400, wantReason: "Urgency"},
		{name: "tampered body", edit: rewrite(flipLastByte), wantStatus: 400, wantReason: "authentication failed"},
		{name: "encrypted to other keys", wrongKeys: true, wantStatus: 400, wantReason: "authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			s.ExpectRejections()
			sub := s.NewSubscription()
			if tt.wrongKeys {
				o := s.NewSubscription()
				sub.P256dh, sub.Auth = o.P256dh, o.Auth
			}
			status := send(t, sub, "secret", tt.edit)
			if status != tt.wantStatus {
				t.Errorf("%s answered %d; want %d (rejected: %v)", tt.name, status, tt.wantStatus, s.Rejected())
			}
			rej := s.Rejected()
			if len(rej) != 1 || !strings.Contains(rej[0].Reason, tt.wantReason) {
				t.Errorf("Rejected() = %v; want one rejection mentioning %q", rej, tt.wantReason)
			}
			if n := len(s.Received()); n != 0 {
				t.Errorf("Received() has %d pushes; want 0 after a rejection", n)
			}
		})
	}
}

// vapidHeaderFor builds a VAPID Authorization header by hand, to test the
// claims webpush-go never gets wrong.
func vapidHeaderFor(t *testing.T, aud string, exp time.Time, sub string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"aud": aud, "exp": exp.Unix(), "sub": sub}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return "vapid t=" + token + ", k=" + base64.RawURLEncoding.EncodeToString(pub)
}

func TestServiceChecksJWTClaims(t *testing.T) {
	tests := []struct {
		name       string
		aud        string // "" means the service's origin
		exp        time.Duration
		sub        string
		wantReason string // "" means accepted
	}{
		{name: "other audience", aud: "https://fcm.googleapis.com", exp: time.Hour, sub: "mailto:a@example.org", wantReason: "aud"},
		{name: "audience with path", aud: "AUDPATH", exp: time.Hour, sub: "mailto:a@example.org", wantReason: "aud"},
		{name: "valid mailto", exp: time.Hour, sub: "mailto:a@example.org"},
		{name: "valid https", exp: 23 * time.Hour, sub: "https://example.org/contact"},
		{name: "expired", exp: -time.Minute, sub: "mailto:a@example.org", wantReason: "expired"},
		{name: "beyond 24h", exp: 25 * time.Hour, sub: "mailto:a@example.org", wantReason: "24 hours"},
		{name: "bare address", exp: time.Hour, sub: "a@example.org", wantReason: "mailto: or https:"},
		{name: "doubled mailto", exp: time.Hour, sub: "mailto:mailto:a@example.org", wantReason: "not one mailto: address"},
		{name: "two addresses", exp: time.Hour, sub: "mailto:a@example.org,b@example.org", wantReason: "not one mailto: address"},
		{name: "https without host", exp: time.Hour, sub: "https:", wantReason: "not an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			s.ExpectRejections()
			sub := s.NewSubscription()
			aud := tt.aud
			switch aud {
			case "":
				aud = s.URL
			case "AUDPATH":
				aud = s.URL + "/push/" + s.DeviceID(sub)
			}
			header := vapidHeaderFor(t, aud, time.Now().Add(tt.exp), tt.sub)
			status := send(t, sub, "x", func(o *wp.Options) {
				o.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					r = r.Clone(r.Context())
					r.Header.Set("Authorization", header)
					return http.DefaultTransport.RoundTrip(r)
				})}
			})
			rej := s.Rejected()
			if tt.wantReason == "" {
				if status != 201 || len(rej) != 0 {
					t.Errorf("JWT %s answered %d, rejected %v; want 201", tt.name, status, rej)
				}
				return
			}
			if status != 403 || len(rej) != 1 || !strings.Contains(rej[0].Reason, tt.wantReason) {
				t.Errorf("JWT %s answered %d, rejected %v; want 403 mentioning %q", tt.name, status, rej, tt.wantReason)
			}
		})
	}
}

func TestServiceScriptedReplies(t *testing.T) {
	s := New(t)
	once, always, gone := s.NewSubscription(), s.NewSubscription(), s.NewSubscription()

	s.Reply(once, 500, nil)
	s.Reply(once, 429, map[string]string{"Retry-After": "3"})
	s.ReplyAlways(always, 410, nil)
	s.Unsubscribe(gone)

	for i, want := range []int{500, 429, 201, 201} {
		if got := send(t, once, "x", nil); got != want {
			t.Errorf("request %d to the scripted device answered %d; want %d", i+1, got, want)
		}
	}
	for i := 0; i < 3; i++ {
		if got := send(t, always, "x", nil); got != 410 {
			t.Errorf("request %d to the always-410 device answered %d; want 410", i+1, got)
		}
	}
	s.ReplyAlways(always, 0, nil)
	if got := send(t, always, "x", nil); got != 201 {
		t.Errorf("after ReplyAlways(0) answered %d; want 201", got)
	}
	if got := send(t, gone, "x", nil); got != 410 {
		t.Errorf("unsubscribed device answered %d; want 410", got)
	}
	unknown := once
	unknown.Endpoint = s.URL + "/push/nope"
	if got := send(t, unknown, "x", nil); got != 404 {
		t.Errorf("unknown device answered %d; want 404", got)
	}

	if n := len(s.Received()); n != 3 {
		t.Errorf("Received() has %d pushes; want 3 (2 + 1 accepted)", n)
	}
	if n := len(s.Requests()); n != 8 {
		t.Errorf("Requests() has %d; want 8 valid requests to known devices", n)
	}
	if r := s.Rejected(); len(r) != 0 {
		t.Errorf("Rejected() = %v; want none: scripted failures are not rejections", r)
	}
}

func TestServiceRetryAfterHeader(t *testing.T) {
	s := New(t)
	sub := s.NewSubscription()
	s.Reply(sub, 429, map[string]string{"Retry-After": "42"})
	keys, _ := webpush.GenerateKeys()
	resp, err := wp.SendNotification([]byte("x"), &wp.Subscription{Endpoint: sub.Endpoint, Keys: wp.Keys{P256dh: sub.P256dh, Auth: sub.Auth}},
		&wp.Options{Subscriber: "a@b.org", TTL: 1, VAPIDPublicKey: keys.Public, VAPIDPrivateKey: keys.Private})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "42" {
		t.Errorf("scripted reply = %d Retry-After %q; want 429 and 42", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// recordingTB captures what the service reports to its test.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errors   []string
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}
func (r *recordingTB) Fatalf(f string, a ...any) { r.Errorf(f, a...) }
func (r *recordingTB) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestUnexpectedRejectionFailsTheTest(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := New(rec)
	sub := s.NewSubscription()
	send(t, sub, "x", func(o *wp.Options) { o.TTL = 0 })
	rec.cleanup()
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "TTL") {
		t.Errorf("errors reported at cleanup = %q; want one about the TTL rejection", rec.errors)
	}
}

func TestWaitReceivedTimesOut(t *testing.T) {
	s := New(t)
	rec := &recordingTB{TB: t}
	start := time.Now()
	if got := s.WaitReceived(rec, 1, 50*time.Millisecond); got != nil {
		t.Errorf("WaitReceived = %v; want nil after the timeout", got)
	}
	if len(rec.errors) != 1 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("WaitReceived reported %q after %s; want one failure after 50ms", rec.errors, time.Since(start))
	}
}

func TestWaitReceivedWakesUp(t *testing.T) {
	s := New(t)
	sub := s.NewSubscription()
	rec := &recordingTB{TB: t}
	done := make(chan []Push)
	go func() { done <- s.WaitReceived(rec, 2, 5*time.Second) }()
	send(t, sub, "1", nil)
	send(t, sub, "2", nil)
	if got := <-done; len(got) != 2 || string(got[0].Payload) != "1" || string(got[1].Payload) != "2" || len(rec.errors) != 0 {
		t.Errorf("WaitReceived = %v (errors %q); want the two pushes in order", got, rec.errors)
	}
}

func TestSubscriptionJSONParses(t *testing.T) {
	s := New(t)
	sub := s.NewSubscription()
	got, err := webpush.ParseSubscription(SubscriptionJSON(sub), []string{s.URL})
	if err != nil || got != sub {
		t.Errorf("ParseSubscription(SubscriptionJSON(sub)) = %+v, %v; want %+v", got, err, sub)
	}
}
