package notify

import (
	"context"
	"crypto/tls"
	"sync"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/email"
)

// settingsMailer sends email with the SMTP settings and sender from the
// dashboard (Settings → Mail settings). It rebuilds its connection pool
// whenever those settings change, so an admin's edit applies to the next
// message without a restart.
type settingsMailer struct {
	settings *settingsCopy
	conns    int
	tls      *tls.Config

	mu  sync.Mutex
	cfg email.Config
	ch  *email.Channel
	err error
}

func newSettingsMailer(settings *settingsCopy, conns int, tlsCfg *tls.Config) *settingsMailer {
	return &settingsMailer{settings: settings, conns: conns, tls: tlsCfg}
}

func (m *settingsMailer) Name() string { return channels.Email }

func (m *settingsMailer) Send(ctx context.Context, msg *channels.Message) (string, error) {
	ch, err := m.current()
	if err != nil {
		return "", channels.Skip(err.Error())
	}
	return ch.Send(ctx, msg)
}

func (m *settingsMailer) current() (*email.Channel, error) {
	s := m.settings.get()
	cfg := email.Config{
		FromName:    s.Meta.SenderName,
		FromAddress: s.Meta.SenderAddress,
		PoolSize:    m.conns,
		TLSConfig:   m.tls,
	}
	if s.SMTP.Enabled {
		cfg.Host = s.SMTP.Host
		cfg.Port = s.SMTP.Port
		cfg.Username = s.SMTP.Username
		cfg.Password = s.SMTP.Password
		cfg.AuthMethod = s.SMTP.AuthMethod
		cfg.TLS = s.SMTP.TLS
		cfg.LocalName = s.SMTP.LocalName
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ch != nil && m.cfg == cfg {
		return m.ch, m.err
	}
	if m.ch != nil {
		m.ch.Close()
	}
	m.cfg = cfg
	m.ch, m.err = email.New(cfg)
	return m.ch, m.err
}

func (m *settingsMailer) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ch != nil {
		m.ch.Close()
		m.ch = nil
	}
}
