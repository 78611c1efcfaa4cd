// Package email delivers messages over SMTP with github.com/wneessen/go-mail.
//
// A Channel keeps a small pool of authenticated SMTP connections and reuses
// them across messages: dialing, STARTTLS and AUTH cost several round trips,
// far more than the MAIL/RCPT/DATA of one message.
//
// TLS is mandatory for every host that is not on the loopback interface:
// either implicit TLS (Config.TLS, usually port 465) or STARTTLS.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/wneessen/go-mail"
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
	// Timeout bounds dialing and each SMTP command. Default: 30 seconds.
	Timeout time.Duration
	// IdleTimeout closes pooled connections unused for this long, before the
	// server drops them. Default: 30 seconds.
	IdleTimeout time.Duration
}

// Channel sends email. It is safe for concurrent use.
type Channel struct {
	cfg  Config
	sem  chan struct{} // bounds open connections to PoolSize
	mu   sync.Mutex
	idle []*conn // connections ready for reuse, most recently used last
}

type conn struct {
	client   *mail.Client
	lastUsed time.Time
}

// New returns an email channel. A Config without Host is valid: such a
// channel skips every message and says why.
func New(cfg Config) (*Channel, error) {
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
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
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	if c.cfg.Host == "" {
		return "", channels.Skip("email is not configured: enable SMTP in Settings → Mail settings")
	}
	if m.To == "" {
		return "", channels.Skip("recipient has no email address")
	}
	msg, msgID, err := c.build(m)
	if err != nil {
		return "", channels.Permanent(err)
	}

	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.sem }()

	// A pooled connection may have been closed by the server while idle; that
	// shows as a failed connection check and is worth one fresh dial.
	for try := 0; ; try++ {
		cn, reused, err := c.take(ctx)
		if err != nil {
			return "", classify(err)
		}
		err = cn.client.Send(msg)
		if err == nil {
			c.put(cn)
			return msgID, nil
		}
		cn.client.Close()
		if reused && try == 0 && isConnCheck(err) {
			continue
		}
		return "", classify(err)
	}
}

// Close closes all idle connections.
func (c *Channel) Close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cn := range idle {
		cn.client.Close()
	}
}

func (c *Channel) build(m *channels.Message) (*mail.Msg, string, error) {
	msg := mail.NewMsg()
	if err := msg.FromFormat(oneLine(c.cfg.FromName), c.cfg.FromAddress); err != nil {
		return nil, "", fmt.Errorf("sender address %q: %w", c.cfg.FromAddress, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, "", fmt.Errorf("recipient address %q: %w", m.To, err)
	}
	msg.Subject(oneLine(m.Subject))
	// A stable Message-ID per outbox row lets mail servers and clients
	// recognise a redelivery after a crash as the same message.
	msgID := m.ID + "@" + domainOf(c.cfg.FromAddress)
	msg.SetMessageIDWithValue(msgID)
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, "<" + msgID + ">", nil
}

// take returns an idle connection if there is a fresh one, or dials.
func (c *Channel) take(ctx context.Context) (*conn, bool, error) {
	now := time.Now()
	c.mu.Lock()
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if now.Sub(cn.lastUsed) < c.cfg.IdleTimeout {
			c.mu.Unlock()
			return cn, true, nil
		}
		cn.client.Close()
	}
	c.mu.Unlock()

	client, err := c.newClient()
	if err != nil {
		return nil, false, channels.Permanent(err)
	}
	dialCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := client.DialWithContext(dialCtx); err != nil {
		return nil, false, err
	}
	return &conn{client: client}, false, nil
}

func (c *Channel) put(cn *conn) {
	cn.lastUsed = time.Now()
	c.mu.Lock()
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

func (c *Channel) newClient() (*mail.Client, error) {
	tlsCfg := c.cfg.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: c.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	opts := []mail.Option{
		mail.WithPort(c.cfg.Port),
		mail.WithTimeout(c.cfg.Timeout),
		mail.WithTLSConfig(tlsCfg),
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

// classify maps an SMTP outcome to what the dispatcher should do: a 5xx
// reply is final, a 4xx reply or a network failure is worth retrying.
func classify(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		if code >= 500 && code < 600 {
			return channels.Permanent(fmt.Errorf("SMTP %d: %w", code, err))
		}
		if code >= 400 && code < 500 {
			return fmt.Errorf("SMTP %d: %w", code, err)
		}
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			// The message itself is unusable: sending it again cannot succeed.
			return channels.Permanent(err)
		}
	}
	// Connection refused, timeouts, TLS handshake failures: retry later.
	return err
}

func isConnCheck(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && se.Reason == mail.ErrConnCheck
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
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "localhost"
}
