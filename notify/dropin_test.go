package notify_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pocketbase/pocketbase/core"
)

// A Go developer's trial: a template saved before its rule, with a typo in
// a field name, and the rule that uses it. The rule's save renders the
// template against the rule's collection and refuses it, naming the
// template, its locale and the field.
func TestRuleSaveChecksItsTemplate(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()

	// bookings has startsAt; the template names startAt. Its key names no
	// collection, so its own save cannot know it is about bookings.
	bookings := core.NewBaseCollection("bookings")
	users, err := shop.App.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	bookings.Fields.Add(&core.RelationField{Name: "client", CollectionId: users.Id, MaxSelect: 1},
		&core.DateField{Name: "startsAt"}, &core.JSONField{Name: "payload"})
	if err := shop.App.Save(bookings); err != nil {
		t.Fatal(err)
	}
	shop.MustDo(200, "POST", "/api/collections/notifyTemplates/records", admin, map[string]any{
		"key": "visit.confirmed", "locale": "en", "active": true,
		"subject": "Booked for {{.Record.startAt}}", "text": "See you {{.Record.startAt}}",
	})
	res := shop.Do("POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Booking confirmed", "active": true, "collection": "bookings", "event": "create",
		"recipient": "client", "template": "visit.confirmed", "channels": []string{"email"},
		"mode": "all", "category": "transactional",
	})
	if res.Status != 400 || !strings.Contains(string(res.Body), "visit.confirmed") || !strings.Contains(string(res.Body), "startAt") {
		t.Fatalf("a rule whose template names a field bookings lacks = %d %s; want 400 naming the template and the field", res.Status, res.Body)
	}

	// Fixed, and using the JSON field's own shape, both save; the rule too.
	tpl := shop.MustDo(200, "GET", "/api/collections/notifyTemplates/records?filter=key%3D%27visit.confirmed%27", admin, nil).JSON()
	id := tpl["items"].([]any)[0].(map[string]any)["id"].(string)
	shop.MustDo(200, "PATCH", "/api/collections/notifyTemplates/records/"+id, admin, map[string]any{
		"subject": "Booked for {{.Record.startsAt}}", "text": "{{.Record.payload.title}} at {{.Record.startsAt}}",
	})
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Booking confirmed", "active": true, "collection": "bookings", "event": "create",
		"recipient": "client", "template": "visit.confirmed", "channels": []string{"email"},
		"mode": "all", "category": "transactional",
	})
	// Now that a rule uses it, the template's own save is checked against
	// bookings: the typo is refused there too.
	res = shop.Do("PATCH", "/api/collections/notifyTemplates/records/"+id, admin, map[string]any{"text": "{{.Record.startAt}}"})
	if res.Status != 400 || !strings.Contains(string(res.Body), "startAt") {
		t.Errorf("the template's typo once a bookings rule uses it = %d %s; want 400", res.Status, res.Body)
	}
}

// A template no rule uses and no collection is named after: any .Record
// path is accepted (its rule is checked later), but a typo outside
// .Record is refused at once.
func TestTemplateWithoutCollectionIsChecked(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	res := shop.Do("POST", "/api/collections/notifyTemplates/records", admin, map[string]any{
		"key": "visit.reminder", "locale": "en", "active": true,
		"subject": "Hello {{.Usr.Name}}", "text": "{{.Record.when}}",
	})
	if res.Status != 400 || !strings.Contains(string(res.Body), "subject") || !strings.Contains(string(res.Body), "Usr") {
		t.Errorf("a typo in .User = %d %s; want 400 on subject", res.Status, res.Body)
	}
	shop.MustDo(200, "POST", "/api/collections/notifyTemplates/records", admin, map[string]any{
		"key": "visit.reminder", "locale": "en", "active": true,
		"subject": "Hello {{.User.Name}}", "text": "{{.Record.when}} {{.Record.place.name}}",
	})
}
