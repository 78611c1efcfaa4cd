package telegramlink_test

import (
	"context"
	"errors"
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/telegramlink"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// newStore returns a store over a fresh test app with the links collection,
// the token table and two users.
// The store's clock reads *now, which the test moves.
func newStore(t *testing.T, now *time.Time) (*tests.TestApp, *telegramlink.Store, [2]*core.Record) {
	t.Helper()
	app, users := pbtest.NewApp(t)
	if err := app.Save(telegramlink.NewCollection(users.Id)); err != nil {
		t.Fatal(err)
	}
	if err := telegramlink.EnsureTokensTable(app); err != nil {
		t.Fatal(err)
	}
	var people [2]*core.Record
	for i, email := range []string{"anna@example.org", "bob@example.org"} {
		u := core.NewRecord(users)
		u.SetEmail(email)
		u.SetPassword("password123")
		if err := app.Save(u); err != nil {
			t.Fatal(err)
		}
		people[i] = u
	}
	return app, telegramlink.NewStore(app, "users", func() time.Time { return *now }), people
}

func link(t *testing.T, s *telegramlink.Store, user *core.Record, chat int64) {
	t.Helper()
	tok, err := s.NewToken(user.Id, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Consume(tok.Value, chat, "someone")
	if err != nil || got.Id != user.Id {
		t.Fatalf("Consume = %v, %v; want user %s", got, err, user.Id)
	}
}

func TestChatID(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	app, s, people := newStore(t, &now)
	anna := people[0]
	ctx := context.Background()

	if _, err := s.ChatID(anna.Id); !errors.Is(err, telegramlink.ErrNotLinked) {
		t.Errorf("ChatID before linking: %v; want ErrNotLinked", err)
	}
	link(t, s, anna, 5550001)
	if chat, err := s.ChatID(anna.Id); err != nil || chat != 5550001 {
		t.Errorf("ChatID after linking = %d, %v; want 5550001", chat, err)
	}
	if err := s.Migrate(ctx, 5550001, -1005550001); err != nil {
		t.Fatal(err)
	}
	if chat, err := s.ChatID(anna.Id); err != nil || chat != -1005550001 {
		t.Errorf("ChatID after a migration = %d, %v; want -1005550001", chat, err)
	}
	if err := s.Deactivate(ctx, -1005550001); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChatID(anna.Id); !errors.Is(err, telegramlink.ErrNotLinked) {
		t.Errorf("ChatID after Deactivate: %v; want ErrNotLinked", err)
	}

	// A database that cannot answer is not "not linked": the caller retries.
	if _, err := app.DB().NewQuery("ALTER TABLE {{" + telegramlink.Collection + "}} RENAME TO {{away}}").Execute(); err != nil {
		t.Fatal(err)
	}
	_, err := s.ChatID(anna.Id)
	if err == nil || errors.Is(err, telegramlink.ErrNotLinked) || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("ChatID with the table gone = %v; want the database's error, not ErrNotLinked", err)
	}
}

func TestConsume(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	app, s, people := newStore(t, &now)
	anna, bob := people[0], people[1]

	tok, err := s.NewToken(anna.Id, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Value) != 32 || strings.Trim(tok.Value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		t.Errorf("token %q; want 32 characters that /start accepts", tok.Value)
	}
	if !tok.Expires.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("token expires %s; want 15 minutes from now", tok.Expires)
	}
	var stored int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM {{" + telegramlink.TokensTable + "}} WHERE [[hash]] = {:t}").
		Bind(map[string]any{"t": tok.Value}).Row(&stored); err != nil || stored != 0 {
		t.Errorf("the token is stored in clear (%d rows, %v)", stored, err)
	}
	if _, err := s.Consume(tok.Value, 5550001, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consume(tok.Value, 5550002, "mallory"); !errors.Is(err, telegramlink.ErrBadToken) {
		t.Errorf("Consume of a used token: %v; want ErrBadToken", err)
	}
	if _, err := s.Consume("no-such-token", 5550002, "mallory"); !errors.Is(err, telegramlink.ErrBadToken) {
		t.Errorf("Consume of an unknown token: %v; want ErrBadToken", err)
	}

	late, err := s.NewToken(bob.Id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute + time.Millisecond)
	if _, err := s.Consume(late.Value, 5550003, "bob"); !errors.Is(err, telegramlink.ErrBadToken) {
		t.Errorf("Consume of an expired token: %v; want ErrBadToken", err)
	}

	// A chat belongs to one user, and moves to another only once the chat
	// confirms: Bob's link opened in Anna's chat links nothing yet.
	bobs, err := s.NewToken(bob.Id, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Consume(bobs.Value, 5550001, "anna")
	var pending *telegramlink.PendingMove
	if !errors.As(err, &pending) || pending.User.Id != bob.Id {
		t.Fatalf("Consume of Bob's token in Anna's chat: %v; want a PendingMove to Bob", err)
	}
	if chat, err := s.ChatID(anna.Id); err != nil || chat != 5550001 {
		t.Errorf("Anna's chat before the confirmation = %d, %v; want 5550001", chat, err)
	}
	if _, err := s.ChatID(bob.Id); !errors.Is(err, telegramlink.ErrNotLinked) {
		t.Errorf("Bob's chat before the confirmation: %v; want ErrNotLinked", err)
	}
	if _, err := s.Confirm(pending.ID, 5550002); !errors.Is(err, telegramlink.ErrBadToken) {
		t.Errorf("Confirm from another chat: %v; want ErrBadToken", err)
	}
	// A declined move is gone; asked again, the chat says yes.
	if err := s.Drop(pending.ID, 5550001); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(pending.ID, 5550001); !errors.Is(err, telegramlink.ErrBadToken) {
		t.Errorf("Confirm of a declined move: %v; want ErrBadToken", err)
	}
	again, err := s.NewToken(bob.Id, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = s.Consume(again.Value, 5550001, "anna"); !errors.As(err, &pending) {
		t.Fatalf("Consume of Bob's second token in Anna's chat: %v; want a PendingMove", err)
	}
	if u, err := s.Confirm(pending.ID, 5550001); err != nil || u.Id != bob.Id {
		t.Fatalf("Confirm from the chat = %v, %v; want Bob", u, err)
	}
	if _, err := s.Confirm(pending.ID, 5550001); !errors.Is(err, telegramlink.ErrBadToken) {
		t.Errorf("Confirm twice: %v; want ErrBadToken", err)
	}
	if _, err := s.ChatID(anna.Id); !errors.Is(err, telegramlink.ErrNotLinked) {
		t.Errorf("Anna's chat after Bob linked it: %v; want ErrNotLinked", err)
	}
	if chat, err := s.ChatID(bob.Id); err != nil || chat != 5550001 {
		t.Errorf("Bob's chat = %d, %v; want 5550001", chat, err)
	}
}
