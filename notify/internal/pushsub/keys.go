package pushsub

import (
	"fmt"
	"sync"
	"time"

	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pocketbase/pocketbase/core"
)

// Names of the VAPID key pair in the secrets table.
const (
	secretPublic  = "vapid.public"
	secretPrivate = "vapid.private"
)

// LoadKeys returns the shop's VAPID key pair, generating and storing one
// on first use. Concurrent first calls agree on one pair: the first insert
// wins and everyone reads it back. Once a pair exists it costs two SELECTs
// on the read pool and writes nothing.
func LoadKeys(app core.App) (webpush.KeyPair, error) {
	keys, err := storedKeys(app)
	if err != nil || keys.Public != "" {
		return keys, err
	}
	fresh, err := webpush.GenerateKeys()
	if err != nil {
		return keys, fmt.Errorf("pushsub.LoadKeys: %w", err)
	}
	err = app.RunInTransaction(func(txApp core.App) error {
		if err := secrets.InsertIfAbsent(txApp, secretPublic, fresh.Public); err != nil {
			return err
		}
		return secrets.InsertIfAbsent(txApp, secretPrivate, fresh.Private)
	})
	if err != nil {
		return keys, fmt.Errorf("pushsub.LoadKeys: %w", err)
	}
	return storedKeys(app)
}

// storedKeys reads the pair; a missing half reads as no pair.
func storedKeys(app core.App) (webpush.KeyPair, error) {
	pub, err := secrets.Read(app, secretPublic)
	if err != nil {
		return webpush.KeyPair{}, fmt.Errorf("pushsub: VAPID keys (is notify.InstallCollections in a migration?): %w", err)
	}
	priv, err := secrets.Read(app, secretPrivate)
	if err != nil {
		return webpush.KeyPair{}, fmt.Errorf("pushsub: VAPID keys: %w", err)
	}
	if pub == "" || priv == "" {
		return webpush.KeyPair{}, nil
	}
	return webpush.KeyPair{Public: pub, Private: priv}, nil
}

// RotateKeys replaces the VAPID key pair. Browsers subscribed with the old
// public key can no longer be reached (push services check that the key
// signing a push is the one the subscription was made with), so their
// subscriptions are deleted in the same transaction; the storefront's
// push.js subscribes again on the customer's next visit.
//
// A KeyCache registered on app (RegisterKeyCache) forgets the old pair at
// once. A shop serving in another process (the CLI rotating while
// "./shop serve" runs) picks the new pair up when its cache expires, within
// KeyCacheTTL.
func RotateKeys(app core.App) (webpush.KeyPair, error) {
	keys, err := webpush.GenerateKeys()
	if err != nil {
		return keys, fmt.Errorf("pushsub.RotateKeys: %w", err)
	}
	err = app.RunInTransaction(func(txApp core.App) error {
		if err := secrets.Write(txApp, secretPublic, keys.Public); err != nil {
			return err
		}
		if err := secrets.Write(txApp, secretPrivate, keys.Private); err != nil {
			return err
		}
		if _, err := txApp.FindCollectionByNameOrId(Collection); err == nil {
			if _, err := txApp.DB().NewQuery("DELETE FROM {{" + Collection + "}}").Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return keys, fmt.Errorf("pushsub.RotateKeys: %w", err)
	}
	// After the commit, so that a reload the cache starts now sees the new pair.
	if c, ok := app.Store().Get(keyCacheStoreKey).(*KeyCache); ok {
		c.Invalidate()
	}
	return keys, nil
}

// KeyCacheTTL is how long a KeyCache trusts the pair it read. It bounds how
// long a process keeps signing with a pair that another process replaced
// ("./shop notify vapid --rotate" while "./shop serve" runs). The rotation
// deleted every subscription, and the plugin's key route reads the pair
// afresh and invalidates the cache when it changed, so a browser that
// subscribes with the new key is never pushed to with the old pair.
const KeyCacheTTL = 30 * time.Second

// keyCacheStoreKey is where RegisterKeyCache puts the cache in app.Store(),
// so RotateKeys, given only the app, can reach it.
const keyCacheStoreKey = "pbnotify.pushsub.keyCache"

// KeyCache keeps the VAPID key pair in memory for KeyCacheTTL, so the key
// route and push sends do not read SQLite each time. It is safe for
// concurrent use.
type KeyCache struct {
	app core.App
	now func() time.Time

	// mu is held across a reload: concurrent callers wait for one read
	// instead of each reading, and Invalidate, waiting for it too, cannot
	// be overtaken by a reload that started before a rotation committed.
	mu      sync.Mutex
	keys    webpush.KeyPair
	expires time.Time
}

// NewKeyCache returns a cache of app's key pair; now is its clock (nil
// means time.Now).
func NewKeyCache(app core.App, now func() time.Time) *KeyCache {
	if now == nil {
		now = time.Now
	}
	return &KeyCache{app: app, now: now}
}

// RegisterKeyCache returns a cache of app's key pair that RotateKeys(app)
// invalidates; an app has one, shared by every caller.
func RegisterKeyCache(app core.App, now func() time.Time) *KeyCache {
	return app.Store().GetOrSet(keyCacheStoreKey, func() any { return NewKeyCache(app, now) }).(*KeyCache)
}

// Get returns the key pair, reading (and on first use generating) it when
// the cached one is older than KeyCacheTTL.
func (c *KeyCache) Get() (webpush.KeyPair, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.keys.Public != "" && now.Before(c.expires) {
		return c.keys, nil
	}
	keys, err := LoadKeys(c.app)
	if err != nil {
		return keys, err
	}
	c.keys, c.expires = keys, now.Add(KeyCacheTTL)
	return keys, nil
}

// Invalidate drops the cached pair: the next Get reads it again.
func (c *KeyCache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys, c.expires = webpush.KeyPair{}, time.Time{}
}
