package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/webhook"
	"github.com/pbnotify/pbnotify/channels/webhook/webhooktest"
)

// secret is a valid whsec_ secret of 32 bytes.
var secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// t0 is the time of every test's first attempt; both clocks are set to it,
// so no test depends on the wall clock.
var t0 = time.Date(2026, 3, 1, 10, 4, 5, 0, time.UTC)

// eventTime is when the test's order was shipped, before the first attempt.
var eventTime = time.Date(2026, 3, 1, 10, 0, 0, 123_000_000, time.UTC)

// clock is a settable clock shared by the channel and the receiver.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func message() *channels.Message {
	return &channels.Message{
		ID:       "msg1abc",
		UserID:   "user1",
		Subject:  "Order 1001 shipped",
		Text:     "Your order 1001 is on its way.",
		HTML:     "<p>not sent by webhooks</p>",
		PushURL:  "https://shop.example/orders/1001",
		Category: "transactional",
	}
}

// shipped is the Config.Event the tests use, as the lead's hook would be:
// the mapping of EventFrom plus the template key, time and record.
func shipped(m *channels.Message) webhook.Event {
	ev := webhook.EventFrom(m)
	ev.Type = "order.shipped"
	ev.Time = eventTime
	ev.Record = map[string]any{"id": "ord1", "number": float64(1001), "status": "shipped"}
	return ev
}

type setup struct {
	rcv   *webhooktest.Receiver
	ch    *webhook.Channel
	clock *clock
}

// newSetup starts a receiver and a channel pointed at it, both on one
// clock at t0; edit changes the channel's Config before New.
func newSetup(t *testing.T, edit ...func(*webhook.Config)) setup {
	t.Helper()
	clk := &clock{now: t0}
	rcv := webhooktest.New(t, secret)
	rcv.SetNow(clk.Now)
	cfg := webhook.Config{URL: rcv.URL, Secret: secret, Now: clk.Now, Event: shipped}
	for _, e := range edit {
		e(&cfg)
	}
	ch, err := webhook.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return setup{rcv: rcv, ch: ch, clock: clk}
}

// retryable reports whether err leaves the message to the dispatcher's
// backoff: not permanent, not a dictated delay, not a skip.
func retryable(err error) bool {
	_, delayed := channels.RetryAfterDelay(err)
	_, skipped := channels.SkipReason(err)
	return err != nil && !channels.IsPermanent(err) && !delayed && !skipped
}

func TestSendDeliversContractPayload(t *testing.T) {
	s := newSetup(t)
	id, err := s.ch.Send(context.Background(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "204 No Content" {
		t.Errorf("provider id = %q; want the receiver's status line", id)
	}
	got := s.rcv.Received()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries; want 1", len(got))
	}
	d := got[0]
	if d.ID != "msg1abc" {
		t.Errorf("webhook-id = %q; want the message id", d.ID)
	}
	if !d.Timestamp.Equal(t0) {
		t.Errorf("webhook-timestamp = %v; want the attempt's time %v", d.Timestamp, t0)
	}
	if ua := d.Header.Get("User-Agent"); ua != webhook.UserAgent || !strings.Contains(ua, "pbnotify") {
		t.Errorf("User-Agent = %q; want %q", ua, webhook.UserAgent)
	}
	p := d.Payload
	if p.Type != "order.shipped" {
		t.Errorf("type = %q; want the template key", p.Type)
	}
	if p.Timestamp != "2026-03-01T10:00:00.123Z" {
		t.Errorf("timestamp = %q; want the event's time in RFC 3339 UTC", p.Timestamp)
	}
	want := map[string]string{
		"message": "msg1abc", "user": "user1", "subject": "Order 1001 shipped",
		"text": "Your order 1001 is on its way.", "url": "https://shop.example/orders/1001",
	}
	gotData := map[string]string{
		"message": p.Data.Message, "user": p.Data.User, "subject": p.Data.Subject,
		"text": p.Data.Text, "url": p.Data.URL,
	}
	for k, v := range want {
		if gotData[k] != v {
			t.Errorf("data.%s = %q; want %q", k, gotData[k], v)
		}
	}
	if p.Data.Record["number"] != float64(1001) || p.Data.Record["status"] != "shipped" {
		t.Errorf("data.record = %v; want the order", p.Data.Record)
	}
	if bytes.Contains(d.Body, []byte("not sent by webhooks")) {
		t.Errorf("body carries the email HTML: %s", d.Body)
	}
}

// Without Event.Time the payload's timestamp is the attempt's; without a
// record, data.record is null (still present: the receiver checks the keys).
func TestSendDefaultsTimeAndRecord(t *testing.T) {
	s := newSetup(t, func(c *webhook.Config) {
		c.Event = func(m *channels.Message) webhook.Event {
			ev := webhook.EventFrom(m)
			ev.Type = "welcome"
			return ev
		}
	})
	if _, err := s.ch.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := s.rcv.Received()[0]
	if d.Payload.Timestamp != "2026-03-01T10:04:05Z" {
		t.Errorf("timestamp = %q; want the attempt's time", d.Payload.Timestamp)
	}
	if !bytes.Contains(d.Body, []byte(`"record":null`)) {
		t.Errorf("body = %s; want \"record\":null", d.Body)
	}
}

// A retried message keeps its webhook-id and event timestamp, so receivers
// deduplicate it, and is signed afresh for the new attempt's time.
func TestRetryKeepsWebhookID(t *testing.T) {
	s := newSetup(t)
	s.rcv.Reply(http.StatusInternalServerError, nil)
	_, err := s.ch.Send(context.Background(), message())
	if !retryable(err) {
		t.Fatalf("first Send = %v; want a retryable error", err)
	}
	s.clock.Add(10 * time.Minute) // beyond the tolerance: the old signature would be refused
	if _, err := s.ch.Send(context.Background(), message()); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	got := s.rcv.Received()
	if len(got) != 2 {
		t.Fatalf("receiver got %d deliveries; want 2", len(got))
	}
	if got[0].ID != got[1].ID || got[0].ID != "msg1abc" {
		t.Errorf("webhook-ids = %q, %q; want the message id twice", got[0].ID, got[1].ID)
	}
	if got[0].Payload.Timestamp != got[1].Payload.Timestamp {
		t.Errorf("payload timestamps = %q, %q; want the event's time twice", got[0].Payload.Timestamp, got[1].Payload.Timestamp)
	}
	if !got[1].Timestamp.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("second webhook-timestamp = %v; want the second attempt's time", got[1].Timestamp)
	}
	if got[0].Signature == got[1].Signature {
		t.Errorf("both attempts carry signature %q; want each signed for its own time", got[0].Signature)
	}
}

// tamper is a transport that changes a request after the channel signed it,
// as a man in the middle would.
type tamper func(*http.Request)

func (f tamper) RoundTrip(req *http.Request) (*http.Response, error) {
	f(req)
	return http.DefaultTransport.RoundTrip(req)
}

func replaceBody(req *http.Request, old, new string) {
	b, _ := io.ReadAll(req.Body)
	b = bytes.Replace(b, []byte(old), []byte(new), 1)
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
}

// The receiver refuses anything but the signed request: the signature
// covers the body, the id and the timestamp, and only the right secret
// produces it. A refusal (401) is retried like any other answer.
func TestReceiverRefusesTampering(t *testing.T) {
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret of thirty-two b.."))
	tests := []struct {
		name string
		edit func(*webhook.Config)
	}{
		{"other secret", func(c *webhook.Config) { c.Secret = other }},
		{"body", func(c *webhook.Config) {
			c.HTTPClient = &http.Client{Transport: tamper(func(r *http.Request) { replaceBody(r, "1001", "9999") })}
		}},
		{"id", func(c *webhook.Config) {
			c.HTTPClient = &http.Client{Transport: tamper(func(r *http.Request) { r.Header.Set("webhook-id", "msg2") })}
		}},
		{"timestamp", func(c *webhook.Config) {
			c.HTTPClient = &http.Client{Transport: tamper(func(r *http.Request) {
				r.Header.Set("webhook-timestamp", "1772359446") // t0 + 1s
			})}
		}},
		{"clock beyond the tolerance", func(c *webhook.Config) {
			c.Now = func() time.Time { return t0.Add(-webhooktest.Tolerance - time.Second) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t, tt.edit)
			s.rcv.ExpectRejections()
			_, err := s.ch.Send(context.Background(), message())
			if !retryable(err) || !strings.Contains(err.Error(), "401") {
				t.Errorf("Send = %v; want a retryable 401", err)
			}
			if n := len(s.rcv.Received()); n != 0 {
				t.Errorf("receiver accepted %d deliveries; want none", n)
			}
			if rej := s.rcv.Rejected(); len(rej) != 1 || rej[0].Status != http.StatusUnauthorized {
				t.Errorf("Rejected() = %v; want one 401", rej)
			}
		})
	}
}

// A clock just inside the tolerance is accepted: the previous test fails
// for the skew, not for something else.
func TestClockSkewWithinTolerance(t *testing.T) {
	s := newSetup(t, func(c *webhook.Config) {
		c.Now = func() time.Time { return t0.Add(-webhooktest.Tolerance + time.Second) }
	})
	if _, err := s.ch.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestGoneIsPermanent(t *testing.T) {
	s := newSetup(t)
	s.rcv.Reply(http.StatusGone, nil)
	_, err := s.ch.Send(context.Background(), message())
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "410") {
		t.Errorf("Send = %v; want a permanent error naming 410", err)
	}
}

func TestTooManyRequestsRetriesAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string // header value; "" for none
		want       time.Duration
	}{
		{"seconds", "120", 120 * time.Second},
		{"HTTP date", t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"absent", "", webhook.DefaultRetryAfter},
		{"garbage", "soon", webhook.DefaultRetryAfter},
		{"a year", "31536000", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			var h map[string]string
			if tt.retryAfter != "" {
				h = map[string]string{"Retry-After": tt.retryAfter}
			}
			s.rcv.Reply(http.StatusTooManyRequests, h)
			_, err := s.ch.Send(context.Background(), message())
			got, ok := channels.RetryAfterDelay(err)
			if !ok || got != tt.want {
				t.Errorf("Send = %v; want RetryAfter(%s)", err, tt.want)
			}
		})
	}
}

// Every other answer is retried with backoff, as the contract says
// ("2xx = sent, 410 = failed, the rest retried"): a 404 or 401 is usually a
// receiver being deployed or reconfigured, which a retry outlives.
func TestOtherAnswersAreRetried(t *testing.T) {
	for _, status := range []int{400, 401, 404, 409, 500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			s := newSetup(t)
			s.rcv.Reply(status, map[string]string{"Retry-After": "5"})
			_, err := s.ch.Send(context.Background(), message())
			if !retryable(err) {
				t.Errorf("Send = %v; want a retryable error", err)
			}
		})
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	s := newSetup(t, func(c *webhook.Config) {
		// Short so the test is quick; the outcome does not depend on it.
		c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
	})
	s.rcv.Hang()
	_, err := s.ch.Send(context.Background(), message())
	var timeout interface{ Timeout() bool }
	if !retryable(err) || !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("Send = %v; want a retryable timeout", err)
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	// The address of a receiver that has stopped: its sub-test has ended.
	var dead string
	t.Run("receiver", func(t *testing.T) { dead = webhooktest.New(t, secret).URL })
	ch, err := webhook.New(webhook.Config{URL: dead + "?token=s3cret", Secret: secret, Event: shipped})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Send(context.Background(), message())
	if !retryable(err) {
		t.Errorf("Send = %v; want a retryable error", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Send error %q quotes the URL's token", err)
	}
}

// A redirect is not followed: a webhook must not be bounced to an address
// the shop did not configure. It is retried, in case the receiver is fixed.
func TestRedirectIsNotFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			s := newSetup(t)
			elsewhere := webhooktest.New(t, secret)
			s.rcv.Reply(status, map[string]string{"Location": elsewhere.URL + "?token=s3cret"})
			_, err := s.ch.Send(context.Background(), message())
			if !retryable(err) || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("Send = %v; want a retryable error about the redirect", err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Send error %q quotes the Location's token", err)
			}
			if n := len(elsewhere.Received()); n != 0 {
				t.Errorf("the redirect target got %d deliveries; want none", n)
			}
		})
	}
}

// The caller's client is copied, not changed: its own redirect policy
// stays as it was for its other uses.
func TestCallersClientKeepsItsRedirectPolicy(t *testing.T) {
	client := &http.Client{}
	newSetup(t, func(c *webhook.Config) { c.HTTPClient = client })
	if client.CheckRedirect != nil {
		t.Error("New changed the caller's HTTPClient.CheckRedirect")
	}
}

// A receiver's error page is quoted briefly, not whole, in the message's
// error, and never with the URL's secret parts.
func TestErrorsAreShortAndRedacted(t *testing.T) {
	s := newSetup(t, func(c *webhook.Config) { c.URL += "?token=s3cret" })
	s.rcv.Script(webhooktest.Reply{Status: 500, Body: strings.Repeat("x", 1<<20)})
	_, err := s.ch.Send(context.Background(), message())
	if err == nil {
		t.Fatal("Send succeeded; want the 500")
	}
	if len(err.Error()) > 1024 {
		t.Errorf("error is %d bytes long; want the body's start only", len(err.Error()))
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "/hook") {
		t.Errorf("error %q names more of the URL than its host", err)
	}
}

// A message the channel cannot describe fails for good without a request.
func TestUnsendableEventIsPermanent(t *testing.T) {
	tests := []struct {
		name  string
		event func(*channels.Message) webhook.Event
	}{
		{"no Event hook, so no type", nil},
		{"no message id", func(m *channels.Message) webhook.Event {
			ev := shipped(m)
			ev.MessageID = ""
			return ev
		}},
		{"a dot in the id", func(m *channels.Message) webhook.Event {
			ev := shipped(m)
			ev.MessageID = "msg.1"
			return ev
		}},
		{"a record that is not JSON", func(m *channels.Message) webhook.Event {
			ev := shipped(m)
			ev.Record = map[string]any{"f": func() {}}
			return ev
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t, func(c *webhook.Config) { c.Event = tt.event })
			_, err := s.ch.Send(context.Background(), message())
			if !channels.IsPermanent(err) {
				t.Errorf("Send = %v; want a permanent error", err)
			}
			if n := len(s.rcv.Received()) + len(s.rcv.Rejected()); n != 0 {
				t.Errorf("receiver got %d requests; want none", n)
			}
		})
	}
}

func TestNotConfiguredSkips(t *testing.T) {
	ch, err := webhook.New(webhook.Config{})
	if err != nil {
		t.Fatalf("New(Config{}) = %v; want an off channel", err)
	}
	if ch.Configured() {
		t.Error("Configured() = true for an empty Config")
	}
	if ch.Name() != "webhook" || webhook.Name != "webhook" {
		t.Errorf("Name() = %q; want \"webhook\"", ch.Name())
	}
	_, err = ch.Send(context.Background(), message())
	if reason, ok := channels.SkipReason(err); !ok || !strings.Contains(reason, "NOTIFY_WEBHOOK_URL") {
		t.Errorf("Send = %v; want a skip naming NOTIFY_WEBHOOK_URL", err)
	}
}

func TestNewValidates(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23))
	long := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65))
	min := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 24))
	tests := []struct {
		url, secret string
		wantErr     string // "" for valid
	}{
		{"https://crm.example/hook", secret, ""},
		{"https://crm.example/hook", min, ""},
		{"http://localhost:8080/hook", secret, ""},
		{"http://127.0.0.1/hook", secret, ""},
		{"http://[::1]/hook", secret, ""},
		{"http://192.168.1.10/1c", secret, ""},
		{"http://10.0.0.5:9000/hook", secret, ""},
		{"http://crm:8080/hook", secret, ""}, // a docker-compose service
		{"http://crm.example/hook", secret, "NOTIFY_WEBHOOK_URL"},
		{"http://8.8.8.8/hook", secret, "NOTIFY_WEBHOOK_URL"},
		{"ftp://crm.example/hook", secret, "NOTIFY_WEBHOOK_URL"},
		{"/hook", secret, "NOTIFY_WEBHOOK_URL"},
		{"crm.example/hook", secret, "NOTIFY_WEBHOOK_URL"},
		{"https://", secret, "NOTIFY_WEBHOOK_URL"},
		{"https://crm.example/hook#x", secret, "NOTIFY_WEBHOOK_URL"},
		{"https://crm.example/hook", "", "NOTIFY_WEBHOOK_SECRET"},
		{"https://crm.example/hook", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3", "NOTIFY_WEBHOOK_SECRET"}, // no prefix
		{"https://crm.example/hook", "whsec_not base64!", "NOTIFY_WEBHOOK_SECRET"},
		{"https://crm.example/hook", short, "NOTIFY_WEBHOOK_SECRET"},
		{"https://crm.example/hook", long, "NOTIFY_WEBHOOK_SECRET"},
		{"", secret, "NOTIFY_WEBHOOK_URL"},
	}
	for _, tt := range tests {
		_, err := webhook.New(webhook.Config{URL: tt.url, Secret: tt.secret})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("New(%q, %q) = %v; want ok", tt.url, tt.secret, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("New(%q, %q) = %v; want an error naming %s", tt.url, tt.secret, err, tt.wantErr)
		}
		if err != nil && tt.secret != "" && strings.Contains(err.Error(), strings.TrimPrefix(tt.secret, "whsec_")) {
			t.Errorf("New(%q, …) error %q quotes the secret", tt.url, err)
		}
	}
}
