// Package email delivers messages over SMTP with github.com/wneessen/go-mail.
//
// A Channel keeps a small pool of authenticated SMTP connections and reuses
// them across messages: dialing, STARTTLS and AUTH cost several round trips,
// far more than the MAIL/RCPT/DATA of one message.
//
// TLS is mandatory for every host that is not on the loopback interface:
// either implicit TLS (Config.TLS, usually port 465) or STARTTLS.
//
// Every network wait is bounded twice: by Config.Timeout (Config.DataTimeout
// for the reply to the end of the message data) and by the context given to
// Send, whose cancellation closes the connection in use at once.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Defaults for the Config fields left zero.
const (
	DefaultPoolSize    = 4
	DefaultTimeout     = 30 * time.Second
	DefaultDataTimeout = 10 * time.Minute // RFC 5321, section 4.5.3.2.6
	DefaultIdleTimeout = 30 * time.Second
)

// Config holds the SMTP connection and sender settings.
type Config struct {
	// Host of the SMTP server. Empty means email is not configured: every
	// message is skipped with a reason.
	Host string
	// Port of the SMTP server. Default: 587, or 465 when TLS is set.
	Port int
	// Username and Password for SMTP AUTH. Default: no authentication.
	Username string
	Password string
	// AuthMethod is "PLAIN" or "LOGIN". Default: PLAIN.
	AuthMethod string
	// TLS selects implicit TLS (SMTPS). Default: false, which means STARTTLS,
	// mandatory for non-loopback hosts and opportunistic on loopback.
	TLS bool
	// LocalName is the HELO/EHLO name. Default: go-mail's default ("localhost").
	LocalName string
	// TLSConfig overrides the TLS settings (tests use it to trust their own CA).
	// Default: system roots with ServerName set to Host.
	TLSConfig *tls.Config

	// FromName and FromAddress form the sender. FromAddress is required.
	FromName    string
	FromAddress string

	// PoolSize is the number of SMTP connections kept open and used in
	// parallel. Default: 4.
	PoolSize int
	// Timeout bounds dialing, the greeting, STARTTLS and AUTH, and each SMTP
	// command after them except the end of the message data. Default: 30
	// seconds.
	Timeout time.Duration
	// DataTimeout bounds the wait for the server's reply to the end of the
	// message data ("."). It is long because the server may be filtering
	// the message, and giving up early sends it twice: the server may have
	// accepted it. Default: 10 minutes, as RFC 5321 (4.5.3.2.6) asks.
	DataTimeout time.Duration
	// IdleTimeout closes pooled connections unused for this long, before the
	// server drops them. Default: 30 seconds.
	IdleTimeout time.Duration
}

// Channel sends email. It is safe for concurrent use.
type Channel struct {
	cfg    Config
	sem    chan struct{} // bounds open connections to PoolSize
	mu     sync.Mutex
	idle   []*conn // connections ready for reuse, most recently used last
	closed bool    // Close was called: connections in use are not kept
}

// conn is one open SMTP session.
type conn struct {
	smtp *smtp.Client
	// raw is the TCP connection under TLS and SMTP. Deadlines are set on it
	// directly, step by step, because go-mail would give the end of DATA
	// the same deadline as every other command; closing it is how a
	// cancelled context interrupts a read or write in progress.
	raw      net.Conn
	lastUsed time.Time
}

// New returns an email channel. A Config without Host is valid: such a
// channel skips every message and says why.
func New(cfg Config) (*Channel, error) {
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DataTimeout <= 0 {
		cfg.DataTimeout = DefaultDataTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS {
			cfg.Port = 465
		}
	}
	if cfg.Host != "" && cfg.FromAddress == "" {
		return nil, errors.New("email: sender address is empty (set it in Settings → Mail settings)")
	}
	return &Channel{cfg: cfg, sem: make(chan struct{}, cfg.PoolSize)}, nil
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return channels.Email }

// Send implements channels.Channel. The provider id is the Message-ID.
//
// Send returns soon after ctx is done, whatever it is waiting for, with an
// error that wraps ctx.Err(), and closes the connection it was using. An
// error after the end of the message data was sent, before the server's
// reply, says that the outcome is unknown: the server may have accepted the
// message. It stays retryable: a message may then arrive twice, but is
// never lost.
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if c.cfg.Host == "" {
		return "", channels.Skip("email is not configured: enable SMTP in Settings → Mail settings")
	}
	if m.To == "" {
		return "", channels.Skip("recipient has no email address")
	}
	out, err := c.build(m)
	if err != nil {
		return "", channels.Permanent(err)
	}

	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("email: waiting for a free SMTP connection: %w", ctx.Err())
	}
	defer func() { <-c.sem }()

	// A pooled connection may have been closed by the server while idle;
	// that shows as a failed NOOP and is worth one fresh dial.
	for try := 0; ; try++ {
		cn, reused, err := c.take(ctx, try == 0)
		if err != nil {
			return "", err
		}
		keep, err := c.deliver(ctx, cn, out, reused)
		if keep {
			c.put(cn)
		} else {
			cn.raw.Close()
		}
		if errors.Is(err, errStale) && try == 0 {
			continue
		}
		if err != nil {
			return "", err
		}
		return out.id, nil
	}
}

// Close ends the idle connections with QUIT, each bounded by Timeout.
// Connections still in use are closed when their message is done.
func (c *Channel) Close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.closed = true
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, cn := range idle {
		wg.Go(func() { cn.quit(c.cfg.Timeout) })
	}
	wg.Wait()
}

// outgoing is a built message with its SMTP envelope.
type outgoing struct {
	msg  *mail.Msg
	from string
	to   []string
	id   string // the Message-ID with its angle brackets
}

func (c *Channel) build(m *channels.Message) (*outgoing, error) {
	msg := mail.NewMsg()
	if err := msg.FromFormat(oneLine(c.cfg.FromName), c.cfg.FromAddress); err != nil {
		return nil, fmt.Errorf("sender address %q: %w", c.cfg.FromAddress, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient address %q: %w", m.To, err)
	}
	msg.Subject(oneLine(m.Subject))
	// A stable Message-ID per outbox row lets mail servers and clients
	// recognise a redelivery after a crash as the same message.
	msgID := m.ID + "@" + domainOf(c.cfg.FromAddress)
	msg.SetMessageIDWithValue(msgID)
	msg.SetDate()
	for name, value := range m.Headers {
		if !ownHeader(name) {
			msg.SetGenHeader(mail.Header(name), oneLine(value))
		}
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	to, err := msg.GetRecipients()
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	return &outgoing{msg: msg, from: from, to: to, id: "<" + msgID + ">"}, nil
}

// errStale marks a pooled connection that failed its NOOP: the server
// dropped it while it was idle, and nothing of the message was sent.
var errStale = errors.New("pooled connection is gone")

// deliver runs one SMTP transaction on cn. keep reports whether cn is fit
// for the next message; only a clean transaction leaves it so.
func (c *Channel) deliver(ctx context.Context, cn *conn, out *outgoing, reused bool) (keep bool, err error) {
	// Closing the connection interrupts whatever read or write is blocked
	// on it; a past deadline would not do, as the next step sets its own.
	stop := context.AfterFunc(ctx, func() { cn.raw.Close() })
	defer func() {
		if !stop() {
			keep = false // closed by the cancellation, even if the reply came first
		}
	}()
	wait := func(d time.Duration) { _ = cn.raw.SetDeadline(time.Now().Add(d)) }

	if reused {
		wait(c.cfg.Timeout)
		if err := cn.smtp.Noop(); err != nil {
			if ctx.Err() != nil {
				return false, fmt.Errorf("email: NOOP on a pooled connection: %w", ctx.Err())
			}
			return false, fmt.Errorf("email: %w: %w", errStale, err)
		}
	}
	wait(c.cfg.Timeout)
	if err := cn.smtp.Mail(out.from); err != nil {
		return false, failed(ctx, "MAIL FROM", err)
	}
	for _, rcpt := range out.to {
		wait(c.cfg.Timeout)
		if err := cn.smtp.Rcpt(rcpt); err != nil {
			return false, failed(ctx, "RCPT TO", err)
		}
	}
	wait(c.cfg.Timeout)
	w, err := cn.smtp.Data()
	if err != nil {
		return false, failed(ctx, "DATA", err)
	}
	wait(c.cfg.Timeout)
	if _, err := out.msg.WriteTo(w); err != nil {
		return false, failed(ctx, "sending the message data", err)
	}
	// Close sends the final "." and reads the reply. The server may accept
	// the message at any moment from here on, and may take minutes to say
	// so (RFC 5321, 4.5.3.2.6): giving up early causes a duplicate.
	wait(c.cfg.DataTimeout)
	if err := w.Close(); err != nil {
		var reply *textproto.Error
		if errors.As(err, &reply) {
			return false, classify("end of DATA", err)
		}
		cause := err
		if ctx.Err() != nil {
			cause = ctx.Err()
		}
		return false, fmt.Errorf("email: no reply to the end of DATA, the message may have been delivered (outcome unknown): %w", cause)
	}
	return true, nil
}

// failed names the step of an error, and when ctx is done, says that the
// cancellation, not the server, ended it: the network error is then only
// the echo of the connection closed under the command.
func failed(ctx context.Context, step string, err error) error {
	var reply *textproto.Error
	if !errors.As(err, &reply) && ctx.Err() != nil {
		return fmt.Errorf("email: %s: %w", step, ctx.Err())
	}
	return classify(step, err)
}

// classify maps an SMTP outcome to what the dispatcher should do: a 5xx
// reply is final, a 4xx reply or a network failure is worth retrying.
func classify(step string, err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		err = fmt.Errorf("email: %s: server replied %w", step, err)
		if reply.Code >= 500 && reply.Code < 600 {
			return channels.Permanent(err)
		}
		return err
	}
	// Connection refused, timeouts, TLS handshake failures: retry later.
	return fmt.Errorf("email: %s: %w", step, err)
}

// take returns an idle connection if useIdle is set and there is a fresh
// one, or dials.
func (c *Channel) take(ctx context.Context, useIdle bool) (cn *conn, reused bool, err error) {
	if useIdle {
		if cn := c.takeIdle(); cn != nil {
			return cn, true, nil
		}
	}
	cn, err = c.dial(ctx)
	return cn, false, err
}

func (c *Channel) takeIdle() *conn {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if now.Sub(cn.lastUsed) < c.cfg.IdleTimeout {
			return cn
		}
		// The server has probably dropped it already: no QUIT.
		cn.raw.Close()
	}
	return nil
}

func (c *Channel) put(cn *conn) {
	cn.lastUsed = time.Now()
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.idle = append(c.idle, cn)
	}
	c.mu.Unlock()
	if closed {
		cn.raw.Close()
	}
}

// dial connects, reads the greeting, and runs EHLO, STARTTLS and AUTH with
// go-mail, each bounded by Timeout and all by ctx.
func (c *Channel) dial(ctx context.Context) (*conn, error) {
	addr := net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port))
	// go-mail calls dialRaw synchronously from DialToSMTPClientWithContext,
	// so raw and stop are set before that call returns.
	var (
		raw  net.Conn
		stop func() bool
	)
	dialRaw := func(dctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(dctx, network, address)
		if err != nil {
			return nil, err
		}
		raw = nc
		// go-mail watches ctx only while dialing; the greeting, STARTTLS
		// and AUTH are interrupted by closing the connection.
		stop = context.AfterFunc(ctx, func() { nc.Close() })
		if !c.cfg.TLS {
			return nc, nil
		}
		// Returned as a *tls.Conn so that go-mail knows AUTH is encrypted.
		tc := tls.Client(nc, c.tlsConfig())
		if err := tc.HandshakeContext(dctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	client, err := c.newClient(dialRaw)
	if err != nil {
		return nil, channels.Permanent(fmt.Errorf("email: %w", err))
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	cancelled := stop != nil && !stop()
	if err != nil || cancelled {
		if raw != nil {
			raw.Close()
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("email: connecting to %s: %w", addr, ctx.Err())
		}
		return nil, fmt.Errorf("email: connecting to %s: %w", addr, err)
	}
	return &conn{smtp: sc, raw: raw}, nil
}

// quit ends the session politely, then closes the connection whatever the
// server says.
func (cn *conn) quit(timeout time.Duration) {
	_ = cn.raw.SetDeadline(time.Now().Add(timeout))
	_ = cn.smtp.Quit()
	cn.raw.Close()
}

func (c *Channel) tlsConfig() *tls.Config {
	cfg := c.cfg.TLSConfig
	if cfg == nil {
		return &tls.Config{ServerName: c.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = c.cfg.Host
	}
	return cfg
}

func (c *Channel) newClient(dial mail.DialContextFunc) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(c.cfg.Port),
		mail.WithTimeout(c.cfg.Timeout),
		mail.WithTLSConfig(c.tlsConfig()),
		mail.WithDialContextFunc(dial),
	}
	switch {
	case c.cfg.TLS:
		opts = append(opts, mail.WithSSL())
	case IsLoopback(c.cfg.Host):
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if c.cfg.LocalName != "" {
		opts = append(opts, mail.WithHELO(c.cfg.LocalName))
	}
	if c.cfg.Username != "" {
		auth := mail.SMTPAuthPlain
		if strings.EqualFold(c.cfg.AuthMethod, "LOGIN") {
			auth = mail.SMTPAuthLogin
		}
		opts = append(opts, mail.WithSMTPAuth(auth),
			mail.WithUsername(c.cfg.Username), mail.WithPassword(c.cfg.Password))
	}
	return mail.NewClient(c.cfg.Host, opts...)
}

// IsLoopback reports whether host names the local machine, where plaintext
// SMTP (a local relay, a test server) is acceptable.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oneLine removes CR and LF so user data can never start a new header.
// ownHeader reports whether name is a header the channel sets itself,
// which Message.Headers may not replace.
func ownHeader(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "from", "to", "cc", "bcc", "subject", "message-id", "date", "sender", "reply-to",
		"mime-version", "content-type", "content-transfer-encoding":
		return true
	}
	return name == "" || strings.ContainsAny(name, ": \r\n")
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "localhost"
}
