// Package pushsub keeps the users' web push subscriptions and the shop's
// VAPID key pair, and gives the web push channel both.
//
// What: the notifyPushSubscriptions collection (NewCollection), the
// subscription store the channel reads and prunes (Store), the subscribe
// logic behind POST /api/notify/webpush/subscribe (Subscribe), the VAPID
// key pair in the secrets table (LoadKeys, RotateKeys) with an in-memory
// cache (KeyCache), and the channel that ties them together (Channel).
//
// Why a cache: the public key route is anonymous and every push send needs
// the pair; reading it from SQLite each time is wasted work. Tables are
// created at install time only, and reads go to the read pool, so neither
// path touches the single write connection.
package pushsub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Collection holds the users' web push subscriptions.
const Collection = "notifyPushSubscriptions"

// userAgentMax is the length of the userAgent field, in characters.
const userAgentMax = 300

// NewCollection returns the notifyPushSubscriptions collection: a customer
// lists, views and deletes only their own subscriptions; the keys are
// hidden; one row per endpoint.
func NewCollection(usersID string) *core.Collection {
	c := core.NewBaseCollection(Collection)
	own := "@request.auth.id != '' && user = @request.auth.id"
	c.ListRule = &own
	c.ViewRule = &own
	c.DeleteRule = &own
	c.Fields.Add(
		&core.RelationField{Name: "user", Required: true, CollectionId: usersID, MaxSelect: 1, CascadeDelete: true},
		&core.TextField{Name: "endpoint", Required: true, Max: webpush.MaxEndpointLength},
		&core.TextField{Name: "p256dh", Required: true, Max: 200, Hidden: true},
		&core.TextField{Name: "auth", Required: true, Max: 100, Hidden: true},
		&core.TextField{Name: "userAgent", Max: userAgentMax},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	c.AddIndex("idx_notifyPushSubscriptions_endpoint", true, "`endpoint`", "")
	c.AddIndex("idx_notifyPushSubscriptions_user", false, "`user`", "")
	return c
}

// Store gives the web push channel the users' subscriptions. It implements
// webpush.Subscriptions.
type Store struct{ app core.App }

// NewStore returns the subscription store of app.
func NewStore(app core.App) Store { return Store{app} }

// ForUser returns the user's subscriptions, read on the read pool.
func (s Store) ForUser(ctx context.Context, userID string) ([]webpush.Subscription, error) {
	recs, err := s.app.FindAllRecords(Collection, dbx.HashExp{"user": userID})
	if err != nil {
		return nil, fmt.Errorf("pushsub.ForUser: %w", err)
	}
	out := make([]webpush.Subscription, len(recs))
	for i, r := range recs {
		out[i] = webpush.Subscription{Endpoint: r.GetString("endpoint"), P256dh: r.GetString("p256dh"), Auth: r.GetString("auth")}
	}
	return out, nil
}

// Delete removes the subscription with endpoint; one already gone is not an
// error. The record is deleted through the app so realtime subscribers and
// record hooks see it.
func (s Store) Delete(ctx context.Context, endpoint string) error {
	r, err := s.app.FindFirstRecordByData(Collection, "endpoint", endpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pushsub.Delete: %w", err)
	}
	if err := s.app.Delete(r); err != nil {
		return fmt.Errorf("pushsub.Delete: %w", err)
	}
	return nil
}
