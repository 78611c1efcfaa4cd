package notify

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/notify/internal/pushsub"
	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// PushSubscriptionsCollection holds the users' web push subscriptions.
const PushSubscriptionsCollection = pushsub.Collection

// VAPIDKeys returns the shop's VAPID key pair, generating and storing one
// on first use. Concurrent first calls agree on one pair: the first insert
// wins and everyone reads it back. It reads the database each time; the
// serving shop keeps the pair in a cache that RotateVAPIDKeys clears.
func VAPIDKeys(app core.App) (webpush.KeyPair, error) {
	return pushsub.LoadKeys(app)
}

// RotateVAPIDKeys replaces the VAPID key pair. Browsers subscribed with the
// old public key can no longer be reached (push services check that the
// key signing a push is the one the subscription was made with), so their
// subscriptions are deleted in the same transaction; the storefront's
// push.js subscribes again on the customer's next visit. A shop serving in
// another process (the CLI rotating while it runs) hands out the new public
// key at once and signs with the new pair from then on (see handlePushKey).
func RotateVAPIDKeys(app core.App) (webpush.KeyPair, error) {
	return pushsub.RotateKeys(app)
}

// setupPush checks the VAPID subject and creates the web push channel.
// A bad subject would make every push fail permanently, so it stops the
// start with a message saying what to fix.
func (p *plugin) setupPush() error {
	if p.cfg.VAPIDSubject != "" {
		if err := pushsub.CheckSubject(p.cfg.VAPIDSubject); err != nil {
			return fmt.Errorf("NOTIFY_VAPID_SUBJECT (Config.VAPIDSubject) is %q; it must look like mailto:owner@example.org or an https:// URL: %w",
				p.cfg.VAPIDSubject, err)
		}
	}
	p.vapidKeys = pushsub.RegisterKeyCache(p.app, p.cfg.Now)
	p.senders[channels.WebPush] = pushsub.NewChannel(p.app, pushsub.ChannelConfig{
		Subject:        p.cfg.VAPIDSubject,
		HTTPClient:     p.cfg.PushHTTPClient,
		AllowedOrigins: p.cfg.PushAllowedOrigins,
		Keys:           p.vapidKeys,
	})
	return nil
}

func (p *plugin) bindPushRoutes() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookPushRoutes,
		Func: func(se *core.ServeEvent) error {
			// With --encryptionEnv, what is still in clear at rest is
			// encrypted now (secrets.EncryptAll).
			if err := secrets.EncryptAll(se.App); err != nil {
				return fmt.Errorf("notify: secrets at rest: %w", err)
			}
			// Create the key pair now, before any browser asks for it.
			if _, err := p.vapidKeys.Get(); err != nil {
				return fmt.Errorf("notify: web push keys: %w", err)
			}
			se.Router.GET("/api/notify/webpush/key", p.handlePushKey)
			se.Router.POST("/api/notify/webpush/subscribe", p.handlePushSubscribe)
			return se.Next()
		},
	})
}

// handlePushKey reads the pair afresh, on the read pool, writing nothing:
// the key a browser subscribes with must be the current one, also right
// after a rotation by the CLI in another process. It is also where the
// senders' cache learns of such a rotation: a browser can only subscribe
// with a key it got here, so no push is ever signed with a pair older than
// the key its subscription was made with.
func (p *plugin) handlePushKey(e *core.RequestEvent) error {
	if p.cfg.VAPIDSubject == "" {
		// A browser subscribed now would never get a push.
		return e.Error(http.StatusServiceUnavailable, "Web push is not configured on this shop (NOTIFY_VAPID_SUBJECT).", nil)
	}
	keys, err := pushsub.LoadKeys(e.App)
	if err != nil {
		return e.InternalServerError("Web push keys are not available.", err)
	}
	if cached, err := p.vapidKeys.Get(); err == nil && cached.Public != keys.Public {
		p.vapidKeys.Invalidate()
	}
	return e.JSON(http.StatusOK, map[string]string{"publicKey": keys.Public})
}

// handlePushSubscribe upserts a subscription by endpoint (see
// pushsub.Subscribe for who may subscribe what).
func (p *plugin) handlePushSubscribe(e *core.RequestEvent) error {
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, 8<<10))
	if err != nil {
		return e.BadRequestError("Could not read the body.", err)
	}
	userID := ""
	if e.Auth != nil && e.Auth.Collection().Name == p.cfg.UsersCollection {
		userID = e.Auth.Id
	}
	rec, err := pushsub.Subscribe(e.App, pushsub.SubscribeRequest{
		Body:           body,
		UserID:         userID,
		UserAgent:      e.Request.UserAgent(),
		AllowedOrigins: p.cfg.PushAllowedOrigins,
	})
	var refused *pushsub.RequestError
	if errors.As(err, &refused) {
		return e.Error(refused.Status, refused.Message, refused.Err)
	}
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]string{"id": rec.Id, "endpoint": rec.GetString("endpoint")})
}
