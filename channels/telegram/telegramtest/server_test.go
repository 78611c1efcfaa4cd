package telegramtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPlainText(t *testing.T) {
	tests := []struct {
		html      string
		want      string
		wantError string // substring; "" = valid
	}{
		{"<b>bold</b> &amp; <i>it</i>", "bold & it", ""},
		{`<a href="https://e.com/?a=1&amp;b=2">link</a>`, "link", ""},
		{`<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>`, "xy", ""},
		{`<pre><code class="language-go">a &lt; b</code></pre>`, "a < b", ""},
		{`<blockquote expandable>q</blockquote>`, "q", ""},
		{`<tg-emoji emoji-id="1">👍</tg-emoji>`, "👍", ""},
		{"&#128512;&#x41;&quot;&gt;", `😀A">`, ""},
		{"AT&T &nbsp; & a > b", "AT&T &nbsp; & a > b", ""},
		{"<b>unclosed", "", `Can't find end tag corresponding to start tag "b"`},
		{"<b><i>x</b></i>", "", `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{"x</b>", "", "Unexpected end tag"},
		{"<div>x</div>", "", `Unsupported start tag "div"`},
		{"a < b", "", "Unclosed start tag"},
		{"<span>x</span>", "", `must have class "tg-spoiler"`},
		{"<a>x</a>", "", `must have attribute "href"`},
		{"line<br/>break", "", `Unsupported start tag "br"`},
	}
	for _, tt := range tests {
		got, err := PlainText(tt.html)
		switch {
		case tt.wantError == "" && err != nil:
			t.Errorf("PlainText(%q) error = %v; want %q", tt.html, err, tt.want)
		case tt.wantError == "" && got != tt.want:
			t.Errorf("PlainText(%q) = %q; want %q", tt.html, got, tt.want)
		case tt.wantError != "" && (err == nil || !strings.Contains(err.Error(), tt.wantError)):
			t.Errorf("PlainText(%q) = %q, %v; want an error containing %q", tt.html, got, err, tt.wantError)
		}
	}
}

func TestLength(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{{"abc", 3}, {"привет", 6}, {"😀", 2}, {"a😀b", 4}}
	for _, tt := range tests {
		if got := Length(tt.text); got != tt.want {
			t.Errorf("Length(%q) = %d; want %d", tt.text, got, tt.want)
		}
	}
}

type answer struct {
	OK          bool            `json:"ok"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Result      json.RawMessage `json:"result"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call posts an urlencoded request, the third encoding the fake accepts.
func call(t *testing.T, s *Server, method string, params url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/bot"+Token+"/"+method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: decode: %v", method, err)
	}
	if !a.OK && resp.StatusCode != a.ErrorCode {
		t.Errorf("%s: HTTP status %d but error_code %d", method, resp.StatusCode, a.ErrorCode)
	}
	return a
}

func send(t *testing.T, s *Server, chatID, text string) answer {
	t.Helper()
	return call(t, s, "sendMessage", url.Values{"chat_id": {chatID}, "text": {text}, "parse_mode": {"HTML"}})
}

func TestSendMessageChecks(t *testing.T) {
	s := New(t)
	s.Block(2)
	s.Migrate(3, -1003)
	tests := []struct {
		name, chat, text string
		wantCode         int
		wantDescription  string
	}{
		{"delivered", "1", "<b>hi</b>", 0, ""},
		{"blocked", "2", "hi", 403, "Forbidden: bot was blocked by the user"},
		{"migrated", "3", "hi", 400, "Bad Request: group chat was upgraded to a supergroup chat"},
		{"bad HTML", "4", "<b>hi", 400, "Bad Request: can't parse entities: "},
		{"empty", "5", "<b> </b>", 400, "Bad Request: message text is empty"},
		{"too long", "6", "<b>" + strings.Repeat("я", MaxMessageLength+1) + "</b>", 400, "Bad Request: message is too long"},
		{"longest allowed", "7", strings.Repeat("я", MaxMessageLength), 0, ""},
		{"no chat", "", "hi", 400, "Bad Request: chat not found"},
	}
	for _, tt := range tests {
		a := send(t, s, tt.chat, tt.text)
		if a.ErrorCode != tt.wantCode || !strings.HasPrefix(a.Description, tt.wantDescription) {
			t.Errorf("%s: sendMessage = %d %q; want %d %q", tt.name, a.ErrorCode, a.Description, tt.wantCode, tt.wantDescription)
		}
		if tt.name == "migrated" && a.Parameters.MigrateToChatID != -1003 {
			t.Errorf("migrate_to_chat_id = %d; want -1003", a.Parameters.MigrateToChatID)
		}
	}
	if n := len(s.Sent()); n != 2 {
		t.Errorf("%d delivered; want 2", n)
	}
	if n := len(s.Calls()); n != len(tests) {
		t.Errorf("%d calls recorded; want %d", n, len(tests))
	}
}

func TestRateLimits(t *testing.T) {
	s := New(t)
	if a := send(t, s, "1", "one"); !a.OK {
		t.Fatalf("first message: %s", a.Description)
	}
	a := send(t, s, "1", "two")
	if a.ErrorCode != 429 || a.Parameters.RetryAfter != 1 || a.Description != "Too Many Requests: retry after 1" {
		t.Errorf("second message to the same chat = %d %q retry_after %d; want 429 retry after 1", a.ErrorCode, a.Description, a.Parameters.RetryAfter)
	}
	for chat := 2; chat <= GlobalPerSecond; chat++ {
		if a := send(t, s, strconv.Itoa(chat), "hi"); !a.OK {
			t.Fatalf("message %d within the global limit: %s", chat, a.Description)
		}
	}
	if a := send(t, s, "999", "hi"); a.ErrorCode != 429 {
		t.Errorf("message 31 within a second = %d %q; want 429", a.ErrorCode, a.Description)
	}
	if n := s.TooMany(); n != 2 {
		t.Errorf("TooMany() = %d; want 2", n)
	}

	s.SetLimits(0, 0)
	if a := send(t, s, "1", "three"); !a.OK {
		t.Errorf("with limits off: %s", a.Description)
	}
}

// TestRateLimitsOnFakeClock measures the limits on the test's clock: the
// wall clock barely moves, yet the window and the per-chat gap pass when
// the fake clock says so.
func TestRateLimitsOnFakeClock(t *testing.T) {
	s := New(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	})
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	for chat := 1; chat <= GlobalPerSecond; chat++ {
		if a := send(t, s, strconv.Itoa(chat), "hi"); !a.OK {
			t.Fatalf("message %d within the global limit: %s", chat, a.Description)
		}
	}
	if a := send(t, s, "999", "hi"); a.ErrorCode != 429 {
		t.Errorf("message 31 in the same instant = %d %q; want 429", a.ErrorCode, a.Description)
	}
	advance(PerChatInterval - time.Millisecond)
	if a := send(t, s, "1", "again"); a.ErrorCode != 429 {
		t.Errorf("second message to chat 1 after %v = %d %q; want 429", PerChatInterval-time.Millisecond, a.ErrorCode, a.Description)
	}
	advance(time.Millisecond)
	if a := send(t, s, "1", "again"); !a.OK {
		t.Errorf("second message to chat 1 after %v: %s", PerChatInterval, a.Description)
	}
	sent := s.Sent()
	if at, want := sent[len(sent)-1].At, now; !at.Equal(want) {
		t.Errorf("SentMessage.At = %v; want the fake clock's %v", at, want)
	}
}

func TestScriptedFailures(t *testing.T) {
	s := New(t)
	s.FailNext(2, 502)
	s.TooManyNext(1, 9)
	for _, want := range []int{502, 502, 429, 0} {
		if a := send(t, s, "1", "hi"); a.ErrorCode != want {
			t.Errorf("sendMessage = %d %q; want %d", a.ErrorCode, a.Description, want)
		} else if want == 429 && a.Parameters.RetryAfter != 9 {
			t.Errorf("retry_after = %d; want 9", a.Parameters.RetryAfter)
		}
	}
}

func TestKeyboardChecks(t *testing.T) {
	s := New(t)
	s.SetLimits(0, 0)
	tests := []struct {
		markup string
		ok     bool
	}{
		{`{"inline_keyboard":[[{"text":"Open","url":"https://e.com"}]]}`, true},
		{`{"inline_keyboard":[[{"text":"Open","url":"https://e.com","copy_text":{"text":""}}]]}`, false},
		{`{"inline_keyboard":[[{"text":"","url":"https://e.com"}]]}`, false},
		{`{"inline_keyboard":[[{"text":"Open","url":"e.com"}]]}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		a := call(t, s, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"hi"}, "reply_markup": {tt.markup}})
		if a.OK != tt.ok {
			t.Errorf("reply_markup %s: ok = %v (%s); want %v", tt.markup, a.OK, a.Description, tt.ok)
		}
	}
}

func TestGetUpdatesHonoursOffset(t *testing.T) {
	s := New(t)
	first := s.PushUpdate(1, "private", "/start a")
	second := s.PushUpdate(1, "private", "/stop")
	ids := func(offset int64) []int64 {
		a := call(t, s, "getUpdates", url.Values{"offset": {strconv.FormatInt(offset, 10)}, "timeout": {"0"}})
		var updates []struct {
			UpdateID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(a.Result, &updates); err != nil {
			t.Fatalf("decode updates: %v", err)
		}
		var out []int64
		for _, u := range updates {
			out = append(out, u.UpdateID)
		}
		return out
	}
	if got := ids(0); len(got) != 2 || got[0] != first || got[1] != second {
		t.Errorf("getUpdates(offset 0) = %v; want [%d %d]", got, first, second)
	}
	if got := ids(second); len(got) != 1 || got[0] != second {
		t.Errorf("getUpdates(offset %d) = %v; want [%d]", second, got, second)
	}
	start := time.Now()
	if got := ids(second + 1); len(got) != 0 {
		t.Errorf("getUpdates after confirming all = %v; want none", got)
	}
	if waited := time.Since(start); waited > MaxPollWait {
		t.Errorf("getUpdates with timeout 0 waited %v", waited)
	}
}
