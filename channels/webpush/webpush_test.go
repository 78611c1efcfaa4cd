package webpush_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	wp "github.com/SherClockHolmes/webpush-go"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
)

// memStore is an in-memory webpush.Subscriptions.
type memStore struct {
	mu      sync.Mutex
	subs    map[string][]webpush.Subscription
	deleted []string
	err     error // returned by ForUser when set
}

func newStore() *memStore { return &memStore{subs: map[string][]webpush.Subscription{}} }

func (s *memStore) add(user string, subs ...webpush.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[user] = append(s.subs[user], subs...)
}

func (s *memStore) ForUser(_ context.Context, user string) ([]webpush.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return append([]webpush.Subscription(nil), s.subs[user]...), nil
}

func (s *memStore) Delete(_ context.Context, endpoint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, endpoint)
	for user, subs := range s.subs {
		kept := subs[:0]
		for _, sub := range subs {
			if sub.Endpoint != endpoint {
				kept = append(kept, sub)
			}
		}
		s.subs[user] = kept
	}
	return nil
}

func (s *memStore) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

type fixture struct {
	svc   *pushtest.Service
	store *memStore
	keys  webpush.KeyPair
	ch    *webpush.Channel
}

// setup returns a channel wired to a fresh fake push service. edit may
// change the config before New.
func setup(t *testing.T, edit func(*webpush.Config)) *fixture {
	t.Helper()
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatalf("GenerateKeys: %v", err)
	}
	f := &fixture{svc: pushtest.New(t), store: newStore(), keys: keys}
	cfg := webpush.Config{
		Subject:        "mailto:shop@example.org",
		Keys:           keys,
		AllowedOrigins: []string{f.svc.URL},
		Store:          f.store,
	}
	if edit != nil {
		edit(&cfg)
	}
	f.ch, err = webpush.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// device subscribes a new device of user u1.
func (f *fixture) device() webpush.Subscription {
	sub := f.svc.NewSubscription()
	f.store.add("u1", sub)
	return sub
}

func message() *channels.Message {
	return &channels.Message{
		ID:        "msg1",
		UserID:    "u1",
		Category:  "transactional",
		PushTitle: "Order #42 shipped",
		PushBody:  "Your parcel is on its way & arrives Friday.",
		PushURL:   "https://shop.example.org/orders/42?tab=status&x=1",
		PushTag:   "order-42",
	}
}

func TestSendDeliversEncryptedPayload(t *testing.T) {
	f := setup(t, nil)
	f.device()

	id, err := f.ch.Send(context.Background(), message())
	if err != nil {
		t.Fatalf("Send error = %v; want nil", err)
	}
	if id != "1/1 device" {
		t.Errorf("Send provider id = %q; want %q", id, "1/1 device")
	}
	got := f.svc.WaitReceived(t, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("received %d pushes; want 1", len(got))
	}
	p := got[0]
	want := `{"title":"Order #42 shipped","body":"Your parcel is on its way & arrives Friday.","url":"https://shop.example.org/orders/42?tab=status&x=1","tag":"order-42"}`
	if string(p.Payload) != want {
		t.Errorf("decrypted payload = %s\nwant %s", p.Payload, want)
	}
	if p.TTL != 86400 {
		t.Errorf("TTL = %d; want 86400 (the 24h default)", p.TTL)
	}
	if p.Urgency != "high" {
		t.Errorf("Urgency = %q; want high for a transactional message", p.Urgency)
	}
	if p.Topic != "order-42" {
		t.Errorf("Topic = %q; want the tag %q", p.Topic, "order-42")
	}
	if p.Subject != "mailto:shop@example.org" {
		t.Errorf("VAPID sub = %q; want exactly %q (not doubled)", p.Subject, "mailto:shop@example.org")
	}
	if p.VAPIDKey != f.keys.Public {
		t.Errorf("VAPID k = %q; want the configured public key %q", p.VAPIDKey, f.keys.Public)
	}
	if ct := p.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q; want application/octet-stream", ct)
	}
}

func TestSendHeadersAndOptions(t *testing.T) {
	longTag := "order/2024/" + strings.Repeat("ABCDEFGH", 8) // slash and length: not a valid Topic
	tests := []struct {
		name        string
		edit        func(*webpush.Config)
		msg         func(*channels.Message)
		wantTTL     int
		wantUrgency string
		wantTopic   string // "" means: check only the format
		wantIcon    string
		wantSubject string
	}{
		{
			name:        "security is high urgency",
			msg:         func(m *channels.Message) { m.Category = "security" },
			wantTTL:     86400,
			wantUrgency: "high",
			wantTopic:   "order-42",
			wantSubject: "mailto:shop@example.org",
		},
		{
			name: "marketing is normal urgency, custom TTL rounded up, icon, https subject",
			edit: func(c *webpush.Config) {
				c.TTL = 90*time.Minute + 1
				c.Icon = "/icon.png"
				c.Subject = "https://shop.example.org/contact"
			},
			msg:         func(m *channels.Message) { m.Category = "marketing" },
			wantTTL:     5401,
			wantUrgency: "normal",
			wantTopic:   "order-42",
			wantIcon:    "/icon.png",
			wantSubject: "https://shop.example.org/contact",
		},
		{
			name:        "TTL below a second is 1, never 0",
			edit:        func(c *webpush.Config) { c.TTL = time.Millisecond },
			wantTTL:     1,
			wantUrgency: "high",
			wantTopic:   "order-42",
			wantSubject: "mailto:shop@example.org",
		},
		{
			name:        "long tag is hashed into a valid topic",
			msg:         func(m *channels.Message) { m.Category = "service"; m.PushTag = longTag },
			wantTTL:     86400,
			wantUrgency: "normal",
			wantSubject: "mailto:shop@example.org",
		},
		{
			name:        "no tag: topic from the message id",
			msg:         func(m *channels.Message) { m.PushTag = "" },
			wantTTL:     86400,
			wantUrgency: "high",
			wantTopic:   "msg1",
			wantSubject: "mailto:shop@example.org",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.edit)
			f.device()
			m := message()
			if tt.msg != nil {
				tt.msg(m)
			}
			if _, err := f.ch.Send(context.Background(), m); err != nil {
				t.Fatalf("Send error = %v; want nil", err)
			}
			p := f.svc.Received()[0]
			if p.TTL != tt.wantTTL {
				t.Errorf("TTL = %d; want %d", p.TTL, tt.wantTTL)
			}
			if p.Urgency != tt.wantUrgency {
				t.Errorf("Urgency = %q; want %q", p.Urgency, tt.wantUrgency)
			}
			if tt.wantTopic != "" && p.Topic != tt.wantTopic {
				t.Errorf("Topic = %q; want %q", p.Topic, tt.wantTopic)
			}
			if p.Topic == "" || len(p.Topic) > 32 || strings.Trim(p.Topic, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Errorf("Topic = %q; want 1..32 characters of the URL-safe base64 alphabet", p.Topic)
			}
			if p.Subject != tt.wantSubject {
				t.Errorf("VAPID sub = %q; want %q", p.Subject, tt.wantSubject)
			}
			var payload map[string]any
			if err := p.Decode(&payload); err != nil {
				t.Fatalf("payload %s is not JSON: %v", p.Payload, err)
			}
			icon, hasIcon := payload["icon"]
			if tt.wantIcon == "" && hasIcon {
				t.Errorf("payload has icon %v; want no icon key when Config.Icon is empty", icon)
			}
			if tt.wantIcon != "" && icon != tt.wantIcon {
				t.Errorf("payload icon = %v; want %q", icon, tt.wantIcon)
			}
			if payload["tag"] != m.PushTag {
				t.Errorf("payload tag = %v; want the original tag %q", payload["tag"], m.PushTag)
			}
		})
	}
}

func TestSendSameLongTagSameTopic(t *testing.T) {
	f := setup(t, nil)
	f.device()
	m := message()
	m.PushTag = "order status " + strings.Repeat("x", 40)
	for i := 0; i < 2; i++ {
		m.ID = fmt.Sprintf("msg%d", i)
		if _, err := f.ch.Send(context.Background(), m); err != nil {
			t.Fatalf("Send error = %v; want nil", err)
		}
	}
	got := f.svc.Received()
	if len(got) != 2 || got[0].Topic != got[1].Topic {
		t.Fatalf("topics = %q; want two equal topics for the same tag", topics(got))
	}
	m.PushTag = "order status other"
	if _, err := f.ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send error = %v; want nil", err)
	}
	if got := f.svc.Received(); got[2].Topic == got[0].Topic {
		t.Errorf("topics = %q; want a different topic for a different tag", topics(got))
	}
}

func topics(ps []pushtest.Push) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Topic)
	}
	return out
}

// TestSendOneDeviceOutcome checks how each push service answer for the only
// device maps to Send's result and to the store.
func TestSendOneDeviceOutcome(t *testing.T) {
	httpDate := func() string { return time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat) }
	tests := []struct {
		status      int
		headers     func() map[string]string
		wantDeleted bool
		wantPerm    bool
		wantRetry   time.Duration // >0: RetryAfterDelay must be about this
	}{
		{status: 200},
		{status: 201},
		{status: 202},
		{status: 404, wantDeleted: true, wantPerm: true},
		{status: 410, wantDeleted: true, wantPerm: true},
		{status: 400, wantPerm: true},
		{status: 403, wantPerm: true},
		{status: 413, wantPerm: true},
		{status: 429, headers: func() map[string]string { return map[string]string{"Retry-After": "120"} }, wantRetry: 120 * time.Second},
		{status: 429, headers: func() map[string]string { return map[string]string{"Retry-After": httpDate()} }, wantRetry: 90 * time.Second},
		{status: 500},
		{status: 502},
		{status: 503, headers: func() map[string]string { return map[string]string{"Retry-After": "30"} }},
	}
	for _, tt := range tests {
		name := fmt.Sprint(tt.status)
		if tt.headers != nil {
			name += fmt.Sprint(tt.headers())
		}
		t.Run(name, func(t *testing.T) {
			f := setup(t, nil)
			sub := f.device()
			var h map[string]string
			if tt.headers != nil {
				h = tt.headers()
			}
			f.svc.Reply(sub, tt.status, h)

			id, err := f.ch.Send(context.Background(), message())

			if n := len(f.svc.Requests()); n != 1 {
				t.Fatalf("push service got %d requests; want 1", n)
			}
			accepted := tt.status < 300
			switch {
			case accepted && err != nil:
				t.Errorf("Send after %d error = %v; want success", tt.status, err)
			case accepted && id != "1/1 device":
				t.Errorf("Send after %d provider id = %q; want %q", tt.status, id, "1/1 device")
			case !accepted && err == nil:
				t.Errorf("Send after %d error = nil (id %q); want an error", tt.status, id)
			}
			if !accepted && err != nil && !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("Send after %d error = %q; want it to mention the status", tt.status, err)
			}
			if got := channels.IsPermanent(err); got != tt.wantPerm {
				t.Errorf("Send after %d: IsPermanent(%v) = %v; want %v", tt.status, err, got, tt.wantPerm)
			}
			delay, isRetry := channels.RetryAfterDelay(err)
			if isRetry != (tt.wantRetry > 0) {
				t.Errorf("Send after %d: RetryAfterDelay(%v) ok = %v; want %v", tt.status, err, isRetry, tt.wantRetry > 0)
			}
			if tt.wantRetry > 0 && (delay > tt.wantRetry || delay < tt.wantRetry-3*time.Second) {
				t.Errorf("Send after %d: RetryAfterDelay = %s; want %s (from Retry-After)", tt.status, delay, tt.wantRetry)
			}
			deleted := f.store.Deleted()
			if tt.wantDeleted && (len(deleted) != 1 || deleted[0] != sub.Endpoint) {
				t.Errorf("Send after %d deleted %q; want exactly %q", tt.status, deleted, sub.Endpoint)
			}
			if !tt.wantDeleted && len(deleted) != 0 {
				t.Errorf("Send after %d deleted %q; want the device kept", tt.status, deleted)
			}
			if _, skipped := channels.SkipReason(err); skipped {
				t.Errorf("Send after %d returned a skip (%v); want a delivery outcome", tt.status, err)
			}
		})
	}
}

// TestSendGoneDeletesOnlyThatDevice: a 404/410 removes that subscription and
// nothing else; the user's other device still gets this and later messages.
func TestSendGoneDeletesOnlyThatDevice(t *testing.T) {
	for _, status := range []int{404, 410} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := setup(t, nil)
			gone, alive := f.device(), f.device()
			f.svc.ReplyAlways(gone, status, nil)

			id, err := f.ch.Send(context.Background(), message())
			if err != nil {
				t.Fatalf("Send error = %v; want success, one device accepted", err)
			}
			if id != "1/2 devices" {
				t.Errorf("Send provider id = %q; want %q", id, "1/2 devices")
			}
			if deleted := f.store.Deleted(); len(deleted) != 1 || deleted[0] != gone.Endpoint {
				t.Errorf("deleted %q; want only %q", deleted, gone.Endpoint)
			}

			if _, err := f.ch.Send(context.Background(), message()); err != nil {
				t.Fatalf("second Send error = %v; want success", err)
			}
			aliveID, goneID := f.svc.DeviceID(alive), f.svc.DeviceID(gone)
			var toAlive, toGone int
			for _, p := range f.svc.Requests() {
				switch p.Device {
				case aliveID:
					toAlive++
				case goneID:
					toGone++
				}
			}
			if toAlive != 2 || toGone != 1 {
				t.Errorf("requests: %d to the live device, %d to the gone one; want 2 and 1", toAlive, toGone)
			}
		})
	}
}

func TestSendMixedOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		replies     []int // one device per reply
		wantID      string
		wantPerm    bool
		wantRetry   bool // RetryAfterDelay set
		wantErr     bool
		wantDeleted int
	}{
		{name: "410 and 201", replies: []int{410, 201}, wantID: "1/2 devices", wantDeleted: 1},
		{name: "500 and 201", replies: []int{500, 201}, wantID: "1/2 devices"},
		{name: "three accepted", replies: []int{201, 201, 201}, wantID: "3/3 devices"},
		{name: "429 and 500: plain retry", replies: []int{429, 500}, wantErr: true},
		{name: "429 and 410: retry after, gone deleted", replies: []int{429, 410}, wantErr: true, wantRetry: true, wantDeleted: 1},
		{name: "410 and 413: permanent", replies: []int{410, 413}, wantErr: true, wantPerm: true, wantDeleted: 1},
		{name: "500 and 403: retry", replies: []int{500, 403}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			for _, status := range tt.replies {
				sub := f.device()
				h := map[string]string(nil)
				if status == 429 {
					h = map[string]string{"Retry-After": "7"}
				}
				f.svc.Reply(sub, status, h)
			}
			id, err := f.ch.Send(context.Background(), message())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send with replies %v error = %v; want error %v", tt.replies, err, tt.wantErr)
			}
			if id != tt.wantID {
				t.Errorf("Send with replies %v id = %q; want %q", tt.replies, id, tt.wantID)
			}
			if got := channels.IsPermanent(err); got != tt.wantPerm {
				t.Errorf("Send with replies %v: IsPermanent(%v) = %v; want %v", tt.replies, err, got, tt.wantPerm)
			}
			d, ok := channels.RetryAfterDelay(err)
			if ok != tt.wantRetry || (ok && d != 7*time.Second) {
				t.Errorf("Send with replies %v: RetryAfterDelay(%v) = %s, %v; want 7s, %v", tt.replies, err, d, ok, tt.wantRetry)
			}
			if n := len(f.store.Deleted()); n != tt.wantDeleted {
				t.Errorf("Send with replies %v deleted %d devices; want %d", tt.replies, n, tt.wantDeleted)
			}
		})
	}
}

func TestSendOnceThenNormal(t *testing.T) {
	f := setup(t, nil)
	sub := f.device()
	f.svc.Reply(sub, 500, nil)
	if _, err := f.ch.Send(context.Background(), message()); err == nil || channels.IsPermanent(err) {
		t.Fatalf("first Send error = %v; want a retryable error", err)
	}
	if _, err := f.ch.Send(context.Background(), message()); err != nil {
		t.Fatalf("retry Send error = %v; want success after a one-time 500", err)
	}
	if n := len(f.svc.Received()); n != 1 {
		t.Errorf("received %d pushes; want 1", n)
	}
}

func TestSendManyDevicesConcurrently(t *testing.T) {
	f := setup(t, nil)
	const n = 20
	for i := 0; i < n; i++ {
		f.device()
	}
	id, err := f.ch.Send(context.Background(), message())
	if err != nil || id != fmt.Sprintf("%d/%d devices", n, n) {
		t.Fatalf("Send = %q, %v; want %d/%d devices", id, err, n, n)
	}
	seen := map[string]bool{}
	for _, p := range f.svc.WaitReceived(t, n, 5*time.Second) {
		seen[p.Device] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct devices received; want %d", len(seen), n)
	}
}

func TestSendSkips(t *testing.T) {
	t.Run("not configured", func(t *testing.T) {
		for _, cfg := range []webpush.Config{
			{Store: newStore()},
			{Store: newStore(), Subject: "mailto:a@b.org"},
		} {
			ch, err := webpush.New(cfg)
			if err != nil {
				t.Fatalf("New(%+v) error = %v; want nil", cfg, err)
			}
			_, err = ch.Send(context.Background(), message())
			if reason, ok := channels.SkipReason(err); !ok || !strings.Contains(reason, "not configured") {
				t.Errorf("Send without keys error = %v; want a skip saying web push is not configured", err)
			}
		}
		keys, _ := webpush.GenerateKeys()
		ch, err := webpush.New(webpush.Config{Store: newStore(), Keys: keys})
		if err != nil {
			t.Fatalf("New without subject error = %v; want nil", err)
		}
		if _, err := ch.Send(context.Background(), message()); err == nil {
			t.Errorf("Send without subject error = nil; want a skip")
		} else if _, ok := channels.SkipReason(err); !ok {
			t.Errorf("Send without subject error = %v; want a skip", err)
		}
	})
	t.Run("no subscription", func(t *testing.T) {
		f := setup(t, nil)
		_, err := f.ch.Send(context.Background(), message())
		if reason, ok := channels.SkipReason(err); !ok || reason != "user has no web push subscription" {
			t.Errorf("Send without subscriptions error = %v; want skip %q", err, "user has no web push subscription")
		}
	})
	t.Run("store error is retryable", func(t *testing.T) {
		f := setup(t, nil)
		f.store.err = errors.New("database is locked")
		_, err := f.ch.Send(context.Background(), message())
		if err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "database is locked") {
			t.Errorf("Send with a failing store error = %v; want a retryable error mentioning the cause", err)
		}
	})
}

func TestSendNetworkErrorIsRetryable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // nothing listens there any more

	f := setup(t, func(c *webpush.Config) { c.AllowedOrigins = append(c.AllowedOrigins, deadURL) })
	sub := f.svc.NewSubscription()
	sub.Endpoint = deadURL + "/push/secret-token"
	f.store.add("u1", sub)

	_, err := f.ch.Send(context.Background(), message())
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("Send to a closed port error = %v; want a retryable error", err)
	}
	if _, ok := channels.RetryAfterDelay(err); ok {
		t.Errorf("Send to a closed port error = %v; want a plain error, not RetryAfter", err)
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("Send error = %q; want the endpoint token left out of the message", err)
	}
	if n := len(f.store.Deleted()); n != 0 {
		t.Errorf("deleted %d devices after a network error; want 0", n)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	f := setup(t, func(c *webpush.Config) {
		c.AllowedOrigins = []string{slow.URL}
		c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	})
	sub := f.svc.NewSubscription()
	sub.Endpoint = slow.URL + "/push/x"
	f.store.add("u1", sub)

	start := time.Now()
	_, err := f.ch.Send(context.Background(), message())
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("Send to a hanging push service error = %v; want a retryable error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %s; want it bounded by the HTTP client timeout", d)
	}
}

func TestSendRefusesForeignStoredEndpoint(t *testing.T) {
	var hits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer foreign.Close()

	f := setup(t, nil)
	sub := f.svc.NewSubscription()
	sub.Endpoint = foreign.URL + "/internal/admin"
	f.store.add("u1", sub)

	_, err := f.ch.Send(context.Background(), message())
	if !channels.IsPermanent(err) {
		t.Errorf("Send to a stored endpoint outside the allowed origins error = %v; want permanent", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the foreign server got %d requests; want 0", hits.Load())
	}
}

// countingTransport records how many response bodies were handed out and
// closed.
type countingTransport struct {
	base           http.RoundTripper
	opened, closed atomic.Int32
}

type countingBody struct {
	io.ReadCloser
	t *countingTransport
}

func (b *countingBody) Close() error {
	b.t.closed.Add(1)
	return b.ReadCloser.Close()
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		c.opened.Add(1)
		resp.Body = &countingBody{resp.Body, c}
	}
	return resp, err
}

func TestSendClosesEveryResponseBody(t *testing.T) {
	tr := &countingTransport{base: http.DefaultTransport}
	f := setup(t, func(c *webpush.Config) { c.HTTPClient = &http.Client{Transport: tr, Timeout: 5 * time.Second} })
	for _, status := range []int{201, 404, 410, 413, 429, 500} {
		f.svc.Reply(f.device(), status, nil)
	}
	if _, err := f.ch.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send error = %v; want success (one device accepted)", err)
	}
	if o, c := tr.opened.Load(), tr.closed.Load(); o != 6 || c != 6 {
		t.Errorf("response bodies: %d opened, %d closed; want 6 and 6", o, c)
	}
}

func TestSendShortensOversizedPayload(t *testing.T) {
	tests := []struct {
		name  string
		title string
		body  string
	}{
		{name: "ascii body", title: "Order shipped", body: strings.Repeat("a", 10000)},
		{name: "multibyte body", title: "Bestellung", body: strings.Repeat("é漢🎉", 2000)},
		{name: "escaped body", title: "Quotes", body: strings.Repeat("\"<\\>\x01", 2000)},
		{name: "invalid utf-8 body", title: "Bytes", body: strings.Repeat("ok\xff\xfe", 2000)},
		{name: "huge title", title: strings.Repeat("T", 5000), body: strings.Repeat("b", 5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, func(c *webpush.Config) { c.Icon = "https://shop.example.org/icon.png" })
			f.device()
			m := message()
			m.PushTitle, m.PushBody = tt.title, tt.body
			if _, err := f.ch.Send(context.Background(), m); err != nil {
				t.Fatalf("Send with a %d-byte body error = %v; want success", len(tt.body), err)
			}
			p := f.svc.Received()[0]
			if len(p.Payload) > webpush.MaxPayload {
				t.Errorf("payload is %d bytes; want at most %d", len(p.Payload), webpush.MaxPayload)
			}
			if !utf8.Valid(p.Payload) {
				t.Errorf("payload is not valid UTF-8")
			}
			var got webpush.Payload
			if err := json.Unmarshal(p.Payload, &got); err != nil {
				t.Fatalf("payload is not valid JSON: %v", err)
			}
			if got.URL != m.PushURL || got.Tag != m.PushTag || got.Icon != "https://shop.example.org/icon.png" {
				t.Errorf("payload url/tag/icon = %q/%q/%q; want them unchanged", got.URL, got.Tag, got.Icon)
			}
			if len(tt.title) < 1000 && got.Title != tt.title {
				t.Errorf("title = %q; want it unchanged when shortening the body is enough", got.Title)
			}
			if got.Body != "" && !strings.HasSuffix(got.Body, "…") {
				t.Errorf("shortened body ends with %q; want …", lastRunes(got.Body, 5))
			}
			if got.Body == "" && !strings.HasSuffix(got.Title, "…") {
				t.Errorf("body emptied but title %q… not shortened; want the title shortened only after the body", lastRunes(got.Title, 5))
			}
			if len(p.Payload) < webpush.MaxPayload-64 {
				t.Errorf("payload is %d bytes; want it filled close to %d, not cut short", len(p.Payload), webpush.MaxPayload)
			}
		})
	}
}

func lastRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[len(r)-n:]
	}
	return string(r)
}

// TestMaxPayloadMatchesWebpushGo pins MaxPayload to the library: webpush-go
// encrypts exactly MaxPayload bytes and refuses one more.
func TestMaxPayloadMatchesWebpushGo(t *testing.T) {
	svc := pushtest.New(t)
	keys, _ := webpush.GenerateKeys()
	sub := svc.NewSubscription()
	opts := &wp.Options{Subscriber: "shop@example.org", TTL: 60, VAPIDPublicKey: keys.Public, VAPIDPrivateKey: keys.Private, HTTPClient: &http.Client{Timeout: 5 * time.Second}}
	s := &wp.Subscription{Endpoint: sub.Endpoint, Keys: wp.Keys{P256dh: sub.P256dh, Auth: sub.Auth}}

	resp, err := wp.SendNotification([]byte(strings.Repeat("x", webpush.MaxPayload)), s, opts)
	if err != nil {
		t.Fatalf("webpush-go with %d bytes error = %v; want success", webpush.MaxPayload, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("fake push service answered %d to a %d-byte payload; want 201 (rejected: %v)", resp.StatusCode, webpush.MaxPayload, svc.Rejected())
	}
	if got := svc.Received()[0].Payload; len(got) != webpush.MaxPayload {
		t.Errorf("decrypted %d bytes; want %d", len(got), webpush.MaxPayload)
	}
	if _, err := wp.SendNotification([]byte(strings.Repeat("x", webpush.MaxPayload+1)), s, opts); !errors.Is(err, wp.ErrMaxPadExceeded) {
		t.Errorf("webpush-go with %d bytes error = %v; want ErrMaxPadExceeded", webpush.MaxPayload+1, err)
	}
}

func TestNew(t *testing.T) {
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatalf("GenerateKeys: %v", err)
	}
	other, _ := webpush.GenerateKeys()
	pub, _ := base64.RawURLEncoding.DecodeString(keys.Public)
	priv, _ := base64.RawURLEncoding.DecodeString(keys.Private)
	if len(pub) != 65 || pub[0] != 4 || len(priv) != 32 {
		t.Fatalf("GenerateKeys = %d-byte public, %d-byte private; want 65 (uncompressed) and 32", len(pub), len(priv))
	}
	store := newStore()
	tests := []struct {
		name    string
		cfg     webpush.Config
		wantErr string // "" means success
	}{
		{name: "empty is valid", cfg: webpush.Config{Store: store}},
		{name: "full", cfg: webpush.Config{Store: store, Keys: keys, Subject: "mailto:a@example.org"}},
		{name: "https subject", cfg: webpush.Config{Store: store, Keys: keys, Subject: "https://example.org/contact"}},
		{name: "padded std base64 keys", cfg: webpush.Config{Store: store, Subject: "mailto:a@example.org", Keys: webpush.KeyPair{
			Public: base64.StdEncoding.EncodeToString(pub), Private: base64.StdEncoding.EncodeToString(priv)}}},
		{name: "no store", cfg: webpush.Config{Keys: keys}, wantErr: "Store"},
		{name: "mismatched keys", cfg: webpush.Config{Store: store, Keys: webpush.KeyPair{Public: keys.Public, Private: other.Private}}, wantErr: "does not belong"},
		{name: "half a key pair", cfg: webpush.Config{Store: store, Keys: webpush.KeyPair{Public: keys.Public}}, wantErr: "both"},
		{name: "garbage private key", cfg: webpush.Config{Store: store, Keys: webpush.KeyPair{Public: keys.Public, Private: "not a key!"}}, wantErr: "private key"},
		{name: "bare address subject", cfg: webpush.Config{Store: store, Keys: keys, Subject: "a@example.org"}, wantErr: "mailto:"},
		{name: "doubled mailto subject", cfg: webpush.Config{Store: store, Keys: keys, Subject: "mailto:mailto:a@example.org"}, wantErr: "one address"},
		{name: "negative TTL", cfg: webpush.Config{Store: store, TTL: -time.Second}, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := webpush.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New(%s) error = %v; want nil", tt.name, err)
				}
				if tt.cfg.Keys.Public != "" && ch.PublicKey() != keys.Public {
					t.Errorf("PublicKey() = %q; want the unpadded base64url %q", ch.PublicKey(), keys.Public)
				}
				if ch.Name() != channels.WebPush {
					t.Errorf("Name() = %q; want %q", ch.Name(), channels.WebPush)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%s) error = %v; want one mentioning %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

// The channel satisfies the interface the dispatcher uses.
var _ channels.Channel = (*webpush.Channel)(nil)
