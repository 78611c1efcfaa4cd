// Package smtptest runs a real SMTP server in the test process: STARTTLS with
// a throwaway certificate, AUTH PLAIN required (and only offered over TLS),
// scripted failures, and replies held back or delayed at a chosen step.
// Tests see exactly what a mail server would receive.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Credentials the server accepts.
const (
	Username = "shop"
	Password = "s3cret"
)

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	Host string
	Port int
	// ClientTLS trusts the server's certificate; pass it to the client.
	ClientTLS *tls.Config

	srv *smtp.Server

	mu       sync.Mutex
	cond     *sync.Cond
	messages []Message
	conns    map[string]bool // remote addresses: go-smtp opens a new session after STARTTLS
	failures []failure       // consumed in order, one per DATA
	rejects  map[string]*smtp.SMTPError
	holds    map[Step]hold
	held     int           // replies held back or delayed so far
	done     chan struct{} // closed by Close: releases every hold
	closed   bool
}

// Step is a point in the SMTP dialogue where the server can hold back its
// reply.
type Step int

// The steps a reply can be held at.
const (
	Greeting Step = iota // the 220 greeting of a new connection
	Auth                 // the reply to AUTH
	Mail                 // the reply to MAIL FROM
	Rcpt                 // the reply to RCPT TO
	DataEnd              // the reply to the end of the data, after all of it was read
)

// hold is how the server waits at one step: until release is closed, or
// for delay.
type hold struct {
	release <-chan struct{}
	delay   time.Duration
}

type failure struct{ err *smtp.SMTPError }

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool // the session was encrypted when DATA was sent
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &Server{
		Host:      "127.0.0.1",
		ClientTLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		rejects:   map[string]*smtp.SMTPError{},
		conns:     map[string]bool{},
		holds:     map[Step]hold{},
		done:      make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtptest.local"
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxRecipients = 50

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(holdListener{l, s})
	t.Cleanup(func() { s.Close() })
	return s
}

// Close stops the server: its port refuses connections afterwards.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.srv.Close()
}

// Hold makes the server, at step, wait until release is closed (or the
// server is closed) before it replies, for every connection or message
// from now on. A message held at DataEnd is accepted when released. A nil
// release makes the server reply at once again.
func (s *Server) Hold(step Step, release <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if release == nil {
		delete(s.holds, step)
		return
	}
	s.holds[step] = hold{release: release}
}

// Delay makes the server, at step, wait d before it replies, as a slow
// server would. Zero makes it reply at once again.
func (s *Server) Delay(step Step, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.holds, step)
		return
	}
	s.holds[step] = hold{delay: d}
}

// WaitHeld blocks until the server has started to hold back or delay at
// least n replies, so a test can act while the client waits; it fails the
// test after timeout.
func (s *Server) WaitHeld(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.held < n {
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: held %d replies within %s; want %d", s.held, timeout, n)
		}
		s.cond.Wait()
	}
}

// pause waits as Hold or Delay asked for step, if they did.
func (s *Server) pause(step Step) {
	s.mu.Lock()
	h, ok := s.holds[step]
	if ok {
		s.held++
		s.cond.Broadcast()
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	var elapsed <-chan time.Time
	if h.delay > 0 {
		timer := time.NewTimer(h.delay)
		defer timer.Stop()
		elapsed = timer.C
	}
	select {
	case <-h.release:
	case <-elapsed:
	case <-s.done:
	}
}

// holdListener hands go-smtp connections whose first write, the greeting,
// waits as the Greeting step asks.
type holdListener struct {
	net.Listener
	s *Server
}

func (l holdListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &greetingConn{Conn: c, s: l.s}, nil
}

type greetingConn struct {
	net.Conn
	s       *Server
	greeted sync.Once
}

func (c *greetingConn) Write(p []byte) (int, error) {
	c.greeted.Do(func() { c.s.pause(Greeting) })
	return c.Conn.Write(p)
}

// FailNext makes the next n DATA commands fail with code and text (for
// example 451 "try again later").
func (s *Server) FailNext(n, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{&smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}})
	}
}

// RejectRcpt makes RCPT TO:<addr> fail with code and text, every time.
// Code 0 lifts the rejection.
func (s *Server) RejectRcpt(addr string, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.rejects, strings.ToLower(addr))
		return
	}
	s.rejects[strings.ToLower(addr)] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Connections returns how many TCP connections the server accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Wait blocks until at least n messages arrived and returns them; it fails
// the test after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.messages) < n && !s.closed {
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: got %d messages within %s; want %d", len(s.messages), timeout, n)
		}
		s.cond.Wait()
	}
	return append([]Message(nil), s.messages...)
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.conns[c.Conn().RemoteAddr().String()] = true
	s.mu.Unlock()
	return &session{srv: s, conn: c}, nil
}

type session struct {
	srv    *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ss.srv.pause(Auth)
		if username != Username || password != Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.srv.pause(Mail)
	if !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.pause(Rcpt)
	ss.srv.mu.Lock()
	rej := ss.srv.rejects[strings.ToLower(to)]
	ss.srv.mu.Unlock()
	if rej != nil {
		return rej
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.srv.pause(DataEnd)
	_, isTLS := ss.conn.TLSConnectionState()
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return f.err
	}
	s.messages = append(s.messages, Message{From: ss.from, To: ss.to, Data: data, TLS: isTLS})
	s.cond.Broadcast()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// Header returns a decoded header of the message.
func (m Message) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if dec, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return dec
	}
	return v
}

// Headers returns the raw header block, for checks on injected headers.
func (m Message) Headers() string {
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	return head
}

// Part returns the decoded body of the first part with the given media type
// ("text/plain", "text/html"), searching nested multiparts.
func (m Message) Part(mediaType string) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return "", err
	}
	return findPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, mediaType)
}

func findPart(contentType, encoding string, body io.Reader, want string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return "", errors.New("smtptest: no " + want + " part")
			}
			if got, err := findPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, want); err == nil {
				return got, nil
			}
		}
	}
	if mt != want {
		return "", errors.New("smtptest: part is " + mt)
	}
	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		b, err := io.ReadAll(body)
		if err != nil {
			return "", err
		}
		dec, err := decodeBase64(string(b))
		return dec, err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
