package notify_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/dbutils"
)

// Finding 6: a rule that cannot be evaluated never fails a customer's
// order; its message is logged failed and the rule flagged. Breaking an
// active rule through the dashboard or the API is refused.
func TestBrokenRuleDoesNotFailOrders(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	rule := shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Delivery address check", "active": true, "collection": "orders", "event": "create",
		"condition": `address != ""`, "recipient": "customer", "template": "order.created",
		"channels": []string{"inbox", "email"}, "category": "service",
	}).String("id")

	// Through the API, the field the rule uses cannot be deleted...
	orders := shop.MustDo(200, "GET", "/api/collections/orders", admin, nil).JSON()
	var kept []any
	for _, f := range orders["fields"].([]any) {
		if f.(map[string]any)["name"] != "address" {
			kept = append(kept, f)
		}
	}
	res := shop.Do("PATCH", "/api/collections/orders", admin, map[string]any{"fields": kept})
	if res.Status != 400 || !strings.Contains(string(res.Body), "Delivery address check") {
		t.Errorf("deleting orders.address used by an active rule = %d %s; want 400 naming the rule", res.Status, res.Body)
	}
	// ...nor a collection an active rule watches.
	res = shop.Do("DELETE", "/api/collections/payments", admin, nil)
	if res.Status != 400 || !strings.Contains(string(res.Body), "Payment succeeded") {
		t.Errorf("deleting payments, watched by active rules = %d %s; want 400 naming a rule", res.Status, res.Body)
	}

	// An older version allowed it, and so does code that skips validation.
	coll, err := shop.App.FindCollectionByNameOrId("orders")
	if err != nil {
		t.Fatal(err)
	}
	coll.Fields.RemoveByName("address")
	if err := shop.App.SaveNoValidate(coll); err != nil {
		t.Fatal(err)
	}

	order := placeOrder(t, shop, anna).String("id") // 200: the order commits
	failed := shop.Messages("rule = {:r}", map[string]any{"r": rule})
	if len(failed) != 1 {
		t.Fatalf("broken rule left %d messages for the order; want 1 failed", len(failed))
	}
	m := failed[0]
	if m.GetString("status") != notify.StatusFailed || !strings.Contains(m.GetString("error"), "address") ||
		m.GetString("sourceRecord") != order || m.GetString("user") != anna.ID || m.GetString("channel") != "inbox" {
		t.Errorf("broken rule's message: status %q, error %q, record %q, user %q, channel %q; want failed naming the field, for anna's order on inbox",
			m.GetString("status"), m.GetString("error"), m.GetString("sourceRecord"), m.GetString("user"), m.GetString("channel"))
	}
	flagged, err := shop.App.FindRecordById(notify.RulesCollection, rule)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flagged.GetString("problem"), "address") {
		t.Errorf("rule problem = %q; want the reason, naming the field", flagged.GetString("problem"))
	}
	// The other rules of the write still work.
	shop.WaitMessage("sourceRecord = {:o} && rule.name = 'Order created' && channel = 'inbox'", map[string]any{"o": order}, notify.StatusSent)

	// The admin can switch the broken rule off, and saving it fixed and
	// active again clears the flag.
	shop.MustDo(200, "PATCH", "/api/collections/notifyRules/records/"+rule, admin, map[string]any{"active": false})
	if res := shop.Do("PATCH", "/api/collections/notifyRules/records/"+rule, admin, map[string]any{"active": true}); res.Status != 400 {
		t.Errorf("re-activating the broken rule unchanged = %d %s; want 400", res.Status, res.Body)
	}
	// Its condition fixed, it is still refused while its template prints
	// the missing field: the rule would fail at send time.
	res = shop.Do("PATCH", "/api/collections/notifyRules/records/"+rule, admin, map[string]any{"condition": "", "active": true})
	if res.Status != 400 || !strings.Contains(string(res.Body), `order.created`) || !strings.Contains(string(res.Body), "address") {
		t.Errorf("re-activating with the template still using orders.address = %d %s; want 400 naming the template and the field", res.Status, res.Body)
	}
	coll.Fields.Add(&core.TextField{Name: "address"})
	if err := shop.App.SaveNoValidate(coll); err != nil {
		t.Fatal(err)
	}
	shop.MustDo(200, "PATCH", "/api/collections/notifyRules/records/"+rule, admin, map[string]any{"condition": "", "active": true})
	if fixed, _ := shop.App.FindRecordById(notify.RulesCollection, rule); fixed.GetString("problem") != "" {
		t.Errorf("rule problem after the fix = %q; want it cleared", fixed.GetString("problem"))
	}
}

// Finding 6, second half: a genuine database error while evaluating fails
// the write as a server error, not as the customer's 400.
func TestDatabaseErrorFailsTheWriteAsServerError(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Phone check", "active": true, "collection": "orders", "event": "create",
		"condition": `customer.phone != "0"`, "recipient": "customer", "template": "order.created",
		"channels": []string{"inbox"}, "category": "service",
	})
	// The schema still has users.phone; the table no longer does.
	if _, err := shop.App.DB().NewQuery("ALTER TABLE users RENAME COLUMN phone TO phone_gone").Execute(); err != nil {
		t.Fatal(err)
	}
	res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{
		"customer": anna.ID, "items": []map[string]any{shop.Item("Tea", 1, 1)}, "address": "Moscow",
	})
	if res.Status != 500 {
		t.Errorf("order create with a failing rule query = %d %s; want 500", res.Status, res.Body)
	}
	if n, _ := shop.App.CountRecords("orders"); n != 0 {
		t.Errorf("%d orders stored; want the write rolled back", n)
	}
}

// Finding 10: an update rule without a watched field notifies once per
// distinct change, on a collection without an "updated" field too.
func TestUpdateRuleWithoutWatchedFieldOnCollectionWithoutUpdated(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	users, err := shop.App.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	tickets := core.NewBaseCollection("tickets")
	tickets.Fields.Add(
		&core.RelationField{Name: "owner", CollectionId: users.Id, MaxSelect: 1, Required: true},
		&core.TextField{Name: "title"},
	)
	if err := shop.App.Save(tickets); err != nil {
		t.Fatal(err)
	}
	shop.MustDo(200, "POST", "/api/collections/notifyTemplates/records", admin, map[string]any{
		"key": "ticket.changed", "locale": "en", "active": true, "pushTitle": "Ticket: {{.Record.title}}",
	})
	rule := shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Ticket changed", "active": true, "collection": "tickets", "event": "update",
		"recipient": "owner", "template": "ticket.changed", "channels": []string{"inbox"}, "category": "service",
	}).String("id")
	ticket := shop.MustDo(200, "POST", "/api/collections/tickets/records", admin, map[string]any{"owner": anna.ID, "title": "a"}).String("id")
	path := "/api/collections/tickets/records/" + ticket
	count := func() int { return len(shop.Messages("rule = {:r}", map[string]any{"r": rule})) }

	shop.MustDo(200, "PATCH", path, admin, map[string]any{"title": "b"})
	shop.MustDo(200, "PATCH", path, admin, map[string]any{"title": "b"}) // a retried request
	if n := count(); n != 1 {
		t.Errorf("after a→b and its retry: %d messages; want 1", n)
	}
	shop.MustDo(200, "PATCH", path, admin, map[string]any{"title": "c"})
	if n := count(); n != 2 {
		t.Errorf("after a→b→c: %d messages; want 2, one per change", n)
	}
}

// smsChannel is a channel the plugin does not know, registered through
// Config.Channels; it hands every message it sends to the test.
type smsChannel struct{ sent chan *channels.Message }

func (smsChannel) Name() string { return "sms" }
func (c smsChannel) Send(ctx context.Context, m *channels.Message) (string, error) {
	c.sent <- m
	return "sms-1", nil
}

// Finding 11: channel names come from the registered channels.
func TestRuleOnARegisteredChannel(t *testing.T) {
	t.Parallel()
	sms := smsChannel{sent: make(chan *channels.Message, 10)}
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{
		Channels: []channels.Channel{sms},
		Addresses: map[string]func(*core.Record) (string, error){
			"sms": func(u *core.Record) (string, error) { return "+79990000000", nil },
		},
	}})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")

	rule := map[string]any{
		"name": "Order by SMS", "active": true, "collection": "orders", "event": "create",
		"recipient": "customer", "template": "order.created", "channels": []string{"sms"}, "category": "transactional",
	}
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, rule)
	rule["channels"] = []string{"fax"}
	if res := shop.Do("POST", "/api/collections/notifyRules/records", admin, rule); res.Status != 400 || !strings.Contains(string(res.Body), "sms") {
		t.Errorf("rule on an unknown channel = %d %s; want 400 listing the registered channels", res.Status, res.Body)
	}
	// Preferences know it too.
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+anna.ID, anna.Token, map[string]any{
		"notifyPrefs": map[string]any{"sms": map[string]bool{"marketing": false}},
	})

	placeOrder(t, shop, anna)
	select {
	case m := <-sms.sent:
		if m.To != "+79990000000" || m.UserID != anna.ID {
			t.Errorf("sms went to %q for user %q; want anna's number", m.To, m.UserID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message went out on the sms channel")
	}
	shop.WaitMessage("rule.name = 'Order by SMS' && channel = 'sms'", nil, notify.StatusSent)
}

// InstallCollections, run again after an upgrade, adds the fields and
// indexes a newer version introduced, keeps the owner's changes, and run
// once more changes nothing.
func TestInstallCollectionsUpgradesExistingCollections(t *testing.T) {
	t.Parallel()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)

	// An install from before notifyRules.problem and a messages index,
	// with a field the owner added.
	rules, _ := app.FindCollectionByNameOrId(notify.RulesCollection)
	rules.Fields.RemoveByName("problem")
	rules.Fields.Add(&core.TextField{Name: "ownerNote"})
	if err := app.Save(rules); err != nil {
		t.Fatal(err)
	}
	msgs, _ := app.FindCollectionByNameOrId(notify.MessagesCollection)
	msgs.Indexes = slices.DeleteFunc(msgs.Indexes, func(idx string) bool {
		return dbutils.ParseIndex(idx).IndexName == "idx_notifyMessages_user"
	})
	if err := app.Save(msgs); err != nil {
		t.Fatal(err)
	}

	if err := notify.InstallCollections(app, "users"); err != nil {
		t.Fatal(err)
	}
	rules, _ = app.FindCollectionByNameOrId(notify.RulesCollection)
	if rules.Fields.GetByName("problem") == nil || rules.Fields.GetByName("ownerNote") == nil {
		t.Errorf("notifyRules after the upgrade: problem %v, ownerNote %v; want both", rules.Fields.GetByName("problem"), rules.Fields.GetByName("ownerNote"))
	}
	msgs, _ = app.FindCollectionByNameOrId(notify.MessagesCollection)
	if !slices.ContainsFunc(msgs.Indexes, func(idx string) bool { return dbutils.ParseIndex(idx).IndexName == "idx_notifyMessages_user" }) {
		t.Errorf("notifyMessages indexes after the upgrade = %v; want idx_notifyMessages_user back", msgs.Indexes)
	}

	before := snapshotCollections(t, app)
	if err := notify.InstallCollections(app, "users"); err != nil {
		t.Fatal(err)
	}
	if after := snapshotCollections(t, app); after != before {
		t.Errorf("a second InstallCollections changed the collections:\n%s\nwant\n%s", after, before)
	}
}

func snapshotCollections(t *testing.T, app core.App) string {
	t.Helper()
	var out []string
	for _, name := range []string{notify.TemplatesCollection, notify.RulesCollection, notify.MessagesCollection, notify.PushSubscriptionsCollection, notify.TelegramLinksCollection} {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(c)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}
