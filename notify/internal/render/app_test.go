package render

import (
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

const templatesCollection = "tpls"

// newTestApp is an empty PocketBase app in a temp dir with a templates
// collection and two collections that relate: payments → orders → users.
func newTestApp(t *testing.T) *tests.TestApp {
	t.Helper()
	app, users := pbtest.NewApp(t)

	tpls := core.NewBaseCollection(templatesCollection)
	for _, name := range []string{"key", "locale", FieldSubject, FieldHTML, FieldText, FieldTelegram, FieldPushTitle, FieldPushBody, FieldPushURL} {
		tpls.Fields.Add(&core.TextField{Name: name})
	}
	tpls.Fields.Add(&core.BoolField{Name: "active"})
	mustSave(t, app, tpls)

	orders := core.NewBaseCollection("orders")
	orders.Fields.Add(
		&core.RelationField{Name: "customer", CollectionId: users.Id, MaxSelect: 1},
		&core.NumberField{Name: "number"},
		&core.TextField{Name: "secret", Hidden: true},
	)
	mustSave(t, app, orders)
	payments := core.NewBaseCollection("payments")
	payments.Fields.Add(
		&core.RelationField{Name: "order", CollectionId: orders.Id, MaxSelect: 1},
		&core.NumberField{Name: "amount"},
	)
	mustSave(t, app, payments)
	return app
}

func mustSave(t *testing.T, app core.App, m core.Model) {
	t.Helper()
	if err := app.Save(m); err != nil {
		t.Fatal(err)
	}
}

func newRecord(t *testing.T, app core.App, collection string, fields map[string]any) *core.Record {
	t.Helper()
	coll, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(coll)
	for k, v := range fields {
		r.Set(k, v)
	}
	mustSave(t, app, r)
	return r
}

func newUser(t *testing.T, app core.App) *core.Record {
	t.Helper()
	return newRecord(t, app, "users", map[string]any{"email": "anna@example.org", "password": "1234567890", "name": "Anna"})
}
