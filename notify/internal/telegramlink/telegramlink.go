// Package telegramlink binds users to Telegram chats.
//
// What: the notifyTelegramLinks collection (NewCollection), the table of
// one-time link tokens (EnsureTokensTable, created at install time), and a
// Store that creates and consumes those tokens, finds a user's chat for the
// Telegram channel, and deactivates or moves links when Telegram reports a
// blocked bot or a migrated group.
//
// How a link is made: a signed-in customer asks the shop for a link
// (NewToken) and opens t.me/<bot>?start=<token>; the bot receives
// "/start <token>" and Consume binds that chat to the token's user, once.
// A chat already linked to another account moves only once the chat
// confirms it (PendingMove, Confirm).
// Tokens are stored by hash only, so a database read does not yield a
// working link.
package telegramlink

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Collection binds users to Telegram chats. A user sees their own link (to
// show "connected"); only the bot writes it, so a chat id can never be set
// through the records API.
const Collection = "notifyTelegramLinks"

// TokensTable keeps one-time link tokens, by hash only. It is a plain table:
// no records API exposes it.
const TokensTable = "_notifyTelegramTokens"

// ErrNotLinked is returned by Store.ChatID for a user without an active
// link: the Telegram channel skips such a user.
var ErrNotLinked = errors.New("user has not linked Telegram")

// ErrBadToken is returned by Store.Consume for a token that is unknown,
// already used or expired, or whose user no longer exists.
var ErrBadToken = errors.New("unknown, used or expired link token")

// NewCollection returns the notifyTelegramLinks collection: one link per
// user; the chat id is hidden; customers read and delete (unlink) their
// own link and cannot create or change one.
func NewCollection(usersID string) *core.Collection {
	c := core.NewBaseCollection(Collection)
	own := "@request.auth.id != '' && user = @request.auth.id"
	c.ListRule = &own
	c.ViewRule = &own
	c.DeleteRule = &own // unlinking from the storefront
	c.Fields.Add(
		&core.RelationField{Name: "user", Required: true, CollectionId: usersID, MaxSelect: 1, CascadeDelete: true},
		&core.NumberField{Name: "chatId", OnlyInt: true, Hidden: true},
		&core.BoolField{Name: "active"},
		&core.TextField{Name: "username", Max: 100},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	c.AddIndex("idx_notifyTelegramLinks_user", true, "`user`", "")
	c.AddIndex("idx_notifyTelegramLinks_chat", false, "`chatId`", "")
	return c
}

// MovesTable keeps the moves of an already linked chat to another account
// that wait for the chat's confirmation (see PendingMove). A plain table:
// no records API exposes it, so the other account learns nothing of the
// chat.
const MovesTable = "_notifyTelegramMoves"

// EnsureTokensTable creates the link token and pending move tables if they
// do not exist. It belongs in a migration (notify.InstallCollections), not
// in serve.
func EnsureTokensTable(app core.App) error {
	_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS {{` + TokensTable + `}} (
		[[hash]] TEXT PRIMARY KEY NOT NULL,
		[[user]] TEXT NOT NULL,
		[[expires]] TEXT NOT NULL,
		[[used]] BOOLEAN NOT NULL DEFAULT FALSE
	)`).Execute()
	if err != nil {
		return fmt.Errorf("telegramlink.EnsureTokensTable: %w", err)
	}
	_, err = app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS {{` + MovesTable + `}} (
		[[id]] TEXT PRIMARY KEY NOT NULL,
		[[user]] TEXT NOT NULL,
		[[chat]] INTEGER NOT NULL,
		[[username]] TEXT NOT NULL DEFAULT '',
		[[expires]] TEXT NOT NULL
	)`).Execute()
	if err != nil {
		return fmt.Errorf("telegramlink.EnsureTokensTable: %w", err)
	}
	return nil
}

// PendingMove is the error Consume returns when the chat is already linked
// to another account: the token is spent, nothing is linked, and the move
// waits for the chat to confirm it (Confirm with ID) within the token's
// lifetime. Without it, anyone who got a customer to open their link
// would take over the customer's chat and learn their username.
type PendingMove struct {
	ID   string       // for Confirm; 16 characters of [A-Za-z0-9_-]
	User *core.Record // the account the chat would move to
}

func (e *PendingMove) Error() string {
	return "telegramlink: the chat is linked to another account; the move waits for its confirmation"
}

// moveTTL is how long a pending move can be confirmed.
const moveTTL = 15 * time.Minute

// Store reads and writes the links of one app. It implements
// telegram.Links (Deactivate, Migrate) for the Telegram channel. Records
// are saved through the app, so a storefront watching its link over
// realtime sees every change.
type Store struct {
	app   core.App
	users string
	now   func() time.Time
}

// NewStore returns the link store of app. usersCollection is the auth
// collection links point to; now is the clock token expiry is judged by
// (nil means time.Now).
func NewStore(app core.App, usersCollection string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{app: app, users: usersCollection, now: now}
}

// ChatID returns the chat of the user's active link. A user with no link,
// or one deactivated by /stop or a blocked bot, gets ErrNotLinked; any
// other error is the database's and worth retrying.
func (s *Store) ChatID(userID string) (int64, error) {
	link, err := s.app.FindFirstRecordByFilter(Collection, "user = {:u} && active = true", dbx.Params{"u": userID})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotLinked
	}
	if err != nil {
		return 0, fmt.Errorf("telegramlink.ChatID: %w", err)
	}
	return int64(link.GetInt("chatId")), nil
}

// Token is a one-time link token as handed to the customer.
type Token struct {
	Value   string    // 32 characters of [A-Za-z0-9_-], as /start allows
	Expires time.Time // after which Consume refuses it
}

// MaxLiveTokens is how many unused, unexpired link tokens one user holds:
// a new one beyond it replaces the oldest, which stops working.
const MaxLiveTokens = 5

// NewToken creates a one-time token that links a chat to userID when sent
// to the bot as "/start <token>" within ttl. The user keeps at most
// MaxLiveTokens; every token used or expired, anyone's, is deleted.
func (s *Store) NewToken(userID string, ttl time.Duration) (Token, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, fmt.Errorf("telegramlink.NewToken: %w", err)
	}
	now := s.now()
	t := Token{Value: base64.RawURLEncoding.EncodeToString(raw), Expires: now.Add(ttl)}
	err := s.app.RunInTransaction(func(txApp core.App) error {
		// Spent and expired tokens of anyone are of no more use.
		if _, err := txApp.DB().NewQuery(`DELETE FROM {{` + TokensTable + `}} WHERE [[used]] OR [[expires]] < {:now}`).
			Bind(dbx.Params{"now": dbTime(now)}).Execute(); err != nil {
			return err
		}
		// The user's oldest live tokens beyond MaxLiveTokens-1 make room.
		if _, err := txApp.DB().NewQuery(`DELETE FROM {{` + TokensTable + `}} WHERE [[hash]] IN (
			SELECT [[hash]] FROM {{` + TokensTable + `}} WHERE [[user]] = {:u}
			ORDER BY [[expires]] DESC, rowid DESC LIMIT -1 OFFSET {:keep})`).
			Bind(dbx.Params{"u": userID, "keep": MaxLiveTokens - 1}).Execute(); err != nil {
			return err
		}
		_, err := txApp.DB().NewQuery(`INSERT INTO {{` + TokensTable + `}} ([[hash]], [[user]], [[expires]]) VALUES ({:h}, {:u}, {:x})`).
			Bind(dbx.Params{"h": tokenHash(t.Value), "u": userID, "x": dbTime(t.Expires)}).Execute()
		return err
	})
	if err != nil {
		return Token{}, fmt.Errorf("telegramlink.NewToken: %w", err)
	}
	return t, nil
}

// Consume spends a one-time token and binds chatID to its user, in one
// transaction, and returns the user. username is the Telegram @username,
// shown to the customer. It returns ErrBadToken for a token that cannot be
// used. A chat belongs to one user: when chatID is linked to another
// account, nothing is linked and the error is a *PendingMove, which the
// chat confirms (Confirm) or lets expire.
func (s *Store) Consume(token string, chatID int64, username string) (*core.Record, error) {
	var user *core.Record
	var pending *PendingMove
	err := s.app.RunInTransaction(func(txApp core.App) error {
		var row struct {
			User    string `db:"user"`
			Expires string `db:"expires"`
			Used    bool   `db:"used"`
		}
		err := txApp.DB().NewQuery(`SELECT [[user]], [[expires]], [[used]] FROM {{` + TokensTable + `}} WHERE [[hash]] = {:h}`).
			Bind(dbx.Params{"h": tokenHash(token)}).One(&row)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err != nil || row.Used || row.Expires < dbTime(s.now()) {
			return ErrBadToken
		}
		if _, err := txApp.DB().NewQuery(`UPDATE {{` + TokensTable + `}} SET [[used]] = TRUE WHERE [[hash]] = {:h}`).
			Bind(dbx.Params{"h": tokenHash(token)}).Execute(); err != nil {
			return err
		}
		user, err = txApp.FindRecordById(s.users, row.User)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadToken // the account was deleted since
		}
		if err != nil {
			return err
		}
		others, err := txApp.FindAllRecords(Collection, dbx.HashExp{"chatId": chatID})
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.GetString("user") != user.Id {
				id, err := newMove(txApp, user.Id, chatID, username, s.now())
				if err != nil {
					return err
				}
				pending = &PendingMove{ID: id, User: user}
				return nil // the token stays spent
			}
		}
		return bind(txApp, user.Id, chatID, username)
	})
	if pending != nil && err == nil {
		return user, pending
	}
	if err != nil && !errors.Is(err, ErrBadToken) {
		return nil, fmt.Errorf("telegramlink.Consume: %w", err)
	}
	return user, err
}

// newMove stores a pending move of chatID to userID and returns its id.
func newMove(app core.App, userID string, chatID int64, username string, now time.Time) (string, error) {
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	if _, err := app.DB().NewQuery(`DELETE FROM {{` + MovesTable + `}} WHERE [[expires]] < {:now}`).
		Bind(dbx.Params{"now": dbTime(now)}).Execute(); err != nil {
		return "", err
	}
	_, err := app.DB().NewQuery(`INSERT INTO {{` + MovesTable + `}} ([[id]], [[user]], [[chat]], [[username]], [[expires]])
		VALUES ({:id}, {:u}, {:c}, {:n}, {:x})`).
		Bind(dbx.Params{"id": id, "u": userID, "c": chatID, "n": username, "x": dbTime(now.Add(moveTTL))}).Execute()
	return id, err
}

// Confirm carries out the pending move id, as confirmed from chatID (the
// chat it is about; any other chat's confirmation is refused), and returns
// the user the chat now belongs to. It returns ErrBadToken for a move that
// is unknown, already done, expired, for another chat, or whose user no
// longer exists.
func (s *Store) Confirm(id string, chatID int64) (*core.Record, error) {
	var user *core.Record
	err := s.app.RunInTransaction(func(txApp core.App) error {
		var row struct {
			User     string `db:"user"`
			Chat     int64  `db:"chat"`
			Username string `db:"username"`
			Expires  string `db:"expires"`
		}
		err := txApp.DB().NewQuery(`SELECT [[user]], [[chat]], [[username]], [[expires]] FROM {{` + MovesTable + `}} WHERE [[id]] = {:id}`).
			Bind(dbx.Params{"id": id}).One(&row)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (row.Chat != chatID || row.Expires < dbTime(s.now())) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		if _, err := txApp.DB().NewQuery(`DELETE FROM {{` + MovesTable + `}} WHERE [[id]] = {:id}`).
			Bind(dbx.Params{"id": id}).Execute(); err != nil {
			return err
		}
		user, err = txApp.FindRecordById(s.users, row.User)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		return bind(txApp, user.Id, chatID, row.Username)
	})
	if err != nil && !errors.Is(err, ErrBadToken) {
		return nil, fmt.Errorf("telegramlink.Confirm: %w", err)
	}
	return user, err
}

// Drop forgets the pending move id, as declined from chatID (the chat it
// is about; any other chat's answer changes nothing).
func (s *Store) Drop(id string, chatID int64) error {
	_, err := s.app.DB().NewQuery(`DELETE FROM {{` + MovesTable + `}} WHERE [[id]] = {:id} AND [[chat]] = {:c}`).
		Bind(dbx.Params{"id": id, "c": chatID}).Execute()
	if err != nil {
		return fmt.Errorf("telegramlink.Drop: %w", err)
	}
	return nil
}

// bind makes chatID the active chat of userID: the chat belongs to one
// user, so another user's link to it is deleted.
func bind(txApp core.App, userID string, chatID int64, username string) error {
	others, err := txApp.FindAllRecords(Collection, dbx.HashExp{"chatId": chatID})
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.GetString("user") != userID {
			if err := txApp.Delete(o); err != nil {
				return err
			}
		}
	}
	link, err := txApp.FindFirstRecordByData(Collection, "user", userID)
	if errors.Is(err, sql.ErrNoRows) {
		coll, err := txApp.FindCachedCollectionByNameOrId(Collection)
		if err != nil {
			return err
		}
		link = core.NewRecord(coll)
		link.Set("user", userID)
	} else if err != nil {
		return err
	}
	link.Set("chatId", chatID)
	link.Set("active", true)
	link.Set("username", username)
	return txApp.Save(link)
}

// Deactivate stops using chatID: the user blocked the bot or sent /stop.
func (s *Store) Deactivate(ctx context.Context, chatID int64) error {
	recs, err := s.app.FindAllRecords(Collection, dbx.HashExp{"chatId": chatID, "active": true})
	if err != nil {
		return fmt.Errorf("telegramlink.Deactivate: %w", err)
	}
	for _, r := range recs {
		r.Set("active", false)
		if err := s.app.Save(r); err != nil {
			return fmt.Errorf("telegramlink.Deactivate: %w", err)
		}
	}
	return nil
}

// Migrate moves links from oldID to newID: a group was upgraded to a
// supergroup, which has a new id.
func (s *Store) Migrate(ctx context.Context, oldID, newID int64) error {
	recs, err := s.app.FindAllRecords(Collection, dbx.HashExp{"chatId": oldID})
	if err != nil {
		return fmt.Errorf("telegramlink.Migrate: %w", err)
	}
	for _, r := range recs {
		r.Set("chatId", newID)
		if err := s.app.Save(r); err != nil {
			return fmt.Errorf("telegramlink.Migrate: %w", err)
		}
	}
	return nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// dbTime formats t as PocketBase stores dates ("2006-01-02 15:04:05.000Z"),
// which sorts as text in time order: token expiry is compared as text.
func dbTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}
