// Package pbtest gives the plugin's package tests an empty PocketBase app:
// a temp dir with PocketBase's system collections (the "users" auth
// collection among them), removed when the test ends. Each package adds the
// collections it owns.
package pbtest

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// NewApp returns a fresh app and its users collection.
func NewApp(t testing.TB) (*tests.TestApp, *core.Collection) {
	t.Helper()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	return app, users
}

// MustSave saves models, failing the test on the first error.
func MustSave(t testing.TB, app core.App, models ...core.Model) {
	t.Helper()
	for _, m := range models {
		if err := app.Save(m); err != nil {
			t.Fatal(err)
		}
	}
}
