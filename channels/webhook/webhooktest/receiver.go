// Package webhooktest runs a receiver of Standard Webhooks for tests: the
// shop's CRM as package webhook sees it.
//
// Every request is checked before it counts as a delivery: the signature
// with Verify (its own HMAC code, written from the specification, so a
// wrong signer cannot agree with itself), the timestamp against the
// receiver's clock (SetNow), the method, Content-Type and User-Agent, and
// the payload's exact shape (the contract's keys, no more, no fewer). A
// request that fails a check is answered 400 or 401 and recorded in
// Rejected; unless the test called ExpectRejections, it fails the test when
// the test ends.
//
// Valid requests are recorded in Received and answered 204, or as
// scripted with Reply (410, 429 with Retry-After, 500, a redirect...) and
// Hang (no answer until the sender gives up).
package webhooktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// maxBody bounds a request body; webhook payloads are meant to be small
// (the specification suggests under 20 KB).
const maxBody = 1 << 20

// Receiver is a running webhook receiver. Its methods are safe for
// concurrent use.
type Receiver struct {
	// URL is the receiver's address, http://127.0.0.1:port/hook.
	URL string

	t      testing.TB
	secret string
	srv    *httptest.Server
	stop   chan struct{} // closed at cleanup: releases hanging requests

	mu               sync.Mutex
	now              func() time.Time
	replies          []Reply
	received         []Delivery
	rejected         []Rejection
	expectRejections bool
}

// Reply is a scripted answer to one valid delivery.
type Reply struct {
	Status  int
	Headers map[string]string
	Body    string // default: "scripted <status>" for 4xx and 5xx
	// Hang holds the request unanswered until the sender gives up (its
	// timeout or context) or the test ends.
	Hang bool
}

// Delivery is one request that passed every check.
type Delivery struct {
	ID        string    // webhook-id
	Timestamp time.Time // webhook-timestamp
	Signature string    // webhook-signature
	Header    http.Header
	Body      []byte
	Payload   Payload
	Status    int // what the receiver answered; 0 for a hung request
}

// Payload is the contract's JSON body, declared here independently of
// package webhook so that renaming a field there breaks the tests.
type Payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		Message string         `json:"message"`
		User    string         `json:"user"`
		Record  map[string]any `json:"record"`
		Subject string         `json:"subject"`
		Text    string         `json:"text"`
		URL     string         `json:"url"`
	} `json:"data"`
}

// Rejection is a request the receiver refused.
type Rejection struct {
	Status int // 400 malformed, 401 signature or timestamp
	Reason string
}

func (r Rejection) String() string { return fmt.Sprintf("%d %s", r.Status, r.Reason) }

// New starts a receiver that verifies with secret ("whsec_...") and stops
// when the test ends.
func New(t testing.TB, secret string) *Receiver {
	t.Helper()
	r := &Receiver{t: t, secret: secret, now: time.Now, stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", r.handle)
	r.srv = httptest.NewServer(mux)
	r.URL = r.srv.URL + "/hook"
	t.Cleanup(func() {
		close(r.stop)
		r.srv.Close() // waits for requests in flight, so none is recorded after the check
		r.mu.Lock()
		rejected, expected := r.rejected, r.expectRejections
		r.mu.Unlock()
		if !expected {
			for _, rej := range rejected {
				t.Errorf("webhooktest: rejected a delivery: %s", rej)
			}
		}
	})
	return r
}

// SetNow sets the receiver's clock, against which webhook-timestamp must be
// within Tolerance. Default: time.Now.
func (r *Receiver) SetNow(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// ExpectRejections tells the receiver that the test sends invalid requests
// on purpose, so rejections do not fail it.
func (r *Receiver) ExpectRejections() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expectRejections = true
}

// Script makes the receiver answer its next valid delivery with reply,
// once. Calls queue up; after the queue, deliveries get 204 No Content.
func (r *Receiver) Script(reply Reply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, reply)
}

// Reply scripts the next answer's status and headers, e.g. 429 with
// {"Retry-After": "120"}, or 307 with a Location.
func (r *Receiver) Reply(status int, headers map[string]string) {
	r.Script(Reply{Status: status, Headers: headers})
}

// Hang makes the receiver hold its next valid delivery unanswered until the
// sender gives up, once. The delivery is recorded with Status 0.
func (r *Receiver) Hang() { r.Script(Reply{Hang: true}) }

// Received returns the valid deliveries so far, oldest first.
func (r *Receiver) Received() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.received)
}

// Rejected returns the refused requests so far, oldest first.
func (r *Receiver) Rejected() []Rejection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rejected)
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil {
		return // the sender went away
	}
	r.mu.Lock()
	now := r.now()
	r.mu.Unlock()

	d, status, reason := r.check(req, body, now)
	if status != 0 {
		r.mu.Lock()
		r.rejected = append(r.rejected, Rejection{Status: status, Reason: reason})
		r.mu.Unlock()
		http.Error(w, reason, status)
		return
	}

	r.mu.Lock()
	reply := Reply{Status: http.StatusNoContent}
	if len(r.replies) > 0 {
		reply, r.replies = r.replies[0], r.replies[1:]
	}
	if !reply.Hang {
		d.Status = reply.Status
	}
	// Recorded before answering: once the sender has its answer, the test sees the delivery.
	r.received = append(r.received, d)
	r.mu.Unlock()

	if reply.Hang {
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
		return
	}
	for k, v := range reply.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(reply.Status)
	switch {
	case reply.Body != "":
		io.WriteString(w, reply.Body)
	case reply.Status >= 400:
		fmt.Fprintf(w, "scripted %d\n", reply.Status)
	}
}

// check returns the delivery, or the status and reason to refuse it with.
func (r *Receiver) check(req *http.Request, body []byte, now time.Time) (Delivery, int, string) {
	switch {
	case req.Method != http.MethodPost:
		return Delivery{}, http.StatusBadRequest, "method " + req.Method + ", want POST"
	case req.Header.Get("Content-Type") != "application/json":
		return Delivery{}, http.StatusBadRequest, fmt.Sprintf("Content-Type %q, want application/json", req.Header.Get("Content-Type"))
	case req.Header.Get("User-Agent") == "" || req.Header.Get("User-Agent") == "Go-http-client/1.1":
		return Delivery{}, http.StatusBadRequest, "no User-Agent naming the sender"
	case len(body) > maxBody:
		return Delivery{}, http.StatusBadRequest, "body over 1 MB"
	}
	if err := Verify(r.secret, req.Header, body, now); err != nil {
		return Delivery{}, http.StatusUnauthorized, "verification failed: " + err.Error()
	}
	p, err := decodePayload(body)
	if err != nil {
		return Delivery{}, http.StatusBadRequest, "payload: " + err.Error()
	}
	id := req.Header.Get("webhook-id")
	if p.Data.Message != id {
		return Delivery{}, http.StatusBadRequest, fmt.Sprintf("data.message %q differs from webhook-id %q", p.Data.Message, id)
	}
	secs, _ := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64) // Verify parsed it
	return Delivery{
		ID:        id,
		Timestamp: time.Unix(secs, 0),
		Signature: req.Header.Get("webhook-signature"),
		Header:    req.Header.Clone(),
		Body:      body,
		Payload:   p,
	}, 0, ""
}

// decodePayload parses the body and checks it has exactly the contract's
// keys, a type and an RFC 3339 timestamp.
func decodePayload(body []byte) (Payload, error) {
	var shape struct {
		Top  map[string]json.RawMessage
		Data map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &shape.Top); err != nil {
		return Payload{}, err
	}
	if err := sameKeys("payload", shape.Top, "type", "timestamp", "data"); err != nil {
		return Payload{}, err
	}
	if err := json.Unmarshal(shape.Top["data"], &shape.Data); err != nil {
		return Payload{}, fmt.Errorf("data: %w", err)
	}
	if err := sameKeys("data", shape.Data, "message", "user", "record", "subject", "text", "url"); err != nil {
		return Payload{}, err
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Payload{}, err
	}
	if p.Type == "" {
		return Payload{}, fmt.Errorf("empty type")
	}
	if _, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil {
		return Payload{}, fmt.Errorf("timestamp %q is not RFC 3339", p.Timestamp)
	}
	return p, nil
}

func sameKeys(what string, m map[string]json.RawMessage, want ...string) error {
	for _, k := range want {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%s has no %q", what, k)
		}
	}
	if len(m) != len(want) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return fmt.Errorf("%s has keys %v, want exactly %v", what, keys, want)
	}
	return nil
}
