// Package pushtest runs a fake browser push service for tests: it plays both
// the push service (FCM, Mozilla autopush, ...) and the browser behind it.
//
// Devices created with NewSubscription own real P-256 keys, so every push
// the service accepts has passed the checks a real push service makes
// (VAPID JWT signed by the key in the Authorization header, audience, expiry,
// subject, Content-Encoding, TTL) and has been decrypted the way a browser
// decrypts it (RFC 8291 aes128gcm). Tests read the decrypted payloads with
// Received and script failures (404, 410, 413, 429, 500, ...) with Reply.
//
// A request the service refuses as malformed is recorded in Rejected and,
// unless the test called ExpectRejections, fails the test when it ends: a
// channel that produces bad requests must not pass silently.
//
// Endpoints are plain http on 127.0.0.1, so pass Service.URL to
// webpush.Config.AllowedOrigins and to webpush.ParseSubscription.
package pushtest

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pbnotify/pbnotify/channels/webpush"
)

// maxBody is the largest request body push services accept: one 4096-byte
// record (RFC 8291 §4).
const maxBody = 4096

// maxTokenLifetime is the longest VAPID token lifetime RFC 8292 §2 allows.
const maxTokenLifetime = 24 * time.Hour

// Service is a running fake push service. Its methods are safe for
// concurrent use.
type Service struct {
	// URL is the service's base URL (http://127.0.0.1:port), which is also
	// the origin of every endpoint it hands out.
	URL string

	t   testing.TB
	srv *httptest.Server

	mu               sync.Mutex
	changed          chan struct{} // closed and replaced whenever requests grows
	devices          map[string]*device
	nextID           int
	nextMsg          int
	requests         []Push
	rejected         []Rejection
	expectRejections bool
}

type device struct {
	id      string
	key     *ecdh.PrivateKey
	auth    []byte
	replies []Reply // consumed one per valid request, first in first out
	always  *Reply  // answer once replies is empty; nil means 201 Created
	gone    bool    // unsubscribed: every request gets 410
}

// Reply is a scripted answer to a push request.
type Reply struct {
	Status  int
	Headers map[string]string
}

// Push is one valid push request the service received, with its payload
// decrypted.
type Push struct {
	Device   string      // device id: the last path segment of the endpoint
	Endpoint string      // the endpoint the request was sent to
	Payload  []byte      // decrypted plaintext, padding removed
	TTL      int         // TTL header, seconds
	Urgency  string      // Urgency header, "" if absent
	Topic    string      // Topic header, "" if absent
	Subject  string      // VAPID JWT "sub" claim
	VAPIDKey string      // the k= public key of the Authorization header
	Header   http.Header // all request headers
	Status   int         // the status the service answered
}

// Delivered reports whether the service accepted the push (2xx), as
// opposed to answering with a scripted failure.
func (p Push) Delivered() bool { return p.Status >= 200 && p.Status < 300 }

// Decode unmarshals the decrypted JSON payload into v.
func (p Push) Decode(v any) error { return json.Unmarshal(p.Payload, v) }

// Rejection is a request the service refused because it was malformed: bad
// VAPID, wrong encoding, missing TTL, undecryptable body, too large.
type Rejection struct {
	Device string
	Status int // 400, 403 or 413
	Reason string
}

func (r Rejection) String() string {
	return fmt.Sprintf("device %s: %d %s", r.Device, r.Status, r.Reason)
}

// New starts a push service that stops when the test ends. At the end it
// also fails the test if any request was rejected, unless ExpectRejections
// was called.
func New(t testing.TB) *Service {
	t.Helper()
	s := &Service{t: t, devices: map[string]*device{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/push/{id}", s.handlePush)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.srv.Close() // waits for requests in flight, so none is recorded after the check
		s.mu.Lock()
		rejected, expected := s.rejected, s.expectRejections
		s.mu.Unlock()
		if !expected {
			for _, r := range rejected {
				t.Errorf("pushtest: rejected a malformed push request: %s", r)
			}
		}
	})
	return s
}

// ExpectRejections tells the service that the test sends malformed requests
// on purpose, so rejections do not fail it.
func (s *Service) ExpectRejections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expectRejections = true
}

// NewSubscription creates a device with a fresh P-256 key pair and 16-byte
// auth secret and returns its subscription, as the browser would after
// pushManager.subscribe. The endpoint is URL + "/push/<id>".
func (s *Service) NewSubscription() webpush.Subscription {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatalf("pushtest: generating device key: %v", err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		s.t.Fatalf("pushtest: generating auth secret: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	d := &device{id: fmt.Sprintf("d%d", s.nextID), key: key, auth: auth}
	s.devices[d.id] = d
	return webpush.Subscription{
		Endpoint: s.URL + "/push/" + d.id,
		P256dh:   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}
}

// SubscriptionJSON returns sub as PushSubscription.toJSON() would, the body a
// browser posts to the subscribe route.
func SubscriptionJSON(sub webpush.Subscription) []byte {
	b, _ := json.Marshal(map[string]any{
		"endpoint":       sub.Endpoint,
		"expirationTime": nil,
		"keys":           map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth},
	})
	return b
}

// DeviceID returns the id of the device behind sub, as found in Push.Device.
func (s *Service) DeviceID(sub webpush.Subscription) string {
	s.t.Helper()
	return s.device(sub).id
}

// Reply makes the device answer its next valid request with status and
// headers (e.g. 429 with {"Retry-After": "120"}), once. Calls queue up:
// Reply(sub, 500, nil) twice fails two requests. After the queue, the
// device answers as set by ReplyAlways, by default 201 Created.
func (s *Service) Reply(sub webpush.Subscription, status int, headers map[string]string) {
	s.t.Helper()
	d := s.device(sub)
	s.mu.Lock()
	defer s.mu.Unlock()
	d.replies = append(d.replies, Reply{Status: status, Headers: headers})
}

// ReplyAlways makes the device answer every valid request, after any queued
// Reply, with status and headers, e.g. ReplyAlways(sub, 410, nil) for a
// subscription that expired. Status 0 restores the default 201 Created.
func (s *Service) ReplyAlways(sub webpush.Subscription, status int, headers map[string]string) {
	s.t.Helper()
	d := s.device(sub)
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		d.always = nil
		return
	}
	d.always = &Reply{Status: status, Headers: headers}
}

// Unsubscribe simulates the user revoking the subscription in the browser:
// from now on the push service answers 410 Gone without checking the request.
func (s *Service) Unsubscribe(sub webpush.Subscription) {
	s.t.Helper()
	d := s.device(sub)
	s.mu.Lock()
	defer s.mu.Unlock()
	d.gone = true
}

func (s *Service) device(sub webpush.Subscription) *device {
	s.t.Helper()
	prefix := s.URL + "/push/"
	s.mu.Lock()
	d := s.devices[strings.TrimPrefix(sub.Endpoint, prefix)]
	s.mu.Unlock()
	if !strings.HasPrefix(sub.Endpoint, prefix) || d == nil {
		s.t.Fatalf("pushtest: %q is not a subscription of this service", sub.Endpoint)
	}
	return d
}

// Received returns the pushes the service accepted (2xx), in arrival order.
func (s *Service) Received() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received()
}

func (s *Service) received() []Push {
	var out []Push
	for _, p := range s.requests {
		if p.Delivered() {
			out = append(out, p)
		}
	}
	return out
}

// Requests returns every valid request, including those answered with a
// scripted failure, in arrival order.
func (s *Service) Requests() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.requests...)
}

// Rejected returns the malformed requests the service refused.
func (s *Service) Rejected() []Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Rejection(nil), s.rejected...)
}

// WaitReceived waits until at least n pushes have been accepted and returns
// them; it fails the test after timeout. Call it from the test goroutine.
func (s *Service) WaitReceived(t testing.TB, n int, timeout time.Duration) []Push {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := s.received(), s.changed
		rejected := append([]Rejection(nil), s.rejected...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("pushtest: %d push(es) received within %s; want %d (rejected: %v)", len(got), timeout, n, rejected)
			return nil
		}
	}
}

// notify wakes WaitReceived. Call with s.mu held.
func (s *Service) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Service) handlePush(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.Method != http.MethodPost {
		http.Error(w, "push requests use POST", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	d, gone := s.devices[id], false
	if d != nil {
		gone = d.gone
	}
	s.mu.Unlock()
	switch {
	case d == nil:
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	case gone:
		http.Error(w, "subscription expired or unsubscribed", http.StatusGone)
		return
	}

	p, status, reason := s.check(r, d)
	if status != 0 {
		s.mu.Lock()
		s.rejected = append(s.rejected, Rejection{Device: id, Status: status, Reason: reason})
		s.notify()
		s.mu.Unlock()
		http.Error(w, reason, status)
		return
	}

	s.mu.Lock()
	reply := Reply{Status: http.StatusCreated}
	if len(d.replies) > 0 {
		reply, d.replies = d.replies[0], d.replies[1:]
	} else if d.always != nil {
		reply = *d.always
	}
	p.Status = reply.Status
	s.requests = append(s.requests, p)
	s.nextMsg++
	msg := s.nextMsg
	s.notify()
	s.mu.Unlock()

	for k, v := range reply.Headers {
		w.Header().Set(k, v)
	}
	if p.Delivered() && w.Header().Get("Location") == "" {
		// RFC 8030 §5: the push service names the message it created.
		w.Header().Set("Location", fmt.Sprintf("%s/message/%d", s.URL, msg))
	}
	w.WriteHeader(reply.Status)
	if !p.Delivered() {
		_, _ = io.WriteString(w, http.StatusText(reply.Status))
	}
}

// check validates a push request like a push service and decrypts it like a
// browser. A non-zero status means the request is rejected for reason.
func (s *Service) check(r *http.Request, d *device) (p Push, status int, reason string) {
	p = Push{Device: d.id, Endpoint: s.URL + "/push/" + d.id, Header: r.Header.Clone()}

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return p, http.StatusBadRequest, "reading body: " + err.Error()
	}
	if len(body) > maxBody {
		return p, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", maxBody)
	}

	sub, key, err := s.verifyVAPID(r.Header.Get("Authorization"))
	if err != nil {
		return p, http.StatusForbidden, "VAPID: " + err.Error()
	}
	p.Subject, p.VAPIDKey = sub, key

	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return p, http.StatusBadRequest, fmt.Sprintf("Content-Encoding is %q; want aes128gcm", ce)
	}
	// TTL 0 is legal in RFC 8030, but it makes the push service drop the
	// message for any device not connected right now: the channel must never
	// send it, so the fake refuses it.
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl <= 0 {
		return p, http.StatusBadRequest, fmt.Sprintf("TTL header is %q; want a number of seconds > 0", r.Header.Get("TTL"))
	}
	p.TTL = ttl
	p.Urgency = r.Header.Get("Urgency")
	switch p.Urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		return p, http.StatusBadRequest, fmt.Sprintf("Urgency is %q; want very-low, low, normal or high", p.Urgency)
	}
	p.Topic = r.Header.Get("Topic")
	if !validTopic(p.Topic) {
		return p, http.StatusBadRequest, fmt.Sprintf("Topic %q is not at most 32 characters of the URL-safe base64 alphabet", p.Topic)
	}

	plain, err := decrypt(body, d.key, d.auth)
	if err != nil {
		return p, http.StatusBadRequest, "decrypting: " + err.Error()
	}
	p.Payload = plain
	return p, 0, ""
}

// verifyVAPID checks an RFC 8292 "vapid t=<JWT>, k=<key>" Authorization
// header and returns the token's subject and the key.
func (s *Service) verifyVAPID(header string) (sub, key string, err error) {
	scheme, params, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return "", "", fmt.Errorf("Authorization header %q does not use the vapid scheme", header)
	}
	var token string
	for _, param := range strings.Split(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
		switch name {
		case "t":
			token = value
		case "k":
			key = value
		}
	}
	if token == "" || key == "" {
		return "", "", fmt.Errorf("Authorization header %q lacks t= or k=", header)
	}
	keyBytes, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key, "="))
	if err != nil {
		return "", "", fmt.Errorf("k=%q is not base64url", key)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), keyBytes)
	if err != nil {
		return "", "", fmt.Errorf("k= is not a P-256 public key: %v", err)
	}

	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired())
	if err != nil {
		return "", "", fmt.Errorf("JWT: %v", err)
	}
	// The audience is the push service's origin, so a token stolen from one
	// push service cannot be replayed to another.
	aud, _ := claims["aud"].(string)
	if aud != s.URL {
		return "", "", fmt.Errorf("JWT aud is %q; want the endpoint origin %q", aud, s.URL)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return "", "", fmt.Errorf("JWT exp is missing or invalid")
	}
	if time.Until(exp.Time) > maxTokenLifetime+time.Minute {
		return "", "", fmt.Errorf("JWT exp is %s away; RFC 8292 allows at most 24 hours", time.Until(exp.Time).Round(time.Second))
	}
	sub, _ = claims["sub"].(string)
	if err := checkSubject(sub); err != nil {
		return "", "", err
	}
	return sub, key, nil
}

// checkSubject requires one contact: a mailto: address or an https: URL.
// "mailto:mailto:x" is what webpush-go sends when given a subject that
// already has the prefix; push services refuse it.
func checkSubject(sub string) error {
	lower := strings.ToLower(sub)
	switch {
	case strings.HasPrefix(lower, "mailto:"):
		addr := sub[len("mailto:"):]
		if strings.Contains(strings.ToLower(addr), "mailto:") || strings.Count(addr, "@") != 1 || strings.ContainsAny(addr, " ,;<>") {
			return fmt.Errorf("JWT sub %q is not one mailto: address", sub)
		}
	case strings.HasPrefix(lower, "https:"):
		u, err := url.Parse(sub)
		if err != nil || u.Host == "" || strings.Contains(lower, "mailto:") {
			return fmt.Errorf("JWT sub %q is not an https URL", sub)
		}
	default:
		return fmt.Errorf("JWT sub %q must be a mailto: or https: contact", sub)
	}
	return nil
}

func validTopic(t string) bool {
	if len(t) > 32 {
		return false
	}
	for _, r := range t {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
