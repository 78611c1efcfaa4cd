package email_test

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// A server that scans a message may take minutes to answer its end; RFC
// 5321 asks the client to wait 10 minutes. Giving up after Timeout, as a
// send did before DataTimeout existed, makes the message go out again.
func TestDataReplyAfterTimeoutIsAwaited(t *testing.T) {
	srv := smtptest.Start(t)
	const timeout = 300 * time.Millisecond
	srv.Delay(smtptest.DataEnd, 5*timeout)
	// DataTimeout keeps its default of 10 minutes.
	ch := newChannel(t, srv, func(c *email.Config) { c.Timeout = timeout })

	if _, err := ch.Send(context.Background(), msg("slow", "anna@example.org")); err != nil {
		t.Fatalf("Send() error = %v; want nil: the reply came within DataTimeout", err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("server received %d messages; want 1", got)
	}
}

func TestDataTimeoutBoundsTheWaitForTheReply(t *testing.T) {
	srv := smtptest.Start(t)
	srv.Hold(smtptest.DataEnd, make(chan struct{})) // released when the server closes
	ch := newChannel(t, srv, func(c *email.Config) {
		c.Timeout = time.Hour
		c.DataTimeout = 200 * time.Millisecond
	})

	err := sendResult(t, sendAsync(context.Background(), ch, msg("m1", "anna@example.org")))
	if !errors.Is(err, os.ErrDeadlineExceeded) || channels.IsPermanent(err) {
		t.Fatalf("Send() error = %v; want a retryable timeout", err)
	}
	if !strings.Contains(err.Error(), "outcome unknown") {
		t.Errorf("error %q does not say the message may have been delivered", err)
	}
}

func TestTimeoutBoundsTheGreeting(t *testing.T) {
	srv := smtptest.Start(t)
	srv.Hold(smtptest.Greeting, make(chan struct{}))
	ch := newChannel(t, srv, func(c *email.Config) {
		c.Timeout = 200 * time.Millisecond
		c.DataTimeout = time.Hour
	})

	err := sendResult(t, sendAsync(context.Background(), ch, msg("m1", "anna@example.org")))
	if !errors.Is(err, os.ErrDeadlineExceeded) || channels.IsPermanent(err) {
		t.Fatalf("Send() error = %v; want a retryable timeout", err)
	}
	if strings.Contains(err.Error(), "outcome unknown") {
		t.Errorf("error %q says the outcome is unknown; nothing was sent", err)
	}
}

// Cancelling the context ends a send at once in every step, however
// patient Timeout and DataTimeout are, so that shutdown keeps its grace
// period with a server that stops answering.
func TestSendStopsWhenCancelled(t *testing.T) {
	for _, tc := range []struct {
		step    smtptest.Step // where the server stops answering
		name    string
		unknown bool // the whole message was handed over: it may have been delivered
	}{
		{smtptest.Greeting, "greeting", false},
		{smtptest.Auth, "AUTH", false},
		{smtptest.Mail, "MAIL", false},
		{smtptest.Rcpt, "RCPT", false},
		{smtptest.DataEnd, "end of DATA", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			srv.Hold(tc.step, make(chan struct{}))
			ch := newChannel(t, srv, func(c *email.Config) {
				c.Timeout = time.Hour
				c.DataTimeout = time.Hour
			})

			ctx, cancel := context.WithCancel(context.Background())
			done := sendAsync(ctx, ch, msg("m1", "anna@example.org"))
			srv.WaitHeld(t, 1, 30*time.Second)
			cancel()
			err := sendResult(t, done)
			if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
				t.Fatalf("Send() error = %v; want a retryable error wrapping context.Canceled", err)
			}
			if got := strings.Contains(err.Error(), "outcome unknown"); got != tc.unknown {
				t.Errorf("error %q says outcome unknown: %v; want %v", err, got, tc.unknown)
			}

			// The connection of the cancelled send was closed: had it gone
			// back to the pool, this send would take it and wait an hour
			// for the held server.
			srv.Hold(tc.step, nil)
			if err := sendResult(t, sendAsync(context.Background(), ch, msg("m2", "anna@example.org"))); err != nil {
				t.Fatalf("next Send() error = %v", err)
			}
		})
	}
}

func TestSendStopsWaitingForAConnection(t *testing.T) {
	srv := smtptest.Start(t)
	release := make(chan struct{})
	srv.Hold(smtptest.DataEnd, release)
	ch := newChannel(t, srv, func(c *email.Config) { c.PoolSize = 1 })

	first := sendAsync(context.Background(), ch, msg("m1", "anna@example.org"))
	srv.WaitHeld(t, 1, 30*time.Second) // the only connection is busy

	ctx, cancel := context.WithCancel(context.Background())
	second := sendAsync(ctx, ch, msg("m2", "anna@example.org"))
	cancel()
	if err := sendResult(t, second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send() waiting for a connection: error = %v; want context.Canceled", err)
	}
	close(release)
	if err := sendResult(t, first); err != nil {
		t.Fatalf("first Send() error = %v", err)
	}
}

// sendAsync runs Send in a goroutine and delivers its error.
func sendAsync(ctx context.Context, ch *email.Channel, m *channels.Message) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := ch.Send(ctx, m)
		done <- err
	}()
	return done
}

// sendResult waits for a Send started by sendAsync. The limit turns a hang
// into a clear failure; it is not a timing assertion.
func sendResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Send did not return within 30s")
		return nil
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

func TestExtraHeaders(t *testing.T) {
	srv := smtptest.Start(t)
	ch := newChannel(t, srv, nil)
	m := msg("hdr", "anna@example.org")
	m.Headers = map[string]string{
		"List-Unsubscribe":      "<https://shop.example.org/api/notify/unsubscribe/abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"From":                  "evil@example.net",               // the channel's own: ignored
		"X-Note":                "one\r\nBcc: victim@example.org", // folded onto one line
	}
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	for name, want := range map[string]string{
		"List-Unsubscribe":      "<https://shop.example.org/api/notify/unsubscribe/abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	} {
		if h := got.Header(name); h != want {
			t.Errorf("%s = %q; want %q", name, h, want)
		}
	}
	if from := got.Header("From"); strings.Contains(from, "evil") {
		t.Errorf("From = %q; Headers must not replace it", from)
	}
	if head := got.Headers(); strings.Contains(head, "\r\nBcc:") || len(got.To) != 1 {
		t.Errorf("a header value injected a Bcc:\n%s", head)
	}
}
