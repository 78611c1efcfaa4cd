package pushsub

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pocketbase/pocketbase/core"
)

// CheckSubject reports whether subject is a VAPID contact push services
// accept: "mailto:" with one address, or an https URL. It applies the
// check webpush.New makes, so a bad subject is caught when the plugin is
// registered, not as every push failing.
func CheckSubject(subject string) error {
	_, err := webpush.New(webpush.Config{Subject: subject, Store: Store{}})
	return err
}

// ChannelConfig configures a Channel.
type ChannelConfig struct {
	// Subject is the VAPID contact (Config.VAPIDSubject); empty turns web
	// push off: every message is skipped with the reason.
	Subject string
	// HTTPClient sends the pushes; nil means the webpush package's default.
	HTTPClient *http.Client
	// AllowedOrigins are extra endpoint origins (Config.PushAllowedOrigins).
	AllowedOrigins []string
	// Keys supplies the VAPID key pair.
	Keys *KeyCache
}

// Channel is the web push channel with keys from the database and
// subscriptions from the notifyPushSubscriptions collection. It rebuilds
// the underlying webpush.Channel when the key pair changes (a rotation).
type Channel struct {
	app core.App
	cfg ChannelConfig

	mu sync.Mutex
	ch *webpush.Channel // built with the pair last seen
}

// NewChannel returns the web push channel of app.
func NewChannel(app core.App, cfg ChannelConfig) *Channel {
	return &Channel{app: app, cfg: cfg}
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return channels.WebPush }

// Send implements channels.Channel: m goes to every subscription of
// m.UserID. Looking up the keys or the subscriptions reads the read pool
// only; a 404/410 from a push service deletes that one subscription.
func (c *Channel) Send(ctx context.Context, m *channels.Message) (string, error) {
	ch, err := c.channel()
	if err != nil {
		return "", err
	}
	return ch.Send(ctx, m)
}

func (c *Channel) channel() (*webpush.Channel, error) {
	keys, err := c.cfg.Keys.Get()
	if err != nil {
		return nil, fmt.Errorf("web push keys: %w", err) // a database error: retried
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil && c.ch.PublicKey() == keys.Public {
		return c.ch, nil
	}
	ch, err := webpush.New(webpush.Config{
		Subject:        c.cfg.Subject,
		Keys:           keys,
		HTTPClient:     c.cfg.HTTPClient,
		AllowedOrigins: c.cfg.AllowedOrigins,
		Store:          NewStore(c.app),
	})
	if err != nil {
		return nil, channels.Permanent(fmt.Errorf("web push: %w", err))
	}
	c.ch = ch
	return ch, nil
}
