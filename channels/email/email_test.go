package email_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/email"
	"github.com/pbnotify/pbnotify/channels/email/smtptest"
)

func newChannel(t *testing.T, srv *smtptest.Server, mod func(*email.Config)) *email.Channel {
	t.Helper()
	cfg := email.Config{
		Host: srv.Host, Port: srv.Port,
		Username: smtptest.Username, Password: smtptest.Password,
		TLSConfig:   srv.ClientTLS,
		FromName:    "Shop",
		FromAddress: "shop@example.org",
		Timeout:     5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	ch, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.Close)
	return ch
}

func msg(id, to string) *channels.Message {
	return &channels.Message{ID: id, To: to, Subject: "Order 1001", Text: "plain body", HTML: "<p>html body</p>"}
}

func TestSendMultipartOverTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t)
	ch := newChannel(t, srv, nil)

	id, err := ch.Send(context.Background(), msg("msg1", "anna@example.org"))
	if err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	if !got.TLS {
		t.Errorf("message was sent without STARTTLS")
	}
	if want := "<msg1@example.org>"; id != want || got.Header("Message-ID") != want {
		t.Errorf("provider id %q, Message-ID header %q; want %q", id, got.Header("Message-ID"), want)
	}
	if from := got.Header("From"); !strings.Contains(from, "shop@example.org") || !strings.Contains(from, "Shop") {
		t.Errorf("From = %q; want Shop <shop@example.org>", from)
	}
	if text, err := got.Part("text/plain"); err != nil || strings.TrimSpace(text) != "plain body" {
		t.Errorf("text part = %q, %v; want %q", text, err, "plain body")
	}
	if html, err := got.Part("text/html"); err != nil || strings.TrimSpace(html) != "<p>html body</p>" {
		t.Errorf("html part = %q, %v; want %q", html, err, "<p>html body</p>")
	}
}

func TestSubjectCannotInjectHeaders(t *testing.T) {
	srv := smtptest.Start(t)
	ch := newChannel(t, srv, nil)
	m := msg("inj", "anna@example.org")
	m.Subject = "Hello\r\nBcc: victim@example.org\nX-Evil: 1"
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	head := got.Headers()
	for _, bad := range []string{"\r\nBcc:", "\r\nX-Evil:"} {
		if strings.Contains(head, bad) {
			t.Errorf("headers contain injected %q:\n%s", bad, head)
		}
	}
	if len(got.To) != 1 {
		t.Errorf("recipients = %v; want only anna@example.org", got.To)
	}
}

func TestConnectionsAreReused(t *testing.T) {
	srv := smtptest.Start(t)
	ch := newChannel(t, srv, func(c *email.Config) { c.PoolSize = 3 })

	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ch.Send(context.Background(), msg(fmt.Sprint("m", i), "anna@example.org")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Send() error = %v", err)
	}
	if got := len(srv.Messages()); got != n {
		t.Fatalf("server received %d messages; want %d", got, n)
	}
	if c := srv.Connections(); c > 3 {
		t.Errorf("%d messages used %d connections; want at most the pool size 3", n, c)
	}
}

func TestErrorClassification(t *testing.T) {
	srv := smtptest.Start(t)
	ch := newChannel(t, srv, nil)
	ctx := context.Background()

	srv.FailNext(1, 451, "greylisted, try again later")
	_, err := ch.Send(ctx, msg("t1", "anna@example.org"))
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("451: Send() error = %v; want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "451") || !strings.Contains(err.Error(), "greylisted") {
		t.Errorf("451: error %q does not carry the server's reply", err)
	}
	// The next attempt goes through, on a fresh or the same connection.
	if _, err := ch.Send(ctx, msg("t1", "anna@example.org")); err != nil {
		t.Fatalf("retry after 451: %v", err)
	}

	srv.RejectRcpt("nobody@example.org", 550, "mailbox unavailable")
	_, err = ch.Send(ctx, msg("t2", "nobody@example.org"))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "mailbox unavailable") {
		t.Fatalf("550: Send() error = %v; want permanent with the server's reply", err)
	}

	srv.Close()
	_, err = ch.Send(ctx, msg("t3", "anna@example.org"))
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("closed port: Send() error = %v; want a retryable error", err)
	}
}

func TestNotConfiguredSkips(t *testing.T) {
	ch, err := email.New(email.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Send(context.Background(), msg("x", "anna@example.org"))
	if reason, ok := channels.SkipReason(err); !ok || !strings.Contains(reason, "Mail settings") {
		t.Fatalf("Send() error = %v; want a skip that says where to configure SMTP", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"127.8.8.8", true},
		{"::1", true},
		{"smtp.example.org", false},
		{"10.0.0.1", false},
		{"localhost.example.org", false},
	} {
		if got := email.IsLoopback(tc.host); got != tc.want {
			t.Errorf("IsLoopback(%q) = %v; want %v", tc.host, got, tc.want)
		}
	}
}
