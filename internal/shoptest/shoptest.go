// Package shoptest runs the whole shop in a test: a PocketBase test app with
// the shop's migrations, hooks and the notify plugin, served over real HTTP
// on loopback, sending email to an in-process SMTP server. Tests talk to it
// the way a customer's browser or an admin would.
package shoptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/hooks"
	"github.com/pbnotify/pbnotify/internal/fakeclock"
	"github.com/pbnotify/pbnotify/notify"
	_ "github.com/pbnotify/pbnotify/pb_migrations"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// Shop is a running shop.
type Shop struct {
	App   *tests.TestApp
	URL   string
	SMTP  *smtptest.Server
	Clock *Clock // the plugin's clock with Options.FakeClock
	t     testing.TB
	// client sends Do's requests: http.DefaultClient, or one dialing from
	// another loopback address (From).
	client *http.Client
}

// Clock is a fake clock. A shop's starts at the wall clock's now
// (PocketBase stamps records with the real time, and the two should agree
// at first) and moves only when a test advances it. The dispatcher notices
// within its poll interval (200 ms in tests), or at once when woken by a
// write.
type Clock = fakeclock.Clock

// Options adjust the shop before it starts.
type Options struct {
	// Config is passed to notify.Register; EmailTLS, Backoff and
	// PollInterval get test-friendly defaults when unset.
	Config notify.Config
	// FakeClock runs the plugin on Shop.Clock, which moves only when the
	// test advances it; otherwise the plugin uses the wall clock.
	FakeClock bool
	// NoSMTP leaves the mail settings disabled.
	NoSMTP bool
	// NoPlugin leaves the notify plugin unregistered (the shop alone), for
	// comparisons.
	NoPlugin bool
	// BeforeServe runs after the app is set up and before it serves.
	BeforeServe func(app *tests.TestApp)
	// RateLimits keeps the rate limits the shop's migrations turn on.
	// Without it they are off: every request of a test comes from one
	// address, and most tests sign up and sign in faster than a person.
	RateLimits bool
	// EncryptionEnv is PocketBase's --encryptionEnv: the name of the
	// environment variable holding the 32-character key that settings and
	// the plugin's secrets are stored encrypted with. Default: none.
	EncryptionEnv string
}

// template is the data dir every shop of the test binary starts from: the
// shop's migrations applied, once. Running every migration (the system
// collections, the shop's, the notify collections and the validated default
// templates) took about a second per shop under the race detector; copying
// the result takes milliseconds, as PocketBase's own tests copy their test
// data dir.
var template struct {
	mu      sync.Mutex
	enabled bool   // set by Main, which removes the dir when the tests end
	dir     string // made on first use
}

// Main runs the tests of a package whose tests start shops, with the shops
// started from one data dir migrated once, and removes that dir afterwards.
// Call it from TestMain:
//
//	func TestMain(m *testing.M) { shoptest.Main(m) }
//
// Without it New migrates an empty data dir for every shop, which gives the
// same shop more slowly.
func Main(m *testing.M) {
	template.mu.Lock()
	template.enabled = true
	template.mu.Unlock()
	code := m.Run()
	template.mu.Lock()
	if template.dir != "" {
		_ = os.RemoveAll(template.dir)
	}
	template.mu.Unlock()
	os.Exit(code)
}

// templateDir returns the migrated template data dir, making it on first
// use, or "" when Main is not in use.
func templateDir() (string, error) {
	template.mu.Lock()
	defer template.mu.Unlock()
	if !template.enabled || template.dir != "" {
		return template.dir, nil
	}
	app, err := newMigratedApp("")
	if err != nil {
		return "", fmt.Errorf("template data dir: %w", err)
	}
	// Closed, the app's data dir is the template.
	if err := app.ResetBootstrapState(); err != nil {
		_ = os.RemoveAll(app.DataDir())
		return "", fmt.Errorf("template data dir: close: %w", err)
	}
	template.dir = app.DataDir()
	return template.dir, nil
}

// newMigratedApp returns a test app on a fresh data dir with every
// migration applied and cheap passwords. Its Cleanup removes the dir.
func newMigratedApp(encryptionEnv string) (*tests.TestApp, error) {
	empty, err := os.MkdirTemp("", "shoptest_empty_*")
	if err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	defer os.RemoveAll(empty)
	// NewTestAppWithConfig copies empty into a dir of its own and migrates
	// that copy.
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: empty, EncryptionEnv: encryptionEnv})
	if err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	if err := cheapPasswords(app); err != nil {
		app.Cleanup()
		return nil, fmt.Errorf("new app: %w", err)
	}
	return app, nil
}

// New starts a shop for the duration of the test.
func New(t testing.TB, opts Options) *Shop {
	t.Helper()
	dataDir, err := templateDir()
	if err != nil {
		t.Fatal(err)
	}
	var app *tests.TestApp
	if dataDir != "" {
		// The test app works on its own copy of the template.
		app, err = tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: dataDir, EncryptionEnv: opts.EncryptionEnv})
	} else {
		// Without Main: make this shop's data dir as the template is made.
		app, err = newMigratedApp(opts.EncryptionEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &Shop{App: app, t: t, Clock: fakeclock.New(time.Now()), client: http.DefaultClient}

	settings := app.Settings()
	settings.Meta.AppName = "Test Shop"
	settings.Meta.AppURL = "http://shop.test"
	settings.Meta.SenderName = "Test Shop"
	settings.Meta.SenderAddress = "shop@example.org"
	settings.RateLimits.Enabled = opts.RateLimits
	if !opts.NoSMTP {
		s.SMTP = smtptest.Start(t)
		settings.SMTP.Enabled = true
		settings.SMTP.Host = s.SMTP.Host
		settings.SMTP.Port = s.SMTP.Port
		settings.SMTP.Username = smtptest.Username
		settings.SMTP.Password = smtptest.Password
		opts.Config.EmailTLS = s.SMTP.ClientTLS
	}
	if err := app.Save(settings); err != nil {
		t.Fatal(err)
	}

	cfg := hooks.NotifyConfig(opts.Config)
	if cfg.Now == nil && opts.FakeClock {
		cfg.Now = s.Clock.Now
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 50 * time.Millisecond }
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	hooks.Bind(app)
	if !opts.NoPlugin {
		if err := notify.Register(app, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if opts.BeforeServe != nil {
		opts.BeforeServe(app)
	}

	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	se := &core.ServeEvent{App: app, Router: router}
	err = app.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		srv := httptest.NewServer(mux)
		s.URL = srv.URL
		t.Cleanup(srv.Close)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanup triggers OnTerminate, which stops the dispatcher first.
	t.Cleanup(app.Cleanup)
	return s
}

// Restart stops the plugin as a shutdown would (OnTerminate) and starts it
// again as a serve would (OnServe, on a router nobody listens on: the
// shop's HTTP server keeps serving with the routes it has).
func (s *Shop) Restart() error {
	if err := s.App.OnTerminate().Trigger(&core.TerminateEvent{App: s.App}); err != nil {
		return err
	}
	router, err := apis.NewRouter(s.App)
	if err != nil {
		return err
	}
	return s.App.OnServe().Trigger(&core.ServeEvent{App: s.App, Router: router}, func(*core.ServeEvent) error { return nil })
}

// bcryptMinCost is bcrypt.MinCost: 16 key-expansion rounds instead of the
// default 1024.
const bcryptMinCost = 4

// cheapPasswords hashes the passwords of customers and superusers with
// bcrypt's lowest cost. At PocketBase's default cost, signing up and
// signing in hash a password twice, which under the race detector took
// over 2 s per customer, most of a test's time; no test here is about the
// strength of the hash.
func cheapPasswords(app core.App) error {
	for _, name := range []string{"users", core.CollectionNameSuperusers} {
		coll, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			return fmt.Errorf("cheap passwords: %w", err)
		}
		f, ok := coll.Fields.GetByName(core.FieldNamePassword).(*core.PasswordField)
		if !ok {
			return fmt.Errorf("cheap passwords: %s has no password field", name)
		}
		f.Cost = bcryptMinCost
		if err := app.Save(coll); err != nil {
			return fmt.Errorf("cheap passwords: save %s: %w", name, err)
		}
	}
	return nil
}

// Response is a decoded JSON reply.
type Response struct {
	Status int
	Body   []byte
}

// JSON decodes the body into a map.
func (r Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// String returns the body of a JSON object's field as a string.
func (r Response) String(field string) string {
	v := r.JSON()[field]
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Do sends a request with an optional auth token and JSON body.
func (s *Shop) Do(method, path, token string, body any) Response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Body: b}
}

// From returns the shop as seen from another client address: its Do and
// MustDo send from ip, a loopback address such as "127.0.0.2" (Linux
// answers on all of 127.0.0.0/8), so that PocketBase's per-IP rate limits
// see another client, as two customers on their own connections are.
func (s *Shop) From(ip string) *Shop {
	s.t.Helper()
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		s.t.Fatal(err)
	}
	dialer := &net.Dialer{LocalAddr: addr, Timeout: 10 * time.Second}
	c := *s
	c.client = &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	s.t.Cleanup(c.client.CloseIdleConnections)
	return &c
}

// MustDo is Do that fails the test unless the status is want.
func (s *Shop) MustDo(want int, method, path, token string, body any) Response {
	s.t.Helper()
	r := s.Do(method, path, token, body)
	if r.Status != want {
		s.t.Fatalf("%s %s = %d %s; want %d", method, path, r.Status, r.Body, want)
	}
	return r
}

// Customer is a signed-up user.
type Customer struct {
	ID, Email, Token string
}

// SignUp registers a customer through the API and signs them in.
func (s *Shop) SignUp(name, email, locale string) Customer {
	s.t.Helper()
	s.MustDo(200, "POST", "/api/collections/users/records", "", map[string]any{
		"email": email, "password": "password123", "passwordConfirm": "password123",
		"name": name, "locale": locale,
	})
	auth := s.MustDo(200, "POST", "/api/collections/users/auth-with-password", "", map[string]any{
		"identity": email, "password": "password123",
	})
	var out struct {
		Token  string `json:"token"`
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	if err := json.Unmarshal(auth.Body, &out); err != nil {
		s.t.Fatal(err)
	}
	return Customer{ID: out.Record.ID, Email: email, Token: out.Token}
}

// SignUpVerified signs a customer up and marks their address verified, as
// following the verification email would: the shop's one-message-a-day
// cap on unverified addresses then does not hold back their messages.
func (s *Shop) SignUpVerified(name, email, locale string) Customer {
	s.t.Helper()
	c := s.SignUp(name, email, locale)
	user, err := s.App.FindRecordById("users", c.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	user.SetVerified(true)
	if err := s.App.Save(user); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// SuperuserToken creates a superuser and returns its token.
func (s *Shop) SuperuserToken() string {
	s.t.Helper()
	coll, err := s.App.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		s.t.Fatal(err)
	}
	su, err := s.App.FindAuthRecordByEmail(coll, "admin@example.org")
	if err != nil {
		su = core.NewRecord(coll)
		su.SetEmail("admin@example.org")
		su.SetPassword("adminpassword")
		if err := s.App.Save(su); err != nil {
			s.t.Fatal(err)
		}
	}
	token, err := su.NewAuthToken()
	if err != nil {
		s.t.Fatal(err)
	}
	return token
}

// Messages returns the notifyMessages records matching a filter, oldest first.
func (s *Shop) Messages(filter string, params ...map[string]any) []*core.Record {
	s.t.Helper()
	var p map[string]any
	if len(params) > 0 {
		p = params[0]
	}
	recs, err := s.App.FindRecordsByFilter(notify.MessagesCollection, filter, "created", 0, 0, p)
	if err != nil {
		s.t.Fatal(err)
	}
	return recs
}

// WaitMessage waits until a message matching filter reaches one of the
// given statuses and returns it.
func (s *Shop) WaitMessage(filter string, params map[string]any, statuses ...string) *core.Record {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, m := range s.Messages(filter, params) {
			for _, st := range statuses {
				if m.GetString("status") == st {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range s.Messages(filter, params) {
				got = append(got, m.GetString("channel")+"="+m.GetString("status")+" ("+m.GetString("error")+")")
			}
			s.t.Fatalf("no message %s reached %v within 10s; have: %s", filter, statuses, strings.Join(got, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
