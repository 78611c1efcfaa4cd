package rules_test

import (
	"errors"
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"slices"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// newApp is an empty PocketBase with a small shop: orders of users,
// payments of orders, and tickets, which have no autodate fields. Its
// users are the customers anna and ivan and the staff olga and petr.
func newApp(t *testing.T) (*tests.TestApp, map[string]string) {
	t.Helper()
	app, users := pbtest.NewApp(t)
	users.Fields.Add(&core.BoolField{Name: rules.StaffField})
	must(t, app.Save(users))
	orders := core.NewBaseCollection("orders")
	orders.Fields.Add(
		&core.RelationField{Name: "customer", CollectionId: users.Id, MaxSelect: 1},
		&core.RelationField{Name: "watchers", CollectionId: users.Id, MaxSelect: 5},
		&core.TextField{Name: "status"},
		&core.TextField{Name: "note"},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	must(t, app.Save(orders))
	payments := core.NewBaseCollection("payments")
	payments.Fields.Add(
		&core.RelationField{Name: "order", CollectionId: orders.Id, MaxSelect: 1},
		&core.TextField{Name: "status"},
	)
	must(t, app.Save(payments))
	tickets := core.NewBaseCollection("tickets")
	tickets.Fields.Add(
		&core.RelationField{Name: "owner", CollectionId: users.Id, MaxSelect: 1},
		&core.TextField{Name: "title"},
	)
	must(t, app.Save(tickets))

	ids := map[string]string{}
	for _, name := range []string{"anna", "ivan", "olga", "petr"} {
		u := core.NewRecord(users)
		u.SetEmail(name + "@example.org")
		u.SetPassword("password123")
		u.Set(rules.StaffField, name == "olga" || name == "petr")
		must(t, app.Save(u))
		ids[name] = u.Id
	}
	order := core.NewRecord(orders)
	order.Set("customer", ids["anna"])
	order.Set("status", "new")
	must(t, app.Save(order))
	ids["order"] = order.Id
	return app, ids
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// write makes one write of event on coll (before: the stored values an
// update or delete starts from; after: the values a create or update
// writes) and returns the record as the enqueue hook sees it.
func write(t *testing.T, app core.App, ids map[string]string, coll, event string, before, after map[string]any) (*core.Record, func()) {
	t.Helper()
	resolve := func(v any) any {
		if s, ok := v.(string); ok && ids[s] != "" {
			return ids[s]
		}
		return v
	}
	c, err := app.FindCollectionByNameOrId(coll)
	must(t, err)
	rec := core.NewRecord(c)
	if event != rules.EventCreate {
		for k, v := range before {
			rec.Set(k, resolve(v))
		}
		must(t, app.Save(rec))
		// Loaded fresh, as PocketBase loads it for an update or delete, so
		// Original is the stored state.
		rec, err = app.FindRecordById(c, rec.Id)
		must(t, err)
	}
	for k, v := range after {
		rec.Set(k, resolve(v))
	}
	if event == rules.EventDelete {
		// Rules of a delete see the record before it goes.
		return rec, func() { must(t, app.Delete(rec)) }
	}
	must(t, app.Save(rec))
	return rec, func() {}
}

type vals = map[string]any

func TestEvaluate(t *testing.T) {
	app, ids := newApp(t)
	tests := []struct {
		coll      string // collection written
		event     string // create, update or delete
		before    vals   // stored values an update or delete starts from
		after     vals   // values the create or update writes
		changed   string // rule.changed
		condition string // rule.condition
		recipient string // rule.recipient
		want      string // "": no match; "user@trigger": a match (several: by name, space-separated); "broken: text": unevaluable
	}{
		// create
		{"orders", "create", nil, vals{"customer": "anna", "status": "new"}, "", "", "customer", "anna@create"},
		{"orders", "create", nil, vals{"customer": "anna", "status": "new"}, "", `status = "paid"`, "customer", ""},
		{"orders", "create", nil, vals{"customer": "anna", "status": "paid"}, "", `status = "paid"`, "customer", "anna@create"},
		{"orders", "create", nil, vals{"customer": "anna"}, "status", "", "customer", ""}, // watched field empty
		{"orders", "create", nil, vals{"customer": "anna", "status": "new"}, "status", "", "customer", "anna@create:status=new"},
		{"orders", "create", nil, vals{"status": "new"}, "", "", "customer", ""}, // nobody to notify
		{"payments", "create", nil, vals{"order": "order", "status": "ok"}, "", `order.status = "new"`, "order.customer", "anna@create"},
		{"payments", "create", nil, vals{"order": "order", "status": "ok"}, "", `order.status = "paid"`, "order.customer", ""},
		{"users", "create", nil, vals{"email": "new@example.org", "password": "password123"}, "", "", "id", "new@create"},

		// update with a watched field
		{"orders", "update", vals{"customer": "anna", "status": "new"}, vals{"status": "paid"}, "status", "", "customer", "anna@update:status=paid"},
		{"orders", "update", vals{"customer": "anna", "status": "paid"}, vals{"status": "paid", "note": "x"}, "status", "", "customer", ""},
		{"orders", "update", vals{"customer": "anna", "status": "new"}, vals{"status": "paid"}, "status", `status = "shipped"`, "customer", ""},
		{"orders", "update", vals{"customer": "anna", "status": "new"}, vals{"customer": "ivan"}, "customer", "", "customer", "ivan@update:customer=ivan"},

		// update without one: the change itself is the trigger
		{"orders", "update", vals{"customer": "anna", "note": "a"}, vals{"note": "b"}, "", "", "customer", "anna@update:#"},
		{"orders", "update", vals{"customer": "anna", "note": "a"}, vals{"note": "a"}, "", "", "customer", ""}, // a retried request changes nothing
		{"tickets", "update", vals{"owner": "anna", "title": "a"}, vals{"title": "b"}, "", "", "owner", "anna@update:#"},

		// delete: the record as it was
		{"orders", "delete", vals{"customer": "anna", "status": "new"}, nil, "", `status = "new"`, "customer", "anna@delete"},
		{"orders", "delete", vals{"customer": "anna", "status": "paid"}, nil, "", `status = "new"`, "customer", ""},

		// rules that cannot be evaluated any more
		{"orders", "create", nil, vals{"customer": "anna"}, "", `gone = "x"`, "customer", "broken: condition:"},
		{"payments", "create", nil, vals{"order": "order"}, "", `order.gone = "x"`, "order.customer", "broken: condition:"},
		{"orders", "update", vals{"customer": "anna", "note": "a"}, vals{"note": "b"}, "gone", "", "customer", "broken: changed:"},
		{"orders", "update", vals{"customer": "anna", "note": "a"}, vals{"note": "a"}, "gone", "", "customer", ""}, // nothing happened at all
		{"orders", "create", nil, vals{"customer": "anna"}, "", "", "note", `broken: recipient: "note" is not a relation`},
		{"orders", "create", nil, vals{"customer": "anna"}, "", "", "gone", `broken: recipient: "gone" is not a relation`},
		{"payments", "create", nil, vals{"order": "order"}, "", "", "order.note", `broken: recipient: "note" is not a relation`},

		// @staff: every staff user, each with the write's trigger
		{"orders", "create", nil, vals{"customer": "anna", "status": "new"}, "", "", "@staff", "olga@create petr@create"},
		{"orders", "create", nil, vals{"customer": "anna", "status": "new"}, "", `status = "paid"`, "@staff", ""},
		{"orders", "create", nil, vals{"status": "new"}, "", "", "@staff", "olga@create petr@create"}, // no customer needed
		{"orders", "update", vals{"customer": "anna", "status": "new"}, vals{"status": "paid"}, "status", "", "@staff", "olga@update:status=paid petr@update:status=paid"},
		{"orders", "update", vals{"customer": "anna", "status": "paid"}, vals{"note": "x"}, "status", "", "@staff", ""},
		{"payments", "create", nil, vals{"order": "order", "status": "failed"}, "status", `status = "failed"`, "@staff", "olga@create:status=failed petr@create:status=failed"},
		{"orders", "delete", vals{"customer": "anna", "status": "new"}, nil, "", "", "@staff", "olga@delete petr@delete"},
		{"orders", "create", nil, vals{"customer": "anna"}, "", `gone = "x"`, "@staff", "broken: condition:"},
	}
	for _, tt := range tests {
		rule := &rules.Rule{ID: "r1", Name: "test", Collection: tt.coll, Event: tt.event, Active: true,
			Changed: tt.changed, Condition: tt.condition, Recipient: strings.Split(tt.recipient, "."), Channels: []string{"email"}}
		rec, finish := write(t, app, ids, tt.coll, tt.event, tt.before, tt.after)
		matches, unevaluable, err := rules.Evaluate(app, rec, tt.event, []*rules.Rule{rule}, "users")
		finish()
		desc := tt.event + " " + tt.coll + " " + strings.Join([]string{tt.changed, tt.condition, tt.recipient}, " | ")
		if err != nil {
			t.Errorf("Evaluate(%q) error %v", desc, err)
			continue
		}
		var each []string
		for _, m := range matches {
			one := name(ids, m.UserID) + "@" + m.Trigger
			for alias, id := range ids {
				one = strings.ReplaceAll(one, id, alias)
			}
			each = append(each, one)
		}
		slices.Sort(each)
		got := strings.Join(each, " ")
		for _, u := range unevaluable {
			got = "broken: " + u.Reason
		}
		if strings.HasSuffix(tt.want, "@update:#") && strings.HasPrefix(got, strings.TrimSuffix(tt.want, "#")) && len(got) == len(tt.want)-1+32 {
			continue // a change hash
		}
		if strings.HasPrefix(tt.want, "broken: ") && strings.HasPrefix(got, tt.want) {
			continue
		}
		if got != tt.want {
			t.Errorf("Evaluate(%q) = %q; want %q", desc, got, tt.want)
		}
	}
}

// name maps an id back to the alias the table uses; a user created by a
// row is named by their email's local part.
func name(ids map[string]string, id string) string {
	for k, v := range ids {
		if v == id {
			return k
		}
	}
	return "new"
}

// Finding 10: without a watched field each distinct change notifies once,
// also on a collection without an "updated" field.
func TestUpdateTriggerIsTheChange(t *testing.T) {
	app, ids := newApp(t)
	rule := &rules.Rule{ID: "r1", Name: "ticket changed", Collection: "tickets", Event: rules.EventUpdate,
		Active: true, Recipient: []string{"owner"}, Channels: []string{"email"}}
	c, _ := app.FindCollectionByNameOrId("tickets")
	rec := core.NewRecord(c)
	rec.Set("owner", ids["anna"])
	rec.Set("title", "a")
	must(t, app.Save(rec))

	update := func(title string) string {
		t.Helper()
		fresh, err := app.FindRecordById(c, rec.Id)
		must(t, err)
		fresh.Set("title", title)
		must(t, app.Save(fresh))
		matches, _, err := rules.Evaluate(app, fresh, rules.EventUpdate, []*rules.Rule{rule}, "users")
		must(t, err)
		if len(matches) == 0 {
			return ""
		}
		return matches[0].Trigger
	}
	first := update("b")
	if first == "" {
		t.Fatalf("the first change a→b did not fire")
	}
	if again := update("b"); again != "" {
		t.Errorf("a retried identical update fired with trigger %q; want nothing", again)
	}
	second := update("c")
	if second == "" || second == first {
		t.Errorf("the change b→c fired with trigger %q, the change a→b with %q; want two distinct triggers", second, first)
	}
}

// A query that fails to run is the database's error, not the rule's: the
// write must fail rather than commit with the rule recorded as broken.
func TestDatabaseErrorIsNotBroken(t *testing.T) {
	app, ids := newApp(t)
	c, _ := app.FindCollectionByNameOrId("payments")
	rec := core.NewRecord(c)
	rec.Set("order", ids["order"])
	must(t, app.Save(rec))
	// The schema still has orders.status, the table no longer does.
	if _, err := app.DB().NewQuery("ALTER TABLE orders RENAME COLUMN status TO status_x").Execute(); err != nil {
		t.Fatal(err)
	}
	rule := &rules.Rule{ID: "r1", Name: "paid", Collection: "payments", Event: rules.EventCreate, Active: true,
		Condition: `order.status = "new"`, Recipient: []string{"order", "customer"}}
	matches, unevaluable, err := rules.Evaluate(app, rec, rules.EventCreate, []*rules.Rule{rule}, "users")
	if err == nil || errors.Is(err, rules.ErrBroken) {
		t.Errorf("Evaluate with a missing column = %v, %v, %v; want a database error that is not ErrBroken", matches, unevaluable, err)
	}
}

func TestMatch(t *testing.T) {
	set := rules.NewSet([]*rules.Rule{
		{ID: "a", Collection: "orders", Event: "create", Active: true},
		{ID: "b", Collection: "orders", Event: "update", Active: true},
		{ID: "c", Collection: "orders", Event: "update", Active: false},
		{ID: "d", Collection: "payments", Event: "update", Active: true},
		{ID: "e", Collection: "orders", Event: "update", Active: true},
	})
	tests := []struct {
		collection string // written collection
		event      string // its event
		want       string // ids of the active rules, in order
	}{
		{"orders", "create", "a"},
		{"orders", "update", "b e"},
		{"orders", "delete", ""},
		{"payments", "update", "d"},
		{"users", "create", ""},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range set.Match(tt.collection, tt.event) {
			got = append(got, r.ID)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Match(%q, %q) = %v; want %v", tt.collection, tt.event, got, tt.want)
		}
	}
	if set.ByID("c") == nil {
		t.Errorf("ByID(%q) = nil; want the inactive rule, kept so its messages can be cancelled", "c")
	}
	var empty *rules.Set
	if empty.Match("orders", "create") != nil || empty.ByID("a") != nil || empty.Watches("orders") {
		t.Errorf("a nil Set is not empty")
	}
}

func TestCheckSchemaChange(t *testing.T) {
	app, _ := newApp(t)
	active := []*rules.Rule{
		{Name: "Order paid", Collection: "orders", Event: "update", Changed: "status", Recipient: []string{"customer"}},
		{Name: "Order noted", Collection: "orders", Event: "update", Condition: `note != ""`, Recipient: []string{"customer"}},
		{Name: "Payment", Collection: "payments", Event: "create", Guard: `order.status = "new"`, Recipient: []string{"order", "customer"}},
	}
	tests := []struct {
		coll   string                   // collection changed
		change func(c *core.Collection) // the change; nil deletes the collection
		want   string                   // rules named in the refusal, "" for none
	}{
		{"orders", func(c *core.Collection) { c.Fields.RemoveByName("status") }, "Order paid, Payment"},
		{"orders", func(c *core.Collection) { c.Fields.RemoveByName("note") }, "Order noted"},
		{"orders", func(c *core.Collection) { c.Fields.GetByName("note").SetName("remark") }, "Order noted"},
		{"orders", func(c *core.Collection) { c.Fields.RemoveByName("watchers") }, ""},
		{"orders", func(c *core.Collection) {
			c.Fields.RemoveByName("customer")
			c.Fields.Add(&core.TextField{Name: "customer"})
		}, "Order paid, Order noted, Payment"},
		{"orders", func(c *core.Collection) { c.Name = "purchases" }, "Order paid, Order noted"},
		{"payments", nil, "Payment"},
		{"tickets", nil, ""},
		{"users", nil, "Order paid, Order noted, Payment"},
	}
	for _, tt := range tests {
		old, err := app.FindCollectionByNameOrId(tt.coll)
		must(t, err)
		var next *core.Collection
		desc := "delete " + tt.coll
		if tt.change != nil {
			next, err = app.FindCollectionByNameOrId(tt.coll)
			must(t, err)
			tt.change(next)
			desc = "change " + tt.coll
		}
		err = rules.CheckSchemaChange(app, active, old, next, "users")
		var got []string
		for _, r := range active {
			if err != nil && strings.Contains(err.Error(), `"`+r.Name+`"`) {
				got = append(got, r.Name)
			}
		}
		if strings.Join(got, ", ") != tt.want {
			t.Errorf("CheckSchemaChange(%q) = %v; want %v", desc, err, tt.want)
		}
	}
}

// A rule to @staff reads the staff in the write's transaction: a user
// marked or unmarked in the same transaction counts as the write left
// them. No staff is no message and no error; a users collection without
// the staff field makes the rule unevaluable, not the write fail.
func TestEvaluateStaff(t *testing.T) {
	app, ids := newApp(t)
	rule := &rules.Rule{ID: "r1", Name: "new order to staff", Collection: "orders", Event: rules.EventCreate,
		Active: true, Recipient: []string{rules.StaffRecipient}, Channels: []string{"email"}}
	orders, err := app.FindCollectionByNameOrId("orders")
	must(t, err)
	setStaff := func(app core.App, name string, staff bool) {
		t.Helper()
		u, err := app.FindRecordById("users", ids[name])
		must(t, err)
		u.Set(rules.StaffField, staff)
		must(t, app.Save(u))
	}
	evaluate := func(app core.App) (got string, unevaluable []rules.Unevaluable) {
		t.Helper()
		order := core.NewRecord(orders)
		order.Set("customer", ids["anna"])
		must(t, app.Save(order))
		matches, unevaluable, err := rules.Evaluate(app, order, rules.EventCreate, []*rules.Rule{rule}, "users")
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		var names []string
		for _, m := range matches {
			names = append(names, name(ids, m.UserID))
		}
		slices.Sort(names)
		return strings.Join(names, " "), unevaluable
	}

	must(t, app.RunInTransaction(func(txApp core.App) error {
		setStaff(txApp, "ivan", true)
		setStaff(txApp, "petr", false)
		if got, _ := evaluate(txApp); got != "ivan olga" {
			t.Errorf("Evaluate in the transaction that made ivan staff and petr not = %q; want %q", got, "ivan olga")
		}
		return nil
	}))

	for _, n := range []string{"ivan", "olga", "petr"} {
		setStaff(app, n, false)
	}
	if got, unevaluable := evaluate(app); got != "" || len(unevaluable) != 0 {
		t.Errorf("Evaluate with no staff = %q, %v; want no match and nothing unevaluable", got, unevaluable)
	}

	users, err := app.FindCollectionByNameOrId("users")
	must(t, err)
	users.Fields.RemoveByName(rules.StaffField)
	must(t, app.Save(users))
	got, unevaluable := evaluate(app)
	if got != "" || len(unevaluable) != 1 || !strings.Contains(unevaluable[0].Reason, `no bool field "staff"`) {
		t.Errorf("Evaluate without users.staff = %q, %+v; want one unevaluable rule naming the field", got, unevaluable)
	}
}

// @staff is a valid recipient exactly when the users collection has the
// staff field, and removing the field is refused while a rule uses it.
func TestCheckStaffRecipient(t *testing.T) {
	app, _ := newApp(t)
	toStaff := &rules.Rule{Name: "Staff: new order", Collection: "orders", Event: "create", Recipient: []string{rules.StaffRecipient}}
	tests := []struct {
		recipient string // rule.recipient
		want      string // in the error; "" for valid
	}{
		{"@staff", ""},
		{"@staf", `"@staf" is not a recipient`},
		{"customer.@staff", `is not a recipient`},
		{"customer", ""},
	}
	for _, tt := range tests {
		rule := *toStaff
		rule.Recipient = strings.Split(tt.recipient, ".")
		err := rules.Check(app, &rule, "users")
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Check(recipient %q) = %v; want %q", tt.recipient, err, tt.want)
		}
	}

	users, err := app.FindCollectionByNameOrId("users")
	must(t, err)
	users.Fields.RemoveByName(rules.StaffField)
	err = rules.CheckSchemaChange(app, []*rules.Rule{toStaff}, mustCollection(t, app, "users"), users, "users")
	if err == nil || !strings.Contains(err.Error(), `"Staff: new order"`) {
		t.Errorf("CheckSchemaChange(remove users.staff) = %v; want a refusal naming the @staff rule", err)
	}
	must(t, app.Save(users))
	if err := rules.Check(app, toStaff, "users"); err == nil || !strings.Contains(err.Error(), `needs a bool field "staff"`) {
		t.Errorf("Check(@staff) without users.staff = %v; want an error asking for the field", err)
	}
}

func mustCollection(t *testing.T, app core.App, name string) *core.Collection {
	t.Helper()
	c, err := app.FindCollectionByNameOrId(name)
	must(t, err)
	return c
}
