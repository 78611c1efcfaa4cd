package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/plugins/jsvm"
	"github.com/pocketbase/pocketbase/tests"
)

// jsHooks is a pb_hooks file as a shop owner would write it: a route that
// sends a code, one that reports what $notify.send throws, and an order
// hook that sends in the write's transaction and may then refuse the write.
const jsHooks = `
routerAdd("POST", "/api/test/js-code", (e) => {
	const body = e.requestInfo().body
	$notify.send({
		user: e.auth,
		template: "user.login-code",
		channels: ["email", "inbox"],
		data: { code: body.code },
		category: "security",
		dedupeKey: body.key || "",
	})
	return e.noContent(204)
}, $apis.requireAuth())

routerAdd("POST", "/api/test/js-error", (e) => {
	try {
		$notify.send(e.requestInfo().body)
	} catch (err) {
		return e.json(200, { error: String(err) })
	}
	return e.json(200, { error: "" })
})

onRecordCreateExecute((e) => {
	const address = e.record.get("address")
	$notify.send({
		user: e.record.get("customer"),
		template: "user.login-code",
		channels: ["email"],
		data: { code: address },
	}, e.app)
	e.next()
	if (address === "rollback") {
		throw new BadRequestError("refused after the send")
	}
}, "orders")
`

// jsShop starts a shop that loads jsHooks from a pb_hooks dir, with
// $notify bound as the shop binary binds it.
func jsShop(t *testing.T) *shoptest.Shop {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.pb.js"), []byte(jsHooks), 0o644); err != nil {
		t.Fatal(err)
	}
	return shoptest.New(t, shoptest.Options{
		Config: hourPoll,
		BeforeServe: func(app *tests.TestApp) {
			err := jsvm.Register(app, jsvm.Config{
				HooksDir: dir, HooksPoolSize: 2, TypesDir: t.TempDir(),
				OnInit: func(vm *goja.Runtime) { vm.Set("$notify", notify.JS(app)) },
			})
			if err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestJSHooksSend(t *testing.T) {
	t.Parallel()
	shop := jsShop(t)
	createCodeTemplate(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")

	t.Run("from a route", func(t *testing.T) {
		shop.MustDo(204, "POST", "/api/test/js-code", anna.Token, map[string]any{"code": "JS-1", "key": "k1"})
		shop.MustDo(204, "POST", "/api/test/js-code", anna.Token, map[string]any{"code": "JS-2", "key": "k1"})
		m := emailTo(t, shop, anna.Email, "Your code JS-1")
		if text := part(t, m, "text/plain"); !strings.Contains(text, "Code: JS-1") {
			t.Errorf("text part = %q; want Code: JS-1", text)
		}
		inbox := shop.WaitMessage("template = 'user.login-code' && channel = 'inbox'", nil, notify.StatusSent)
		if inbox.GetString("category") != notify.CategorySecurity {
			t.Errorf("category = %q; want security", inbox.GetString("category"))
		}
		if got := len(shop.Messages("template = 'user.login-code' && channel = 'email'")); got != 1 {
			t.Errorf("email messages after two sends with one dedupeKey = %d; want 1", got)
		}
	})

	t.Run("in a record hook, rolled back with the write", func(t *testing.T) {
		items := []map[string]any{shop.Item("Tea", 1, 100)}
		if res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": items, "address": "rollback"}); res.Status != 400 {
			t.Fatalf("the refused order = %d %s; want 400", res.Status, res.Body)
		}
		if got := shop.Messages("template = 'user.login-code' && data ~ 'rollback'"); len(got) != 0 {
			t.Fatalf("the rolled-back write left %d messages; want none", len(got))
		}
		shop.MustDo(200, "POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": items, "address": "commit"})
		emailTo(t, shop, anna.Email, "Your code commit")
	})

	t.Run("errors are thrown to the hook", func(t *testing.T) {
		for _, tc := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"user": anna.ID, "template": "user.login-code", "chanels": []string{"email"}}, "unknown property chanels"},
			{map[string]any{"user": anna.ID, "template": "user.nope", "channels": []string{"email"}}, `no active template with key "user.nope"`},
			{map[string]any{"user": anna.ID, "template": "user.login-code", "channels": []string{"email"}, "delay": "soon"}, `delay "soon"`},
			{map[string]any{"user": "nosuchuser0000", "template": "user.login-code", "channels": []string{"email"}}, `no user "nosuchuser0000"`},
		} {
			got := shop.MustDo(200, "POST", "/api/test/js-error", "", tc.body).String("error")
			if !strings.Contains(got, tc.want) {
				t.Errorf("$notify.send(%v) threw %q; want %q", tc.body, got, tc.want)
			}
		}
	})
}
