// Package telegramtest is a fake Telegram Bot API for tests, served over
// real HTTP by httptest. It behaves like the parts of the real API that
// notification delivery depends on, so code that passes against it has
// exercised the real request encoding and error handling:
//
//   - sendMessage is recorded (Sent, Calls, WaitSent) and checked like
//     Telegram checks it: parse_mode=HTML must be valid (PlainText), the text
//     at most 4096 characters and not blank, the keyboard well-formed;
//   - rate limits are enforced: more than 30 messages in any second, or a
//     second message to the same chat within a second, get a 429 with
//     retry_after (counted by TooMany), measured on the wall clock or on
//     the test's fake clock (SetClock);
//   - failures can be scripted per chat (Block, Migrate) or for the next
//     requests (FailNext, TooManyNext);
//   - getUpdates serves updates queued with PushUpdate, honouring offset and
//     answering empty after at most MaxPollWait;
//   - getMe, setWebhook and deleteWebhook answer as Telegram does.
//
// Use it from any package's tests:
//
//	srv := telegramtest.New(t)
//	ch, _ := telegram.New(telegram.Config{Token: telegramtest.Token, APIURL: srv.URL})
//	... ch.Send(ctx, &channels.Message{To: "42", Telegram: "<b>hi</b>"}) ...
//	msgs := srv.WaitSent(t, 1, 5*time.Second)
//	// msgs[0].ChatID == 42, msgs[0].Text == "<b>hi</b>"
package telegramtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Token is a well-formed bot token to use with the fake. The fake accepts
// any non-empty token.
const Token = "123456789:TEST-fake-token"

// BotUsername is what getMe answers.
const BotUsername = "pbnotify_test_bot"

// Telegram's limits, as enforced by default.
const (
	MaxMessageLength = 4096
	GlobalPerSecond  = 30
	PerChatInterval  = time.Second
)

// MaxPollWait caps how long getUpdates waits for updates, whatever timeout
// the client asks for, so that tests never wait 25 seconds.
const MaxPollWait = time.Second

// SentMessage is one sendMessage call.
type SentMessage struct {
	MessageID   int    // assigned when delivered; 0 if rejected
	ChatID      int64  // chat_id as sent
	Text        string // text exactly as sent
	ParseMode   string // parse_mode as sent
	ReplyMarkup string // reply_markup JSON as sent, "" if none
	// Keyboard is reply_markup's inline keyboard, one slice per row.
	Keyboard [][]Button
	// Plain is the visible text after HTML parsing (not trimmed), as the
	// user sees it. Set when delivered.
	Plain string
	// LinkPreviewDisabled reports link_preview_options.is_disabled (or the
	// older disable_web_page_preview).
	LinkPreviewDisabled bool
	// Status is the HTTP status answered (200 when delivered) and
	// Description Telegram's description of an error.
	Status      int
	Description string
	At          time.Time
}

// Button is an inline keyboard button.
type Button struct {
	Text string `json:"text"`
	URL  string `json:"url"`
	// CallbackData is what pressing the button sends the bot (PushCallback).
	CallbackData string `json:"callback_data"`
}

// Server is a fake Bot API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to use as the API URL (telegram.Config.APIURL).
	URL string

	srv *httptest.Server

	mu        sync.Mutex
	now       func() time.Time // the clock of the rate limits and timestamps
	changed   chan struct{}    // closed and replaced whenever something is recorded
	calls     []SentMessage
	delivered []SentMessage
	requests  map[string]int
	nextMsgID int

	// Rate limiting.
	globalLimit int           // messages per second over all chats; 0 = off
	chatGap     time.Duration // minimum time between messages to one chat; 0 = off
	recent      []time.Time   // delivery times within the last second
	lastByChat  map[int64]time.Time
	tooMany     int

	// Scripted failures.
	blocked      map[int64]bool
	migrated     map[int64]int64
	failNext     int
	failStatus   int
	tooManyNext  int
	tooManyAfter int

	// Updates.
	updates      []json.RawMessage // pending, in update_id order
	nextUpdateID int64
	webhookURL   string
	webhookToken string

	// Callback queries pushed and answered.
	nextCallback int
	answered     []string
}

// New starts a fake Bot API that is closed when the test ends. It accepts
// testing.TB so benchmarks can use it too.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		now:          time.Now,
		changed:      make(chan struct{}),
		requests:     map[string]int{},
		globalLimit:  GlobalPerSecond,
		chatGap:      PerChatInterval,
		lastByChat:   map[int64]time.Time{},
		blocked:      map[int64]bool{},
		migrated:     map[int64]int64{},
		nextUpdateID: 1000,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// SetLimits changes the enforced rate limits: at most perSecond messages in
// any one-second window, and at least perChat between two messages to the
// same chat. Zero turns a limit off.
func (s *Server) SetLimits(perSecond int, perChat time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.globalLimit, s.chatGap = perSecond, perChat
}

// SetClock makes the server read the time from now instead of the wall
// clock: the rate limits are measured and SentMessage.At and update dates
// stamped with it. Tests that move a fake clock give the server the same
// one. getUpdates still waits on the wall clock.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	now := s.now
	s.mu.Unlock()
	return now()
}

// Block makes chatID answer 403 "Forbidden: bot was blocked by the user".
func (s *Server) Block(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// Migrate makes chatID answer 400 with parameters.migrate_to_chat_id =
// newID, as a group that was upgraded to a supergroup does.
func (s *Server) Migrate(chatID, newID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.migrated[chatID] = newID
}

// FailNext makes the next n sendMessage calls fail with HTTP status (a 5xx
// normally) before any other check.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus = n, status
}

// TooManyNext makes the next n sendMessage calls answer 429 with the given
// retry_after, whatever the actual rate. They count in TooMany.
func (s *Server) TooManyNext(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tooManyNext, s.tooManyAfter = n, retryAfter
}

// Sent returns the delivered messages, in delivery order.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.delivered...)
}

// Calls returns every sendMessage call, delivered or rejected, in order.
func (s *Server) Calls() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.calls...)
}

// TooMany returns how many 429 answers the server gave.
func (s *Server) TooMany() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// Requests returns how many requests reached method (e.g. "getMe").
func (s *Server) Requests(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[strings.ToLower(method)]
}

// Webhook returns the URL and secret token of the last setWebhook call;
// both are empty after deleteWebhook.
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookURL, s.webhookToken
}

// WaitSent waits until at least n messages were delivered and returns them.
// It fails the test with what did arrive if that takes longer than timeout.
func (s *Server) WaitSent(tb testing.TB, n int, timeout time.Duration) []SentMessage {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := append([]SentMessage(nil), s.delivered...), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("telegramtest: %d messages delivered after %s, want %d; calls: %s", len(got), timeout, n, s.describeCalls())
			return nil
		}
	}
}

func (s *Server) describeCalls() string {
	var b strings.Builder
	for _, c := range s.Calls() {
		fmt.Fprintf(&b, "\n  chat %d: %d %s %q", c.ChatID, c.Status, c.Description, c.Text)
	}
	return b.String()
}

// PushUpdate queues a text message update from chatID as getUpdates will
// return it, and returns its update_id. In a private chat the sender's id is
// chatID; the sender's username is "user<id>".
func (s *Server) PushUpdate(chatID int64, chatType, text string) int64 {
	fromID := chatID
	if chatType != "private" {
		fromID = 777000
	}
	return s.PushRaw(map[string]any{
		"message": map[string]any{
			"message_id": 1,
			"date":       s.clock().Unix(),
			"chat":       map[string]any{"id": chatID, "type": chatType},
			"from": map[string]any{
				"id": fromID, "is_bot": false, "first_name": "Test",
				"username": "user" + strconv.FormatInt(fromID, 10), "language_code": "en",
			},
			"text": text,
		},
	})
}

// PushCallback queues the update Telegram sends when user fromID presses
// an inline button carrying data under a message in chatID (a private chat
// when fromID == chatID), and returns the callback query's id.
func (s *Server) PushCallback(chatID, fromID int64, data string) string {
	s.mu.Lock()
	s.nextCallback++
	id := "cb" + strconv.Itoa(s.nextCallback)
	s.mu.Unlock()
	chatType := "private"
	if fromID != chatID {
		chatType = "group"
	}
	s.PushRaw(map[string]any{
		"callback_query": map[string]any{
			"id": id,
			"from": map[string]any{
				"id": fromID, "is_bot": false, "first_name": "Test",
				"username": "user" + strconv.FormatInt(fromID, 10), "language_code": "en",
			},
			"message": map[string]any{
				"message_id": 1, "date": s.clock().Unix(),
				"chat": map[string]any{"id": chatID, "type": chatType},
			},
			"chat_instance": "ci" + strconv.FormatInt(chatID, 10),
			"data":          data,
		},
	})
	return id
}

// Answered returns the callback query ids answered (answerCallbackQuery),
// in order.
func (s *Server) Answered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.answered...)
}

// PushRaw queues any update (e.g. a my_chat_member one), given as the
// fields of Telegram's Update object except update_id, which it assigns and
// returns.
func (s *Server) PushRaw(update map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUpdateID++
	u := map[string]any{"update_id": s.nextUpdateID}
	for k, v := range update {
		if k != "update_id" {
			u[k] = v
		}
	}
	data, err := json.Marshal(u)
	if err != nil {
		panic(fmt.Sprintf("telegramtest: PushRaw: %v", err))
	}
	s.updates = append(s.updates, data)
	s.notify()
	return s.nextUpdateID
}

// notify wakes everybody waiting for a change. Callers hold s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiError is a failed Bot API answer.
type apiError struct {
	status          int
	description     string
	retryAfter      int
	migrateToChatID int64
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	token, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if !strings.HasPrefix(r.URL.Path, "/bot") || !ok || token == "" {
		writeError(w, apiError{status: http.StatusNotFound, description: "Not Found"})
		return
	}
	method = strings.ToLower(method)
	params, err := readParams(r)
	if err != nil {
		writeError(w, apiError{status: http.StatusBadRequest, description: "Bad Request: " + err.Error()})
		return
	}
	s.mu.Lock()
	s.requests[method]++
	s.mu.Unlock()

	switch method {
	case "getme":
		writeResult(w, map[string]any{
			"id": 123456789, "is_bot": true, "first_name": "pbnotify test", "username": BotUsername,
		})
	case "sendmessage":
		s.sendMessage(w, params)
	case "getupdates":
		s.getUpdates(w, r, params)
	case "setwebhook":
		if params["url"] == "" {
			writeError(w, apiError{status: http.StatusBadRequest, description: "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"})
			return
		}
		s.mu.Lock()
		s.webhookURL, s.webhookToken = params["url"], params["secret_token"]
		s.mu.Unlock()
		writeResult(w, true)
	case "answercallbackquery":
		if params["callback_query_id"] == "" {
			writeError(w, apiError{status: http.StatusBadRequest, description: "Bad Request: query is too old and response timeout expired or query ID is invalid"})
			return
		}
		s.mu.Lock()
		s.answered = append(s.answered, params["callback_query_id"])
		s.notify()
		s.mu.Unlock()
		writeResult(w, true)
	case "deletewebhook":
		s.mu.Lock()
		s.webhookURL, s.webhookToken = "", ""
		s.mu.Unlock()
		writeResult(w, true)
	default:
		writeError(w, apiError{status: http.StatusNotFound, description: "Not Found: method not found"})
	}
}

func (s *Server) sendMessage(w http.ResponseWriter, p map[string]string) {
	m := SentMessage{
		Text:        p["text"],
		ParseMode:   p["parse_mode"],
		ReplyMarkup: p["reply_markup"],
	}
	m.LinkPreviewDisabled = p["disable_web_page_preview"] == "true" ||
		strings.Contains(strings.ReplaceAll(p["link_preview_options"], " ", ""), `"is_disabled":true`)

	s.mu.Lock()
	defer s.mu.Unlock()
	// Read under the lock, so that arrival order and arrival times agree.
	now := s.now()
	m.At = now
	apiErr := s.check(&m, p, now)
	if apiErr != nil {
		m.Status, m.Description = apiErr.status, apiErr.description
		s.calls = append(s.calls, m)
		s.notify()
		writeError(w, *apiErr)
		return
	}
	s.nextMsgID++
	m.MessageID, m.Status = s.nextMsgID, http.StatusOK
	if s.globalLimit > 0 {
		s.recent = append(s.recent, now)
	}
	s.lastByChat[m.ChatID] = now
	s.calls = append(s.calls, m)
	s.delivered = append(s.delivered, m)
	s.notify()
	writeResult(w, map[string]any{
		"message_id": m.MessageID,
		"date":       now.Unix(),
		"chat":       map[string]any{"id": m.ChatID, "type": "private"},
		"text":       strings.TrimSpace(m.Plain),
	})
}

// check applies Telegram's checks to one sendMessage call, in roughly the
// order Telegram does, filling in m as it goes. Callers hold s.mu.
func (s *Server) check(m *SentMessage, p map[string]string, now time.Time) *apiError {
	if s.failNext > 0 {
		s.failNext--
		return &apiError{status: s.failStatus, description: http.StatusText(s.failStatus)}
	}
	chatID, err := strconv.ParseInt(p["chat_id"], 10, 64)
	if err != nil || chatID == 0 {
		return &apiError{status: http.StatusBadRequest, description: "Bad Request: chat not found"}
	}
	m.ChatID = chatID
	if newID, ok := s.migrated[chatID]; ok {
		return &apiError{status: http.StatusBadRequest, description: "Bad Request: group chat was upgraded to a supergroup chat", migrateToChatID: newID}
	}
	if s.blocked[chatID] {
		return &apiError{status: http.StatusForbidden, description: "Forbidden: bot was blocked by the user"}
	}
	if retryAfter, limited := s.rateLimited(chatID, now); limited {
		s.tooMany++
		return &apiError{status: http.StatusTooManyRequests, description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter}
	}
	m.Plain = m.Text
	if strings.EqualFold(m.ParseMode, "HTML") {
		plain, err := PlainText(m.Text)
		if err != nil {
			return &apiError{status: http.StatusBadRequest, description: "Bad Request: can't parse entities: " + err.Error()}
		}
		m.Plain = plain
	}
	trimmed := strings.TrimSpace(m.Plain)
	if trimmed == "" {
		return &apiError{status: http.StatusBadRequest, description: "Bad Request: message text is empty"}
	}
	if Length(trimmed) > MaxMessageLength {
		return &apiError{status: http.StatusBadRequest, description: "Bad Request: message is too long"}
	}
	if m.ReplyMarkup != "" {
		kb, err := parseKeyboard(m.ReplyMarkup)
		if err != nil {
			return &apiError{status: http.StatusBadRequest, description: "Bad Request: " + err.Error()}
		}
		m.Keyboard = kb
	}
	return nil
}

// rateLimited applies the per-chat gap and the global window to a message
// that would be delivered now. Only delivered messages count. Callers hold
// s.mu.
func (s *Server) rateLimited(chatID int64, now time.Time) (retryAfter int, limited bool) {
	if s.tooManyNext > 0 {
		s.tooManyNext--
		return s.tooManyAfter, true
	}
	if last, ok := s.lastByChat[chatID]; ok && s.chatGap > 0 {
		if gap := now.Sub(last); gap < s.chatGap {
			return int(math.Ceil((s.chatGap - gap).Seconds())), true
		}
	}
	if s.globalLimit > 0 {
		keep := s.recent[:0]
		for _, t := range s.recent {
			if now.Sub(t) < time.Second {
				keep = append(keep, t)
			}
		}
		s.recent = keep
		if len(s.recent) >= s.globalLimit {
			return 1, true
		}
	}
	return 0, false
}

// parseKeyboard checks an inline keyboard like Telegram: every button needs
// text and exactly one action (url, callback_data, ...); URL buttons need an
// http(s) or tg URL.
func parseKeyboard(markup string) ([][]Button, error) {
	var kb struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(markup), &kb); err != nil {
		return nil, errors.New("can't parse reply keyboard markup JSON object")
	}
	var rows [][]Button
	for _, row := range kb.InlineKeyboard {
		var buttons []Button
		for _, fields := range row {
			var b Button
			_ = json.Unmarshal(fields["text"], &b.Text)
			_ = json.Unmarshal(fields["url"], &b.URL)
			_ = json.Unmarshal(fields["callback_data"], &b.CallbackData)
			if _, ok := fields["callback_data"]; ok && (b.CallbackData == "" || len(b.CallbackData) > 64) {
				return nil, errors.New("BUTTON_DATA_INVALID")
			}
			if b.Text == "" {
				return nil, errors.New("can't parse inline keyboard button: Text must be non-empty")
			}
			actions := 0
			for name := range fields {
				switch name {
				case "text", "style", "icon_custom_emoji_id":
				default:
					actions++
				}
			}
			if actions != 1 {
				return nil, fmt.Errorf("can't parse inline keyboard button: exactly one of url, callback_data, copy_text, ... must be set, got %d", actions)
			}
			if _, ok := fields["url"]; ok && !validButtonURL(b.URL) {
				return nil, fmt.Errorf("inline keyboard button URL '%s' is invalid: Wrong HTTP URL", b.URL)
			}
			buttons = append(buttons, b)
		}
		rows = append(rows, buttons)
	}
	return rows, nil
}

func validButtonURL(u string) bool {
	for _, scheme := range []string{"http://", "https://", "tg://"} {
		if strings.HasPrefix(u, scheme) && len(u) > len(scheme) {
			return true
		}
	}
	return false
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string) {
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	limit, err := strconv.Atoi(p["limit"])
	if err != nil || limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p["timeout"])
	wait := min(time.Duration(timeout)*time.Second, MaxPollWait)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		// Like Telegram, an offset confirms every update before it.
		if offset > 0 {
			kept := s.updates[:0]
			for _, u := range s.updates {
				if updateID(u) >= offset {
					kept = append(kept, u)
				}
			}
			s.updates = kept
		}
		batch := append([]json.RawMessage(nil), s.updates[:min(limit, len(s.updates))]...)
		changed := s.changed
		s.mu.Unlock()
		if len(batch) > 0 {
			writeResult(w, batch)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			writeResult(w, []json.RawMessage{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func updateID(u json.RawMessage) int64 {
	var v struct {
		UpdateID int64 `json:"update_id"`
	}
	_ = json.Unmarshal(u, &v)
	return v.UpdateID
}

// readParams reads the request parameters whichever way the client sent
// them: multipart form (go-telegram/bot), JSON body, urlencoded form or
// query string. JSON values that are not strings are kept as raw JSON, which
// is how the multipart encoding carries them too.
func readParams(r *http.Request) (map[string]string, error) {
	p := map[string]string{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if len(body) == 0 {
			return p, nil
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return nil, fmt.Errorf("can't parse JSON body: %v", err)
		}
		for k, raw := range fields {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				p[k] = str
			} else {
				p[k] = string(raw)
			}
		}
	case "multipart/form-data":
		// A method without parameters (getMe) comes as an empty multipart
		// body, which the standard parser reports as EOF.
		if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("can't parse multipart form: %v", err)
		}
		if r.MultipartForm != nil {
			for k, v := range r.MultipartForm.Value {
				p[k] = v[0]
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	}
	return p, nil
}

func writeResult(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func writeError(w http.ResponseWriter, e apiError) {
	body := map[string]any{"ok": false, "error_code": e.status, "description": e.description}
	params := map[string]any{}
	if e.retryAfter > 0 {
		params["retry_after"] = e.retryAfter
	}
	if e.migrateToChatID != 0 {
		params["migrate_to_chat_id"] = e.migrateToChatID
	}
	if len(params) > 0 {
		body["parameters"] = params
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}
