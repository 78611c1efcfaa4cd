package telegram

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
)

func TestParseStart(t *testing.T) {
	tests := []struct {
		text      string
		wantToken string
		wantOK    bool
	}{
		{"/start abc123", "abc123", true},
		{"/start@pbnotify_bot abc123", "abc123", true},
		{"  /start   abc123  ", "abc123", true},
		{"/start\tabc123", "abc123", true},
		{"/START abc123", "abc123", true},
		{"/start abc123 extra words", "abc123", true},
		{"/start", "", true},
		{"/start@pbnotify_bot", "", true},
		{"/startx abc", "", false},
		{"/stop", "", false},
		{"start abc", "", false},
		{"hello /start abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		token, ok := ParseStart(tt.text)
		if token != tt.wantToken || ok != tt.wantOK {
			t.Errorf("ParseStart(%q) = %q, %v; want %q, %v", tt.text, token, ok, tt.wantToken, tt.wantOK)
		}
	}
}

func TestIsStop(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"/stop", true},
		{" /stop@pbnotify_bot ", true},
		{"/stop now", true},
		{"/stopped", false},
		{"/start", false},
		{"stop", false},
	}
	for _, tt := range tests {
		if got := IsStop(tt.text); got != tt.want {
			t.Errorf("IsStop(%q) = %v; want %v", tt.text, got, tt.want)
		}
	}
}

const webhookBody = `{"update_id":501,"message":{"message_id":9,"date":1700000000,
	"chat":{"id":4242,"type":"private"},
	"from":{"id":4242,"is_bot":false,"first_name":"Ann","last_name":"Lee","username":"annlee","language_code":"ru"},
	"text":"/start tok_123"}}`

func TestParseWebhook(t *testing.T) {
	tests := []struct {
		name    string
		header  string // "" = no header
		secret  string
		body    string
		want    Update
		wantErr error // nil: success; errAny: some other error
	}{
		{
			name: "right secret", header: "s3cret", secret: "s3cret", body: webhookBody,
			want: Update{ID: 501, ChatID: 4242, ChatType: "private", Text: "/start tok_123",
				FromID: 4242, FromUsername: "annlee", FromName: "Ann Lee", FromLanguage: "ru"},
		},
		{name: "wrong secret", header: "guess", secret: "s3cret", body: webhookBody, wantErr: ErrBadSecret},
		{name: "missing secret", secret: "s3cret", body: webhookBody, wantErr: ErrBadSecret},
		{name: "no secret configured", header: "", secret: "", body: webhookBody, wantErr: ErrBadSecret},
		{name: "bad JSON", header: "s3cret", secret: "s3cret", body: `{"update_id":`, wantErr: errAny},
		{
			name: "bot blocked", header: "s3cret", secret: "s3cret",
			body: `{"update_id":502,"my_chat_member":{"chat":{"id":4242,"type":"private"},"from":{"id":4242,"username":"annlee"},
				"date":1,"old_chat_member":{"status":"member"},"new_chat_member":{"status":"kicked"}}}`,
			want: Update{ID: 502, ChatID: 4242, ChatType: "private", FromID: 4242, FromUsername: "annlee", Blocked: true},
		},
		{
			name: "group upgraded", header: "s3cret", secret: "s3cret",
			body: `{"update_id":503,"message":{"chat":{"id":-100,"type":"group"},"migrate_to_chat_id":-1000100}}`,
			want: Update{ID: 503, ChatID: -100, ChatType: "group", MigrateToChat: -1000100},
		},
		{
			name: "update kinds we do not read", header: "s3cret", secret: "s3cret",
			body: `{"update_id":504,"edited_message":{"chat":{"id":1,"type":"private"},"text":"x"}}`,
			want: Update{ID: 504},
		},
		{
			name: "a button press", header: "s3cret", secret: "s3cret",
			body: `{"update_id":505,"callback_query":{"id":"77","data":"move:abc","from":{"id":42,"username":"bob","first_name":"Bob","language_code":"en"},"message":{"message_id":9,"chat":{"id":42,"type":"private"}}}}`,
			want: Update{ID: 505, ChatID: 42, ChatType: "private", FromID: 42, FromUsername: "bob", FromName: "Bob", FromLanguage: "en", CallbackID: "77", CallbackData: "move:abc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(tt.body))
			if tt.header != "" {
				r.Header.Set("X-Telegram-Bot-Api-Secret-Token", tt.header)
			}
			got, err := ParseWebhook(r, tt.secret)
			switch {
			case tt.wantErr == errAny:
				if err == nil || errors.Is(err, ErrBadSecret) {
					t.Errorf("ParseWebhook(%s) error = %v; want a decoding error", tt.name, err)
				}
			case !errors.Is(err, tt.wantErr):
				t.Errorf("ParseWebhook(%s) error = %v; want %v", tt.name, err, tt.wantErr)
			case got != tt.want:
				t.Errorf("ParseWebhook(%s) = %+v; want %+v", tt.name, got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestPollReceivesUpdates(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	c, _ := newTestChannel(t, srv)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()

	got := make(chan Update, 10)
	done := make(chan error, 1)
	go func() { done <- c.Poll(ctx, func(_ context.Context, u Update) { got <- u }) }()

	receive := func() Update {
		t.Helper()
		select {
		case u := <-got:
			return u
		case <-time.After(10 * time.Second):
			t.Fatalf("no update received")
			return Update{}
		}
	}

	id := srv.PushUpdate(4242, "private", "/start tok_123")
	u := receive()
	if u.ID != id || u.ChatID != 4242 || u.ChatType != "private" || u.FromUsername != "user4242" {
		t.Errorf("Poll delivered %+v; want update %d from chat 4242", u, id)
	}
	if token, ok := ParseStart(u.Text); !ok || token != "tok_123" {
		t.Errorf("ParseStart(%q) = %q, %v; want tok_123, true", u.Text, token, ok)
	}

	// A second update arrives alone: the first was confirmed by the offset.
	srv.PushUpdate(4242, "private", "/stop")
	if u := receive(); !IsStop(u.Text) {
		t.Errorf("second update = %+v; want /stop", u)
	}
	select {
	case u := <-got:
		t.Errorf("unexpected extra update %+v", u)
	case <-time.After(2 * telegramtest.MaxPollWait):
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Poll returned %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Poll did not return after cancel")
	}
}

func TestPollReportsErrorsAndKeepsGoing(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}))
	t.Cleanup(api.Close)

	var reported atomic.Int32
	c, err := New(Config{Token: telegramtest.Token, APIURL: api.URL, OnPollError: func(err error) {
		if strings.Contains(err.Error(), telegramtest.Token) {
			t.Errorf("poll error leaks the token: %v", err)
		}
		reported.Add(1)
	}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() { done <- c.Poll(ctx, func(context.Context, Update) { t.Errorf("handler called on error") }) }()

	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Poll returned %v; want context.Canceled", err)
	}
	if calls.Load() < 2 || reported.Load() < 1 {
		t.Errorf("getUpdates called %d times, %d errors reported; want a retry after a reported error", calls.Load(), reported.Load())
	}
}

func TestLongPollWaitStaysUnderClientTimeout(t *testing.T) {
	tests := []struct{ client, want time.Duration }{
		{0, 25 * time.Second},
		{30 * time.Second, 25 * time.Second},
		{20 * time.Second, 15 * time.Second},
		{3 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := longPollWait(tt.client); got != tt.want {
			t.Errorf("longPollWait(%v) = %v; want %v", tt.client, got, tt.want)
		}
	}
}
