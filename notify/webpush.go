package notify

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// PushSubscriptionsCollection holds the users' web push subscriptions.
const PushSubscriptionsCollection = "notifyPushSubscriptions"

// Secret names in the secrets table.
const (
	secretVAPIDPublic  = "vapid.public"
	secretVAPIDPrivate = "vapid.private"
)

// VAPIDKeys returns the shop's VAPID key pair, generating and storing one
// on first use. Concurrent first calls agree on one pair: the first insert
// wins and everyone reads it back.
func VAPIDKeys(app core.App) (webpush.KeyPair, error) {
	keys, err := storedVAPIDKeys(app)
	if err != nil || keys.Public != "" {
		return keys, err
	}
	fresh, err := webpush.GenerateKeys()
	if err != nil {
		return keys, err
	}
	err = app.RunInTransaction(func(txApp core.App) error {
		if err := insertSecretIfAbsent(txApp, secretVAPIDPublic, fresh.Public); err != nil {
			return err
		}
		return insertSecretIfAbsent(txApp, secretVAPIDPrivate, fresh.Private)
	})
	if err != nil {
		return keys, fmt.Errorf("VAPIDKeys: %w", err)
	}
	return storedVAPIDKeys(app)
}

func storedVAPIDKeys(app core.App) (webpush.KeyPair, error) {
	if err := ensureSecretsTable(app); err != nil {
		return webpush.KeyPair{}, err
	}
	pub, err := readSecret(app, secretVAPIDPublic)
	if err != nil {
		return webpush.KeyPair{}, err
	}
	priv, err := readSecret(app, secretVAPIDPrivate)
	if err != nil || pub == "" || priv == "" {
		return webpush.KeyPair{}, err
	}
	return webpush.KeyPair{Public: pub, Private: priv}, nil
}

// RotateVAPIDKeys replaces the VAPID key pair. Browsers subscribed with the
// old public key can no longer be reached (push services check that the
// key signing a push is the one the subscription was made with), so their
// subscriptions are deleted in the same transaction; the storefront's
// push.js subscribes again on the customer's next visit.
func RotateVAPIDKeys(app core.App) (webpush.KeyPair, error) {
	keys, err := webpush.GenerateKeys()
	if err != nil {
		return keys, err
	}
	err = app.RunInTransaction(func(txApp core.App) error {
		if err := ensureSecretsTable(txApp); err != nil {
			return err
		}
		if err := writeSecret(txApp, secretVAPIDPublic, keys.Public); err != nil {
			return err
		}
		if err := writeSecret(txApp, secretVAPIDPrivate, keys.Private); err != nil {
			return err
		}
		if _, err := txApp.FindCollectionByNameOrId(PushSubscriptionsCollection); err == nil {
			_, err := txApp.NonconcurrentDB().NewQuery("DELETE FROM {{" + PushSubscriptionsCollection + "}}").Execute()
			return err
		}
		return nil
	})
	return keys, err
}

// pushSender is the web push channel with keys from the database. It
// rebuilds the channel when the keys change (a rotation by the CLI while
// the shop runs).
type pushSender struct {
	p  *plugin
	mu sync.Mutex
	ch *webpush.Channel
}

func (s *pushSender) Name() string { return channels.WebPush }

func (s *pushSender) Send(ctx context.Context, m *channels.Message) (string, error) {
	ch, err := s.channel()
	if err != nil {
		return "", err
	}
	return ch.Send(ctx, m)
}

func (s *pushSender) channel() (*webpush.Channel, error) {
	keys, err := VAPIDKeys(s.p.app)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil && s.ch.PublicKey() == keys.Public {
		return s.ch, nil
	}
	cfg := s.p.cfg
	ch, err := webpush.New(webpush.Config{
		Subject:        cfg.VAPIDSubject,
		Keys:           keys,
		HTTPClient:     cfg.PushHTTPClient,
		AllowedOrigins: cfg.PushAllowedOrigins,
		Store:          pushStore{s.p.app},
	})
	if err != nil {
		return nil, channels.Permanent(fmt.Errorf("web push: %w", err))
	}
	s.ch = ch
	return ch, nil
}

// pushStore gives the web push channel the users' subscriptions.
type pushStore struct{ app core.App }

func (s pushStore) ForUser(ctx context.Context, userID string) ([]webpush.Subscription, error) {
	recs, err := s.app.FindAllRecords(PushSubscriptionsCollection, dbx.HashExp{"user": userID})
	if err != nil {
		return nil, err
	}
	out := make([]webpush.Subscription, len(recs))
	for i, r := range recs {
		out[i] = webpush.Subscription{Endpoint: r.GetString("endpoint"), P256dh: r.GetString("p256dh"), Auth: r.GetString("auth")}
	}
	return out, nil
}

func (s pushStore) Delete(ctx context.Context, endpoint string) error {
	r, err := s.app.FindFirstRecordByData(PushSubscriptionsCollection, "endpoint", endpoint)
	if err != nil {
		return nil // already gone
	}
	return s.app.Delete(r)
}

const HookPushRoutes = "__notifyPushRoutes__"

func (p *plugin) bindPushRoutes() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookPushRoutes,
		Func: func(se *core.ServeEvent) error {
			// Create the key pair now, before any browser asks for it.
			if _, err := VAPIDKeys(se.App); err != nil {
				return fmt.Errorf("notify: web push keys: %w", err)
			}
			se.Router.GET("/api/notify/webpush/key", p.handlePushKey)
			se.Router.POST("/api/notify/webpush/subscribe", p.handlePushSubscribe)
			return se.Next()
		},
	})
}

func (p *plugin) handlePushKey(e *core.RequestEvent) error {
	keys, err := VAPIDKeys(e.App)
	if err != nil {
		return e.InternalServerError("Web push keys are not available.", err)
	}
	return e.JSON(http.StatusOK, map[string]string{"publicKey": keys.Public})
}

// subscribeRequest is PushSubscription.toJSON(), optionally with the
// subscription it replaces (sent by the service worker on
// pushsubscriptionchange, where there is no signed-in user).
type subscribeRequest struct {
	Replaces *struct {
		Endpoint string `json:"endpoint"`
		Auth     string `json:"auth"`
	} `json:"replaces"`
}

// handlePushSubscribe upserts a subscription by endpoint. A signed-in user
// subscribes their device. Without a session, the service worker may
// replace a subscription it proves it owns (old endpoint + its auth
// secret). An endpoint registered to another user can be taken over only
// with its auth secret, i.e. from the same browser.
func (p *plugin) handlePushSubscribe(e *core.RequestEvent) error {
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, 8<<10))
	if err != nil {
		return e.BadRequestError("Could not read the body.", err)
	}
	sub, err := webpush.ParseSubscription(body, p.cfg.PushAllowedOrigins)
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	var req subscribeRequest
	_ = json.Unmarshal(body, &req)

	userID := ""
	if e.Auth != nil && e.Auth.Collection().Name == p.cfg.UsersCollection {
		userID = e.Auth.Id
	}
	var replaced *core.Record
	if req.Replaces != nil && req.Replaces.Endpoint != "" {
		old, err := e.App.FindFirstRecordByData(PushSubscriptionsCollection, "endpoint", req.Replaces.Endpoint)
		if err != nil || !sameSecret(old.GetString("auth"), req.Replaces.Auth) || (userID != "" && old.GetString("user") != userID) {
			return e.BadRequestError("The subscription to replace is unknown or its auth secret does not match.", nil)
		}
		replaced, userID = old, old.GetString("user")
	}
	if userID == "" {
		return e.UnauthorizedError("Sign in as a customer to enable notifications.", nil)
	}

	coll, err := e.App.FindCachedCollectionByNameOrId(PushSubscriptionsCollection)
	if err != nil {
		return err
	}
	rec, err := e.App.FindFirstRecordByData(coll, "endpoint", sub.Endpoint)
	switch {
	case err != nil:
		rec = core.NewRecord(coll)
	case rec.GetString("user") != userID && !sameSecret(rec.GetString("auth"), sub.Auth):
		return e.BadRequestError("This endpoint is registered to another account.", nil)
	}
	rec.Set("user", userID)
	rec.Set("endpoint", sub.Endpoint)
	rec.Set("p256dh", sub.P256dh)
	rec.Set("auth", sub.Auth)
	rec.Set("userAgent", truncate(e.Request.UserAgent(), 300))
	err = e.App.RunInTransaction(func(txApp core.App) error {
		if replaced != nil && replaced.Id != rec.Id {
			if err := txApp.Delete(replaced); err != nil {
				return err
			}
		}
		return txApp.Save(rec)
	})
	if err != nil {
		return e.BadRequestError("The subscription could not be saved.", err)
	}
	return e.JSON(http.StatusOK, map[string]string{"id": rec.Id, "endpoint": rec.GetString("endpoint")})
}

// sameSecret compares two base64url auth secrets in constant time.
func sameSecret(a, b string) bool {
	a, b = strings.TrimRight(a, "="), strings.TrimRight(b, "=")
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func pushSubscriptionsCollection(usersID string) *core.Collection {
	c := core.NewBaseCollection(PushSubscriptionsCollection)
	own := "@request.auth.id != '' && user = @request.auth.id"
	c.ListRule = &own
	c.ViewRule = &own
	c.DeleteRule = &own
	c.Fields.Add(
		&core.RelationField{Name: "user", Required: true, CollectionId: usersID, MaxSelect: 1, CascadeDelete: true},
		&core.TextField{Name: "endpoint", Required: true, Max: webpush.MaxEndpointLength},
		&core.TextField{Name: "p256dh", Required: true, Max: 200, Hidden: true},
		&core.TextField{Name: "auth", Required: true, Max: 100, Hidden: true},
		&core.TextField{Name: "userAgent", Max: 300},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	c.AddIndex("idx_notifyPushSubscriptions_endpoint", true, "`endpoint`", "")
	c.AddIndex("idx_notifyPushSubscriptions_user", false, "`user`", "")
	return c
}
