package secrets_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// stored is the raw value of name in the table, as a SQL view would show it.
func stored(t *testing.T, app core.App, name string) string {
	t.Helper()
	var v string
	if err := app.DB().NewQuery("SELECT value FROM " + secrets.Table + " WHERE name = {:n}").Bind(map[string]any{"n": name}).Row(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A shop that ran without a key and starts with one has its secrets and
// settings encrypted at once; they still read in clear through the app,
// and not at all without the key.
func TestEncryptAllOnTheFirstStartWithAKey(t *testing.T) {
	const env = "PBNOTIFY_SECRETS_TEST_KEY"
	t.Setenv(env, "abcdefghijklmnopqrstuvwxyz012345")

	// Before: no key, a secret and the SMTP password in clear.
	plain, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Cleanup)
	if err := secrets.EnsureTable(plain); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Write(plain, "vapid.private", "the-private-key"); err != nil {
		t.Fatal(err)
	}
	plain.Settings().SMTP.Password = "smtp-secret"
	if err := plain.Save(plain.Settings()); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, plain, "vapid.private"); got != "the-private-key" {
		t.Fatalf("without a key the secret is stored as %q; want it in clear", got)
	}
	if err := secrets.EncryptAll(plain); err != nil {
		t.Fatalf("EncryptAll without a key: %v; want nothing done", err)
	}
	dir := plain.DataDir()
	if err := plain.ResetBootstrapState(); err != nil {
		t.Fatal(err)
	}

	// After: the same data, started with --encryptionEnv.
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: dir, EncryptionEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	if err := secrets.EncryptAll(app); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, app, "vapid.private"); !strings.HasPrefix(got, "enc:v1:") || strings.Contains(got, "the-private-key") {
		t.Errorf("after EncryptAll the secret is stored as %q; want it encrypted", got)
	}
	if got, err := secrets.Read(app, "vapid.private"); err != nil || got != "the-private-key" {
		t.Errorf("Read = %q, %v; want the value in clear", got, err)
	}
	var settings string
	if err := app.DB().NewQuery("SELECT value FROM _params WHERE id = 'settings'").Row(&settings); err != nil {
		t.Fatal(err)
	}
	if json.Valid([]byte(settings)) || strings.Contains(settings, "smtp-secret") {
		t.Errorf("after EncryptAll the settings are stored in clear: %.80s…", settings)
	}

	// Without the key the encrypted value cannot be read, and says why.
	t.Setenv(env, "")
	if _, err := secrets.Read(app, "vapid.private"); err == nil || !strings.Contains(err.Error(), "encryptionEnv") {
		t.Errorf("Read without the key: %v; want an error naming --encryptionEnv", err)
	}
}
