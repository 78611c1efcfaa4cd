// Package smstest is a fake SMS provider for tests, served over real HTTP by
// httptest. One Server plays both providers package sms speaks to:
//
//   - Twilio's Messages API: POST /2010-04-01/Accounts/{SID}/Messages.json
//     with form fields To, From, Body and HTTP basic auth SID:token. It
//     answers as Twilio does: 201 with the message resource and its sid; 401
//     code 20003 for wrong credentials; 400 code 21211 for a To that is not
//     E.164, 21603 without From, 21602 without Body; 404 code 20404 for
//     another path; 405 for another method.
//   - SMS.ru's POST /sms/send with form fields api_id, to, msg, from and
//     json=1. It answers as SMS.ru does, always with HTTP 200: top-level
//     "status": "ERROR" with status_code 200 for a wrong api_id, 210 for
//     GET, 203 without text; a per-number "status": "ERROR" with 202 for a
//     number that is not one; otherwise "OK" with an sms_id per number.
//
// Accepted messages are recorded (Sent). Answers can be scripted for the
// next valid requests (ReplyNext) in the providers' real error shapes:
// TwilioError, TwilioTooMany, SMSRuError, SMSRuNumberError, ServerError.
//
// Use it from any package's tests:
//
//	srv := smstest.New(t)
//	ch, _ := sms.New(sms.Config{Provider: "twilio", APIURL: srv.URL,
//		Account: smstest.AccountSID, Token: smstest.AuthToken, From: smstest.From})
//	... ch.Send(ctx, &channels.Message{To: "+7 912 345-67-89", Text: "hi"}) ...
//	// srv.Sent()[0].To == "+79123456789"
//
// The phone number checks here are written independently of sms.Normalize,
// so that the two do not share a bug.
package smstest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Credentials the fake accepts.
const (
	// AccountSID is the Twilio Account SID (sms.Config.Account).
	AccountSID = "AC0123456789abcdef0123456789abcdef"
	// AuthToken is the Twilio auth token (sms.Config.Token).
	AuthToken = "test-twilio-auth-token"
	// APIID is the SMS.ru api_id (sms.Config.Token).
	APIID = "00000000-0000-0000-0000-00000000TEST"
	// From is a sender number to use in tests.
	From = "+15005550006"
)

// Providers, as recorded in Message.Provider.
const (
	Twilio = "twilio"
	SMSRu  = "smsru"
)

// Message is one SMS the fake accepted.
type Message struct {
	Provider string // Twilio or SMSRu
	To       string // the number as sent (Twilio: "+7...", SMS.ru: "7...")
	From     string // the sender as sent; "" if none
	Body     string // the text as sent
	ID       string // the id answered: Twilio's sid or SMS.ru's sms_id

	// Form is every form field as received, for checks beyond the above
	// (whether a field was sent at all, extra fields).
	Form url.Values
}

// Reply is a scripted answer. Build it with the helpers below, which give
// the providers' real shapes, or fill it in for anything else.
type Reply struct {
	Status int
	Header http.Header
	Body   string

	// smsruNumber, when set, makes an SMS.ru per-number answer for the
	// number in the request.
	smsruNumber *smsruStatus
}

// TwilioError is Twilio's error answer: status with {"code", "message",
// "more_info", "status"}, e.g. TwilioError(400, 21211, "The 'To' number
// +1555 is not a valid phone number.").
func TwilioError(status, code int, message string) Reply {
	return Reply{Status: status, Header: jsonHeader(), Body: twilioErrorBody(status, code, message)}
}

// TwilioTooMany is Twilio's 429 (code 20429), with a Retry-After header
// when retryAfter is not empty.
func TwilioTooMany(retryAfter string) Reply {
	r := TwilioError(http.StatusTooManyRequests, 20429, "Too Many Requests")
	if retryAfter != "" {
		r.Header.Set("Retry-After", retryAfter)
	}
	return r
}

// ServerError is an outage: status (a 5xx normally) with a plain text body.
func ServerError(status int) Reply {
	return Reply{Status: status, Header: http.Header{"Content-Type": {"text/plain"}}, Body: http.StatusText(status)}
}

// SMSRuError is SMS.ru's request-wide error, e.g. SMSRuError(201, "Не
// хватает средств на лицевом счету"): HTTP 200 with "status": "ERROR".
func SMSRuError(code int, text string) Reply {
	b, _ := json.Marshal(smsruStatus{Status: "ERROR", StatusCode: code, StatusText: text})
	return Reply{Status: http.StatusOK, Header: jsonHeader(), Body: string(b)}
}

// SMSRuNumberError is SMS.ru's error for one number, e.g.
// SMSRuNumberError(207, "На этот номер нет маршрута для доставки
// сообщений"): the request is "OK", the number's entry is "ERROR".
func SMSRuNumberError(code int, text string) Reply {
	return Reply{Status: http.StatusOK, Header: jsonHeader(),
		smsruNumber: &smsruStatus{Status: "ERROR", StatusCode: code, StatusText: text}}
}

// Server is a fake SMS provider. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to use as sms.Config.APIURL.
	URL string

	tb  testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	sent     []Message
	requests int
	replies  []Reply
	nextID   int
}

// New starts a fake provider that is closed when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// ReplyNext makes the next valid requests (those that pass the checks of
// credentials and fields) get these answers, in order, instead of being
// accepted.
func (s *Server) ReplyNext(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// Sent returns the messages accepted so far, in order.
func (s *Server) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}

// Requests returns how many HTTP requests reached the fake, valid or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/2010-04-01/"):
		s.twilio(w, r)
	case r.URL.Path == "/sms/send":
		s.smsru(w, r)
	default:
		write(w, Reply{Status: http.StatusNotFound, Header: jsonHeader(),
			Body: twilioErrorBody(http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")})
	}
}

// form parses a urlencoded body, failing the test for any other encoding:
// both providers take only forms, and a JSON body would be silently empty.
func (s *Server) form(r *http.Request) url.Values {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		s.tb.Errorf("smstest: %s %s: Content-Type %q, want application/x-www-form-urlencoded", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil {
		s.tb.Errorf("smstest: %s %s: %v", r.Method, r.URL.Path, err)
	}
	return r.PostForm
}

// scripted pops the next scripted reply, if any.
func (s *Server) scripted() (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		return Reply{}, false
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r, true
}

// accept records m with a new id made by id and returns it.
func (s *Server) accept(m Message, id func(n int) string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	m.ID = id(s.nextID)
	s.sent = append(s.sent, m)
	return m
}

func (s *Server) twilio(w http.ResponseWriter, r *http.Request) {
	fail := func(status, code int, message string) { write(w, TwilioError(status, code, message)) }
	sid, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/")
	sid, ok2 := strings.CutSuffix(sid, "/Messages.json")
	if !ok || !ok2 || sid == "" || strings.Contains(sid, "/") {
		fail(http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	user, pass, hasAuth := r.BasicAuth()
	if !hasAuth || user != AccountSID || pass != AuthToken || sid != user {
		fail(http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	form := s.form(r)
	to, from, body := form.Get("To"), form.Get("From"), form.Get("Body")
	switch {
	case to == "":
		fail(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !isE164(to):
		fail(http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from == "":
		fail(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		fail(http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if reply, ok := s.scripted(); ok {
		write(w, reply)
		return
	}
	m := s.accept(Message{Provider: Twilio, To: to, From: from, Body: body, Form: form}, func(n int) string { return fmt.Sprintf("SM%032x", n) })
	b, _ := json.Marshal(map[string]any{
		"sid": m.ID, "account_sid": sid, "to": to, "from": from, "body": body,
		"status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + sid + "/Messages/" + m.ID + ".json",
	})
	write(w, Reply{Status: http.StatusCreated, Header: jsonHeader(), Body: string(b)})
}

// smsruStatus is SMS.ru's status object, at the top of an answer and per number.
type smsruStatus struct {
	Status     string `json:"status"`
	StatusCode int    `json:"status_code"`
	StatusText string `json:"status_text,omitempty"`
	SMSID      string `json:"sms_id,omitempty"`
}

// smsruBalance is what the fake account always has left.
const smsruBalance = 4122.56

func (s *Server) smsru(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		write(w, SMSRuError(210, "Используется GET, где необходимо использовать POST"))
		return
	}
	form := s.form(r)
	if form.Get("json") != "1" {
		// Without json=1 SMS.ru answers in its line format, which package
		// sms does not read.
		s.tb.Errorf("smstest: SMS.ru request without json=1 (json=%q)", form.Get("json"))
	}
	if form.Get("api_id") != APIID {
		write(w, SMSRuError(200, "Неправильный api_id"))
		return
	}
	msg, to := form.Get("msg"), form.Get("to")
	if msg == "" {
		write(w, SMSRuError(203, "Нет текста сообщения"))
		return
	}
	if to == "" {
		write(w, SMSRuError(202, "Неправильно указан номер телефона получателя, либо на него нет маршрута"))
		return
	}
	number := strings.TrimPrefix(to, "+") // SMS.ru keys its answer by digits
	answer := func(entry smsruStatus) {
		b, _ := json.Marshal(map[string]any{
			"status": "OK", "status_code": 100,
			"sms":     map[string]smsruStatus{number: entry},
			"balance": smsruBalance,
		})
		write(w, Reply{Status: http.StatusOK, Header: jsonHeader(), Body: string(b)})
	}
	if !isE164("+" + number) {
		answer(smsruStatus{Status: "ERROR", StatusCode: 202, StatusText: "Неправильно указан номер телефона получателя, либо на него нет маршрута"})
		return
	}
	if reply, ok := s.scripted(); ok {
		if reply.smsruNumber != nil {
			answer(*reply.smsruNumber)
			return
		}
		write(w, reply)
		return
	}
	m := s.accept(Message{Provider: SMSRu, To: to, From: form.Get("from"), Body: msg, Form: form}, func(n int) string { return fmt.Sprintf("%06d-%d", n, 10000000+n) })
	answer(smsruStatus{Status: "OK", StatusCode: 100, SMSID: m.ID})
}

// isE164 reports whether s is "+" and 8 to 15 digits, the first not 0.
func isE164(s string) bool {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

func twilioErrorBody(status, code int, message string) string {
	b, _ := json.Marshal(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
	return string(b)
}

func write(w http.ResponseWriter, r Reply) {
	for k, v := range r.Header {
		w.Header()[k] = v
	}
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	w.WriteHeader(r.Status)
	_, _ = w.Write([]byte(r.Body))
}
