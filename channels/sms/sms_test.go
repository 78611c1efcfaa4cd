package sms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/channels/sms/smstest"
)

func newTwilio(t *testing.T, srv *smstest.Server, edit ...func(*sms.Config)) *sms.Channel {
	t.Helper()
	cfg := sms.Config{Provider: "twilio", APIURL: srv.URL, Account: smstest.AccountSID, Token: smstest.AuthToken, From: smstest.From}
	for _, e := range edit {
		e(&cfg)
	}
	ch, err := sms.New(cfg)
	if err != nil {
		t.Fatalf("sms.New: %v", err)
	}
	return ch
}

func newSMSRu(t *testing.T, srv *smstest.Server, edit ...func(*sms.Config)) *sms.Channel {
	t.Helper()
	cfg := sms.Config{Provider: "smsru", APIURL: srv.URL, Token: smstest.APIID, From: "MyShop"}
	for _, e := range edit {
		e(&cfg)
	}
	ch, err := sms.New(cfg)
	if err != nil {
		t.Fatalf("sms.New: %v", err)
	}
	return ch
}

// outcome names what the queue does with Send's error.
func outcome(err error) string {
	if err == nil {
		return "sent"
	}
	if _, ok := channels.SkipReason(err); ok {
		return "skipped"
	}
	if channels.IsPermanent(err) {
		return "failed"
	}
	if _, ok := channels.RetryAfterDelay(err); ok {
		return "retry after"
	}
	return "retried"
}

func msg(to, text string) *channels.Message {
	return &channels.Message{ID: "m1", UserID: "u1", To: to, SMS: text}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sms.Config
		wantErr []string // substrings of the error; none means New succeeds
	}{
		{"off", sms.Config{}, nil},
		{"twilio", sms.Config{Provider: "twilio", Account: "AC1", Token: "t", From: "+15005550006"}, nil},
		{"provider is case-insensitive", sms.Config{Provider: " Twilio ", Account: "AC1", Token: "t", From: "Shop"}, nil},
		{"smsru without from", sms.Config{Provider: "smsru", Token: "api-id"}, nil},
		{"unknown provider", sms.Config{Provider: "nexmo", Token: "t"}, []string{`unknown Provider (NOTIFY_SMS_PROVIDER) "nexmo"`, `"twilio" or "smsru"`}},
		{"credentials without provider", sms.Config{Token: "t"}, []string{"NOTIFY_SMS_PROVIDER", "is not set"}},
		{"twilio without anything", sms.Config{Provider: "twilio"}, []string{"Account (NOTIFY_SMS_ACCOUNT) is required", "Token (NOTIFY_SMS_TOKEN) is required", "From (NOTIFY_SMS_FROM) is required"}},
		{"twilio with a key sid", sms.Config{Provider: "twilio", Account: "SK123", Token: "t", From: "Shop"}, []string{"starts with AC"}},
		{"smsru without api_id", sms.Config{Provider: "smsru"}, []string{"Token (NOTIFY_SMS_TOKEN) is required for smsru"}},
		{"bad api url", sms.Config{Provider: "smsru", Token: "t", APIURL: "sms.ru"}, []string{`APIURL (NOTIFY_SMS_API_URL) "sms.ru" is not an http(s) URL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := sms.New(tt.cfg)
			if len(tt.wantErr) == 0 {
				if err != nil || ch == nil {
					t.Fatalf("sms.New(%+v) = %v, %v; want a channel", tt.cfg, ch, err)
				}
				if ch.Name() != "sms" {
					t.Errorf("Name() = %q; want %q", ch.Name(), "sms")
				}
				return
			}
			if err == nil {
				t.Fatalf("sms.New(%+v) succeeded; want an error with %q", tt.cfg, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("sms.New(%+v) = %q; want it to contain %q", tt.cfg, err, want)
				}
			}
		})
	}
}

func TestNotConfiguredSkips(t *testing.T) {
	ch, err := sms.New(sms.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Send(context.Background(), msg("+79123456789", "hi"))
	if reason, ok := channels.SkipReason(err); !ok || !strings.Contains(reason, "NOTIFY_SMS_PROVIDER") {
		t.Errorf("Send on an unconfigured channel = %v; want a skip naming NOTIFY_SMS_PROVIDER", err)
	}
}

func TestTwilioSent(t *testing.T) {
	srv := smstest.New(t)
	ch := newTwilio(t, srv)
	id, err := ch.Send(context.Background(), msg("8 (912) 345-67-89", "Заказ №1001 отправлен"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	sent := srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("the provider received %d messages; want 1", len(sent))
	}
	want := smstest.Message{Provider: smstest.Twilio, To: "+79123456789", From: smstest.From, Body: "Заказ №1001 отправлен", ID: id}
	if got := withoutForm(sent[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("the provider received %+v; want %+v", got, want)
	}
	if !strings.HasPrefix(id, "SM") {
		t.Errorf("provider id = %q; want Twilio's message sid", id)
	}
}

func TestSMSRuSent(t *testing.T) {
	srv := smstest.New(t)
	for _, tt := range []struct {
		from     string // Config.From
		wantFrom string // the from field received
		hasFrom  bool   // whether the field is in the form at all
	}{
		{"MyShop", "MyShop", true},
		{"", "", false}, // the account's default sender: no from field at all
	} {
		ch := newSMSRu(t, srv, func(c *sms.Config) { c.From = tt.from })
		id, err := ch.Send(context.Background(), msg("+7 912 345 67 89", "Order 1001 shipped"))
		if err != nil {
			t.Fatalf("Send (from %q): %v", tt.from, err)
		}
		sent := srv.Sent()
		got := sent[len(sent)-1]
		want := smstest.Message{Provider: smstest.SMSRu, To: "79123456789", From: tt.wantFrom, Body: "Order 1001 shipped", ID: id}
		if !reflect.DeepEqual(withoutForm(got), want) || id == "" {
			t.Errorf("Send (from %q): the provider received %+v, id %q; want %+v", tt.from, got, id, want)
		}
		if _, has := got.Form["from"]; has != tt.hasFrom {
			t.Errorf("Send (from %q): form %v has from: %v; want %v", tt.from, got.Form, has, tt.hasFrom)
		}
	}
}

// TestTwilioOutcomes checks how each of Twilio's answers becomes the
// message's fate, through the fake provider's real error shapes.
func TestTwilioOutcomes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		to        string
		reply     *smstest.Reply // scripted answer; nil: the fake decides
		token     string         // "" = the right one
		want      string         // outcome
		wantErr   string         // substring of the error
		wantAfter time.Duration  // for "retry after"
	}{
		{name: "invalid number", to: "+1 555 123 4567",
			reply: ptr(smstest.TwilioError(400, 21211, "The 'To' number +15551234567 is not a valid phone number.")),
			want:  "failed", wantErr: "21211 The 'To' number +15551234567 is not a valid phone number."},
		{name: "number the provider itself refuses", to: "+1234567",
			want: "failed", wantErr: "21211 The 'To' number +1234567 is not a valid phone number."},
		{name: "unsubscribed recipient", to: "+447946095800",
			reply: ptr(smstest.TwilioError(400, 21610, "Attempt to send to unsubscribed recipient")),
			want:  "failed", wantErr: "21610"},
		{name: "429 with seconds", to: "+447946095800", reply: ptr(smstest.TwilioTooMany("7")),
			want: "retry after", wantErr: "20429", wantAfter: 7 * time.Second},
		{name: "429 with a date", to: "+447946095800", reply: ptr(smstest.TwilioTooMany(now.Add(90 * time.Second).Format(http.TimeFormat))),
			want: "retry after", wantAfter: 90 * time.Second},
		{name: "429 without Retry-After", to: "+447946095800", reply: ptr(smstest.TwilioTooMany("")),
			want: "retry after", wantAfter: sms.DefaultRetryAfter},
		{name: "429 asking for days", to: "+447946095800", reply: ptr(smstest.TwilioTooMany("864000")),
			want: "retry after", wantAfter: sms.MaxRetryAfter},
		{name: "500", to: "+447946095800", reply: ptr(smstest.ServerError(500)), want: "retried", wantErr: "HTTP 500"},
		{name: "503", to: "+447946095800", reply: ptr(smstest.ServerError(503)), want: "retried", wantErr: "HTTP 503"},
		{name: "wrong token", to: "+447946095800", token: "wrong",
			want: "retried", wantErr: "20003 Authenticate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smstest.New(t)
			if tt.reply != nil {
				srv.ReplyNext(*tt.reply)
			}
			ch := newTwilio(t, srv, func(c *sms.Config) {
				c.Now = func() time.Time { return now }
				if tt.token != "" {
					c.Token = tt.token
				}
			})
			id, err := ch.Send(context.Background(), msg(tt.to, "Your order has shipped"))
			if got := outcome(err); got != tt.want {
				t.Fatalf("Send(%q) = %q, %v (%s); want %s", tt.to, id, err, got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send(%q) error = %q; want it to contain %q", tt.to, err, tt.wantErr)
			}
			if d, _ := channels.RetryAfterDelay(err); d != tt.wantAfter {
				t.Errorf("Send(%q) retry after = %s; want %s", tt.to, d, tt.wantAfter)
			}
			if n := len(srv.Sent()); n != 0 {
				t.Errorf("the provider accepted %d messages; want 0", n)
			}
		})
	}
}

// TestSMSRuOutcomes checks how SMS.ru's answers (always HTTP 200, with the
// verdict in the JSON) become the message's fate.
func TestSMSRuOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		to        string
		reply     *smstest.Reply // scripted answer; nil: the fake decides
		token     string         // "" = the right api_id
		want      string         // outcome
		wantErr   string         // substring of the error
		wantAfter time.Duration  // for "retry after"
	}{
		{name: "no route to the number", to: "+79123456789",
			reply: ptr(smstest.SMSRuNumberError(207, "На этот номер нет маршрута для доставки сообщений")),
			want:  "failed", wantErr: "207 На этот номер нет маршрута"},
		{name: "number in the stop list", to: "+79123456789",
			reply: ptr(smstest.SMSRuNumberError(209, "Вы добавили этот номер (или один из номеров) в стоп-лист")),
			want:  "failed", wantErr: "209"},
		{name: "number the provider itself refuses", to: "+1234567",
			want: "failed", wantErr: "202 Неправильно указан номер"},
		{name: "same text within a minute", to: "+79123456789",
			reply: ptr(smstest.SMSRuNumberError(231, "Превышен лимит одинаковых сообщений на этот номер в минуту")),
			want:  "retry after", wantErr: "231", wantAfter: time.Minute},
		{name: "wrong api_id", to: "+79123456789", token: "wrong",
			want: "retried", wantErr: "200 Неправильный api_id"},
		{name: "no money", to: "+79123456789",
			reply: ptr(smstest.SMSRuError(201, "Не хватает средств на лицевом счету")),
			want:  "retried", wantErr: "201 Не хватает средств"},
		{name: "service unavailable", to: "+79123456789",
			reply: ptr(smstest.SMSRuError(220, "Сервис временно недоступен, попробуйте чуть позже")),
			want:  "retried", wantErr: "220"},
		{name: "text too long", to: "+79123456789",
			reply: ptr(smstest.SMSRuError(205, "Сообщение слишком длинное (превышает 8 СМС)")),
			want:  "failed", wantErr: "205"},
		{name: "HTTP 502", to: "+79123456789", reply: ptr(smstest.ServerError(502)),
			want: "retried", wantErr: "HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smstest.New(t)
			if tt.reply != nil {
				srv.ReplyNext(*tt.reply)
			}
			ch := newSMSRu(t, srv, func(c *sms.Config) {
				if tt.token != "" {
					c.Token = tt.token
				}
			})
			id, err := ch.Send(context.Background(), msg(tt.to, "Ваш заказ отправлен"))
			if got := outcome(err); got != tt.want {
				t.Fatalf("Send(%q) = %q, %v (%s); want %s", tt.to, id, err, got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send(%q) error = %q; want it to contain %q", tt.to, err, tt.wantErr)
			}
			if d, _ := channels.RetryAfterDelay(err); d != tt.wantAfter {
				t.Errorf("Send(%q) retry after = %s; want %s", tt.to, d, tt.wantAfter)
			}
			if n := len(srv.Sent()); n != 0 {
				t.Errorf("the provider accepted %d messages; want 0", n)
			}
		})
	}
}

// TestUnusableMessagesMakeNoRequest: a number that is not a phone number is
// skipped with the reason, an empty text fails, and neither costs a request.
func TestUnusableMessagesMakeNoRequest(t *testing.T) {
	tests := []struct {
		to, text string
		want     string // outcome
		wantErr  string // substring of the error or skip reason
	}{
		{"", "hi", "skipped", "no phone number"},
		{"call me", "hi", "skipped", "contains letters"},
		{"8 912 345", "hi", "skipped", "trunk prefix 8"},
		{"+1 234 567 890 123 456", "hi", "skipped", "too long"},
		{"+79123456789", " \n", "skipped", "no sms text"},
	}
	for _, provider := range []string{"twilio", "smsru"} {
		srv := smstest.New(t)
		ch := newTwilio(t, srv)
		if provider == "smsru" {
			ch = newSMSRu(t, srv)
		}
		for _, tt := range tests {
			_, err := ch.Send(context.Background(), msg(tt.to, tt.text))
			if got := outcome(err); got != tt.want || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: Send(%q, %q) = %v (%s); want %s with %q", provider, tt.to, tt.text, err, got, tt.want, tt.wantErr)
			}
		}
		if n := srv.Requests(); n != 0 {
			t.Errorf("%s: the provider got %d requests; want 0", provider, n)
		}
	}
}

// TestNetworkErrorIsRetried: a provider that cannot be reached is an outage,
// retried with backoff, never a failed message.
func TestNetworkErrorIsRetried(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens at its address any more
	for _, provider := range []string{"twilio", "smsru"} {
		ch, err := sms.New(sms.Config{Provider: provider, APIURL: down.URL, Account: smstest.AccountSID, Token: "t", From: smstest.From})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Send(context.Background(), msg("+79123456789", "hi"))
		if got := outcome(err); got != "retried" || !strings.Contains(err.Error(), "sms: "+provider+": send:") {
			t.Errorf("%s: Send to a closed port = %v (%s); want a retried error from the send step", provider, err, got)
		}
	}
}

func TestSendHonoursContext(t *testing.T) {
	srv := smstest.New(t)
	ch := newTwilio(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ch.Send(ctx, msg("+79123456789", "hi"))
	if got := outcome(err); got != "retried" || !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v (%s); want a retried context.Canceled", err, got)
	}
}

// withoutForm drops the raw form, which tests check on their own.
func withoutForm(m smstest.Message) smstest.Message {
	m.Form = nil
	return m
}

func ptr[T any](v T) *T { return &v }
