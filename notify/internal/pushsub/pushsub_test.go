package pushsub_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
	"github.com/pbnotify/pbnotify/notify/internal/pushsub"
	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// newApp returns a test app with the subscriptions collection, the secrets
// table and one user, and a log of the statements on its write connection.
func newApp(t *testing.T) (*tests.TestApp, *core.Record, *sqlLog) {
	t.Helper()
	app, users := pbtest.NewApp(t)
	if err := app.Save(pushsub.NewCollection(users.Id)); err != nil {
		t.Fatal(err)
	}
	if err := secrets.EnsureTable(app); err != nil {
		t.Fatal(err)
	}
	user := core.NewRecord(users)
	user.SetEmail("anna@example.org")
	user.SetPassword("password123")
	if err := app.Save(user); err != nil {
		t.Fatal(err)
	}
	return app, user, attachLog(app)
}

// sqlLog records statements on the write connection (NonconcurrentDB) and
// on the read pool (ConcurrentDB) while it is on.
type sqlLog struct {
	on           atomic.Bool
	mu           sync.Mutex
	write, reads []string
}

func attachLog(app core.App) *sqlLog {
	l := &sqlLog{}
	hook := func(db dbx.Builder, into *[]string) {
		d := db.(*dbx.DB)
		add := func(s string) {
			if l.on.Load() {
				l.mu.Lock()
				*into = append(*into, s)
				l.mu.Unlock()
			}
		}
		d.QueryLogFunc = func(_ context.Context, _ time.Duration, s string, _ *sql.Rows, _ error) { add(s) }
		d.ExecLogFunc = func(_ context.Context, _ time.Duration, s string, _ sql.Result, _ error) { add(s) }
	}
	hook(app.NonconcurrentDB(), &l.write)
	hook(app.ConcurrentDB(), &l.reads)
	return l
}

// during runs fn with the log on and returns what ran on each side.
func (l *sqlLog) during(fn func()) (write, reads []string) {
	l.mu.Lock()
	l.write, l.reads = nil, nil
	l.mu.Unlock()
	l.on.Store(true)
	fn()
	l.on.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.write, l.reads
}

func TestKeyCache(t *testing.T) {
	app, _, log := newApp(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) // moved by the test; Get runs on this goroutine only
	cache := pushsub.RegisterKeyCache(app, func() time.Time { return now })

	first, err := cache.Get() // generates and stores the pair
	if err != nil || first.Public == "" {
		t.Fatalf("first Get = %+v, %v; want a generated pair", first, err)
	}
	stored, err := pushsub.LoadKeys(app)
	if err != nil || stored != first {
		t.Fatalf("LoadKeys = %+v, %v; want the pair Get generated", stored, err)
	}

	var again webpush.KeyPair
	write, reads := log.during(func() { again, err = cache.Get() })
	if err != nil || again != first || len(write)+len(reads) != 0 {
		t.Errorf("cached Get = %+v, %v after %d writes and %d reads; want the same pair from memory", again, err, len(write), len(reads))
	}

	// Another process (the CLI) rotates: this one sees it when the cache expires.
	other, _ := webpush.GenerateKeys()
	if err := secrets.Write(app, "vapid.public", other.Public); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Write(app, "vapid.private", other.Private); err != nil {
		t.Fatal(err)
	}
	now = now.Add(pushsub.KeyCacheTTL - time.Second)
	if got, _ := cache.Get(); got != first {
		t.Errorf("Get before the cache expired = %q; want the cached %q", got.Public, first.Public)
	}
	now = now.Add(time.Second)
	var fresh webpush.KeyPair
	write, reads = log.during(func() { fresh, err = cache.Get() })
	if err != nil || fresh != other {
		t.Errorf("Get after %s = %q, %v; want the other process's key %q", pushsub.KeyCacheTTL, fresh.Public, err, other.Public)
	}
	if len(write) != 0 || len(reads) == 0 {
		t.Errorf("reloading the keys ran %d statements on the write connection and %d on the read pool; want reads only:\n%s",
			len(write), len(reads), strings.Join(write, "\n"))
	}

	// A rotation in this process is seen at once.
	rotated, err := pushsub.RotateKeys(app)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cache.Get(); got != rotated {
		t.Errorf("Get right after RotateKeys = %q; want the rotated key %q", got.Public, rotated.Public)
	}
}

func TestLoadKeysNeedsTheInstalledTable(t *testing.T) {
	app, _, log := newApp(t)
	if _, err := app.DB().NewQuery("DROP TABLE {{" + secrets.Table + "}}").Execute(); err != nil {
		t.Fatal(err)
	}
	var err error
	write, _ := log.during(func() { _, err = pushsub.LoadKeys(app) })
	if err == nil || !strings.Contains(err.Error(), "InstallCollections") {
		t.Errorf("LoadKeys without the secrets table = %v; want an error pointing at InstallCollections", err)
	}
	for _, s := range write {
		if strings.Contains(s, "CREATE") {
			t.Errorf("LoadKeys created a table: %s", s)
		}
	}
}

func TestChannelSendStaysOffTheWriteConnection(t *testing.T) {
	app, user, log := newApp(t)
	svc := pushtest.New(t)
	for range 2 {
		body := pushtest.SubscriptionJSON(svc.NewSubscription())
		if _, err := pushsub.Subscribe(app, pushsub.SubscribeRequest{Body: body, UserID: user.Id, AllowedOrigins: []string{svc.URL}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pushsub.LoadKeys(app); err != nil { // as serve does
		t.Fatal(err)
	}
	ch := pushsub.NewChannel(app, pushsub.ChannelConfig{
		Subject:        "mailto:shop@example.org",
		AllowedOrigins: []string{svc.URL},
		Keys:           pushsub.RegisterKeyCache(app, nil),
	})

	for i := range 2 { // a cold and a warm key cache
		var provider string
		var err error
		write, _ := log.during(func() {
			provider, err = ch.Send(context.Background(), &channels.Message{ID: fmt.Sprint("m", i), UserID: user.Id, PushTitle: "Hello", PushBody: "Your order"})
		})
		if err != nil || provider != "2/2 devices" {
			t.Fatalf("Send %d = %q, %v; want 2/2 devices", i, provider, err)
		}
		if len(write) != 0 {
			t.Errorf("Send %d ran %d statements on the write connection; want none:\n%s", i, len(write), strings.Join(write, "\n"))
		}
	}
	if got := len(svc.WaitReceived(t, 4, 10*time.Second)); got != 4 {
		t.Errorf("the push service received %d pushes; want 4", got)
	}
}

func TestCheckSubject(t *testing.T) {
	for _, tc := range []struct {
		subject string
		ok      bool
	}{
		{"mailto:owner@example.org", true},
		{"https://shop.example.org/contact", true},
		{"owner@example.org", false},
		{"mailto:", false},
		{"http://shop.example.org", false},
	} {
		if err := pushsub.CheckSubject(tc.subject); (err == nil) != tc.ok {
			t.Errorf("CheckSubject(%q) = %v; want ok=%v", tc.subject, err, tc.ok)
		}
	}
}

func TestSubscribe(t *testing.T) {
	app, anna, _ := newApp(t)
	svc := pushtest.New(t)
	bob := core.NewRecord(anna.Collection())
	bob.SetEmail("bob@example.org")
	bob.SetPassword("password123")
	if err := app.Save(bob); err != nil {
		t.Fatal(err)
	}
	sub := svc.NewSubscription()
	body := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(pushtest.SubscriptionJSON(sub), &m)
		if edit != nil {
			edit(m)
		}
		b, _ := json.Marshal(m)
		return b
	}
	fresh := svc.NewSubscription()
	replacing := func(auth string) []byte {
		var m map[string]any
		_ = json.Unmarshal(pushtest.SubscriptionJSON(fresh), &m)
		m["replaces"] = map[string]any{"endpoint": sub.Endpoint, "auth": auth}
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		user   string
		status int    // 0: accepted
		want   string // in the refusal message
	}{
		{"no session", body(nil), "", http.StatusUnauthorized, "Sign in"},
		{"foreign origin", body(func(m map[string]any) { m["endpoint"] = "https://evil.example.org/push/1" }), anna.Id, http.StatusBadRequest, "evil.example.org"},
		{"valid", body(nil), anna.Id, 0, ""},
		{"upsert", body(nil), anna.Id, 0, ""},
		{"another user's endpoint", body(func(m map[string]any) {
			m["keys"].(map[string]any)["auth"] = "BBBBBBBBBBBBBBBBBBBBBB"
		}), bob.Id, http.StatusBadRequest, "another account"},
		{"replace with a wrong secret", replacing("wrong-secret-wrong-sec"), "", http.StatusBadRequest, "auth secret does not match"},
		{"replace by another user", replacing(sub.Auth), bob.Id, http.StatusBadRequest, "auth secret does not match"},
		{"replace from the service worker", replacing(sub.Auth), "", 0, ""},
	} {
		rec, err := pushsub.Subscribe(app, pushsub.SubscribeRequest{Body: tc.body, UserID: tc.user, UserAgent: "test", AllowedOrigins: []string{svc.URL}})
		var refused *pushsub.RequestError
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%s: Subscribe = %v; want accepted", tc.name, err)
		case tc.status != 0 && (!errors.As(err, &refused) || refused.Status != tc.status || !strings.Contains(refused.Message, tc.want)):
			t.Errorf("%s: Subscribe = %v, %v; want a %d refusal mentioning %q", tc.name, rec, err, tc.status, tc.want)
		}
	}
	recs, err := app.FindAllRecords(pushsub.Collection)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].GetString("endpoint") != fresh.Endpoint || recs[0].GetString("user") != anna.Id {
		t.Errorf("subscriptions after the replacement = %v; want only Anna's new endpoint", recs)
	}
}
