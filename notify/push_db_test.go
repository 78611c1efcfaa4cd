package notify_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// writeLog records the statements run on the app's single write
// connection (NonconcurrentDB) while it is on.
type writeLog struct {
	on   atomic.Bool
	mu   sync.Mutex
	stmt []string
}

// attach installs the log; call it before the app serves, while nothing
// else uses the database handle.
func (l *writeLog) attach(app core.App) {
	db := app.NonconcurrentDB().(*dbx.DB)
	prevQ, prevE := db.QueryLogFunc, db.ExecLogFunc
	db.QueryLogFunc = func(ctx context.Context, t time.Duration, s string, rows *sql.Rows, err error) {
		l.add(s)
		if prevQ != nil {
			prevQ(ctx, t, s, rows, err)
		}
	}
	db.ExecLogFunc = func(ctx context.Context, t time.Duration, s string, res sql.Result, err error) {
		l.add(s)
		if prevE != nil {
			prevE(ctx, t, s, res, err)
		}
	}
}

func (l *writeLog) add(s string) {
	if l.on.Load() {
		l.mu.Lock()
		l.stmt = append(l.stmt, s)
		l.mu.Unlock()
	}
}

func (l *writeLog) statements() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.stmt...)
}

func TestVAPIDSubjectIsCheckedAtRegister(t *testing.T) {
	t.Parallel()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	for _, tc := range []struct {
		subject string
		ok      bool
	}{
		{"", true}, // web push off
		{"mailto:owner@example.org", true},
		{"https://shop.example.org/contact", true},
		{"owner@example.org", false}, // no mailto:
		{"mailto:", false},
		{"mailto:a@example.org, b@example.org", false},
		{"http://shop.example.org", false},
		{"https:shop", false},
	} {
		// The subject is checked before any hook is bound, so one app serves all cases.
		err := notify.Register(app, notify.Config{VAPIDSubject: tc.subject})
		switch {
		case tc.ok && err != nil:
			t.Errorf("Register(VAPIDSubject: %q) = %v; want nil", tc.subject, err)
		case !tc.ok && err == nil:
			t.Errorf("Register(VAPIDSubject: %q) = nil; want an error", tc.subject)
		case !tc.ok && !(strings.Contains(err.Error(), "NOTIFY_VAPID_SUBJECT") &&
			strings.Contains(err.Error(), "mailto:owner@example.org") && strings.Contains(err.Error(), "https://")):
			t.Errorf("Register(VAPIDSubject: %q) = %q; want it to name NOTIFY_VAPID_SUBJECT and show both forms", tc.subject, err)
		}
	}
}

// The key route is anonymous and every push needs the key pair: neither may
// create tables or queue on the single write connection.
func TestPushKeyAndSendStayOffTheWriteConnection(t *testing.T) {
	t.Parallel()
	t.Run("key route", func(t *testing.T) {
		var log writeLog
		shop := shoptest.New(t, shoptest.Options{
			Config:      notify.Config{VAPIDSubject: "mailto:shop@example.org", DisableDispatcher: true},
			BeforeServe: func(app *tests.TestApp) { log.attach(app) },
		})
		log.on.Store(true)
		var keys []string
		for range 3 {
			keys = append(keys, shop.MustDo(200, "GET", "/api/notify/webpush/key", "", nil).String("publicKey"))
		}
		log.on.Store(false)
		if keys[0] == "" || keys[1] != keys[0] || keys[2] != keys[0] {
			t.Errorf("keys = %q; want one key three times", keys)
		}
		if got := log.statements(); len(got) != 0 {
			t.Errorf("GET /api/notify/webpush/key ran %d statements on the write connection; want none:\n%s", len(got), strings.Join(got, "\n"))
		}
	})

	t.Run("push send", func(t *testing.T) {
		var log writeLog
		svc := pushtest.New(t)
		shop := shoptest.New(t, shoptest.Options{
			Config:      notify.Config{VAPIDSubject: "mailto:shop@example.org", PushAllowedOrigins: []string{svc.URL}},
			BeforeServe: func(app *tests.TestApp) { log.attach(app) },
		})
		anna := shop.SignUp("Anna", "anna@example.org", "en")
		if res := subscribe(t, shop, anna, svc.NewSubscription()); res.Status != 200 {
			t.Fatalf("subscribe = %d %s", res.Status, res.Body)
		}
		log.on.Store(true)
		placeOrder(t, shop, anna)
		svc.WaitReceived(t, 1, 10*time.Second)
		shop.WaitMessage("template = 'order.created' && channel = 'webpush'", nil, notify.StatusSent)
		log.on.Store(false)
		// The dispatcher claims and finalizes on the write connection; what
		// must not be there is the push channel's own work.
		for _, s := range log.statements() {
			if strings.Contains(s, "CREATE") || strings.Contains(s, "_notifySecrets") || strings.Contains(s, notify.PushSubscriptionsCollection) {
				t.Errorf("a push send ran on the write connection: %s", s)
			}
		}
	})
}
