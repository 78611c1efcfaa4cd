package pushsub

import (
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// SubscribeRequest is one call of POST /api/notify/webpush/subscribe.
type SubscribeRequest struct {
	// Body is PushSubscription.toJSON(), optionally with the subscription
	// it replaces: {"replaces": {"endpoint", "auth"}} (sent by the service
	// worker on pushsubscriptionchange, where there is no signed-in user).
	Body []byte
	// UserID is the signed-in customer, or "" without a customer session.
	UserID string
	// UserAgent is kept with the subscription so a customer can tell their
	// devices apart.
	UserAgent string
	// AllowedOrigins are the endpoint origins accepted besides the browsers'
	// push services (Config.PushAllowedOrigins).
	AllowedOrigins []string
}

// RequestError is a subscribe request refused for a reason the client may
// be shown. Any other error from Subscribe is the server's.
type RequestError struct {
	Status  int    // http.StatusBadRequest or http.StatusUnauthorized
	Message string // for the client
	Err     error  // the cause, for the log; may be nil
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *RequestError) Unwrap() error { return e.Err }

func refuse(status int, message string, cause error) error {
	return &RequestError{Status: status, Message: message, Err: cause}
}

// subscribeBody is the part of the body besides the subscription itself.
type subscribeBody struct {
	Replaces *struct {
		Endpoint string `json:"endpoint"`
		Auth     string `json:"auth"`
	} `json:"replaces"`
}

// Subscribe upserts a subscription by endpoint and returns its record. A
// signed-in user subscribes their device. Without a session, the service
// worker may replace a subscription it proves it owns (old endpoint + its
// auth secret). An endpoint registered to another user can be taken over
// only with its auth secret, i.e. from the same browser.
func Subscribe(app core.App, req SubscribeRequest) (*core.Record, error) {
	sub, err := webpush.ParseSubscription(req.Body, req.AllowedOrigins)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, err.Error(), nil)
	}
	var body subscribeBody
	_ = json.Unmarshal(req.Body, &body) // ParseSubscription accepted it as JSON

	userID := req.UserID
	var replaced *core.Record
	if body.Replaces != nil && body.Replaces.Endpoint != "" {
		old, err := app.FindFirstRecordByData(Collection, "endpoint", body.Replaces.Endpoint)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("pushsub.Subscribe: finding the replaced subscription: %w", err)
		}
		if err != nil || !sameSecret(old.GetString("auth"), body.Replaces.Auth) || (userID != "" && old.GetString("user") != userID) {
			return nil, refuse(http.StatusBadRequest, "The subscription to replace is unknown or its auth secret does not match.", nil)
		}
		replaced, userID = old, old.GetString("user")
	}
	if userID == "" {
		return nil, refuse(http.StatusUnauthorized, "Sign in as a customer to enable notifications.", nil)
	}

	coll, err := app.FindCachedCollectionByNameOrId(Collection)
	if err != nil {
		return nil, fmt.Errorf("pushsub.Subscribe: %w", err)
	}
	rec, err := app.FindFirstRecordByData(coll, "endpoint", sub.Endpoint)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		rec = core.NewRecord(coll)
	case err != nil:
		return nil, fmt.Errorf("pushsub.Subscribe: finding the endpoint: %w", err)
	case rec.GetString("user") != userID && !sameSecret(rec.GetString("auth"), sub.Auth):
		return nil, refuse(http.StatusBadRequest, "This endpoint is registered to another account.", nil)
	}
	rec.Set("user", userID)
	rec.Set("endpoint", sub.Endpoint)
	rec.Set("p256dh", sub.P256dh)
	rec.Set("auth", sub.Auth)
	rec.Set("userAgent", clip(req.UserAgent, userAgentMax))
	err = app.RunInTransaction(func(txApp core.App) error {
		if replaced != nil && replaced.Id != rec.Id {
			if err := txApp.Delete(replaced); err != nil {
				return err
			}
		}
		if err := txApp.Save(rec); err != nil {
			return err
		}
		return pruneDevices(txApp, userID)
	})
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "The subscription could not be saved.", err)
	}
	return rec, nil
}

// MaxDevices is how many push subscriptions one customer keeps: a new one
// beyond it replaces the one refreshed longest ago. Every device costs a
// push request per message, so without a cap one customer could make an
// order send hundreds.
const MaxDevices = 10

// pruneDevices deletes userID's subscriptions beyond the MaxDevices most
// recently saved, through the app so that realtime subscribers see it.
func pruneDevices(app core.App, userID string) error {
	var stale []string
	err := app.DB().NewQuery(`SELECT [[id]] FROM {{` + Collection + `}} WHERE [[user]] = {:user}
		ORDER BY [[updated]] DESC, [[created]] DESC, rowid DESC LIMIT -1 OFFSET {:keep}`).
		Bind(dbx.Params{"user": userID, "keep": MaxDevices}).Column(&stale)
	if err != nil {
		return fmt.Errorf("pushsub: pruning devices: %w", err)
	}
	for _, id := range stale {
		r, err := app.FindRecordById(Collection, id)
		if err != nil {
			return fmt.Errorf("pushsub: pruning devices: %w", err)
		}
		if err := app.Delete(r); err != nil {
			return fmt.Errorf("pushsub: pruning devices: %w", err)
		}
	}
	return nil
}

// sameSecret compares two base64url auth secrets in constant time.
func sameSecret(a, b string) bool {
	a, b = strings.TrimRight(a, "="), strings.TrimRight(b, "=")
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// clip cuts s to at most n characters, as a text field's Max counts them.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
