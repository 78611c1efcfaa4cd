package notify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// codeTemplate is a template for messages sent from code: every field
// names a key of .Data that no sample has. Its key starts with "user.", so
// saving it renders it against a sample users record.
var codeTemplate = map[string]any{
	"key": "user.login-code", "locale": "en", "active": true,
	"subject":   "Your code {{.Data.code}}",
	"text":      "Code: {{.Data.code}}{{with index .Data \"note\"}} ({{.}}){{end}}",
	"html":      "<p>Code: <b>{{.Data.code}}</b></p>",
	"telegram":  "Code: <b>{{.Data.code}}</b>{{if .Data.code}}.{{end}}",
	"pushTitle": "Code",
	"pushBody":  "{{.Data.code}} for {{.User.Name}}",
}

// createCodeTemplate saves codeTemplate through the REST API, as an admin
// would in the dashboard: a template using .Data must be accepted.
func createCodeTemplate(t *testing.T, shop *shoptest.Shop) {
	t.Helper()
	res := shop.Do("POST", "/api/collections/"+notify.TemplatesCollection+"/records", shop.SuperuserToken(), codeTemplate)
	if res.Status != 200 {
		t.Fatalf("saving a template that uses .Data = %d %s; want 200", res.Status, res.Body)
	}
}

// hourPoll makes the dispatcher sleep an hour unless woken: a message
// that arrives at all arrives because Send woke it.
var hourPoll = notify.Config{PollInterval: time.Hour}

func TestSendFromRoute(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{
		Config: hourPoll,
		BeforeServe: func(app *tests.TestApp) {
			app.OnServe().BindFunc(func(se *core.ServeEvent) error {
				se.Router.POST("/api/test/code", func(e *core.RequestEvent) error {
					var body struct {
						Code, Key string
						Tx        bool // send in a transaction of the route's own
					}
					if err := e.BindBody(&body); err != nil {
						return e.BadRequestError("", err)
					}
					m := notify.Message{
						User: e.Auth.Id, Template: "user.login-code",
						Channels:  []string{"email", "inbox"},
						Data:      map[string]any{"code": body.Code},
						Category:  notify.CategorySecurity,
						DedupeKey: body.Key,
					}
					var err error
					if body.Tx {
						err = e.App.RunInTransaction(func(tx core.App) error { return notify.Send(tx, m) })
					} else {
						err = notify.Send(e.App, m)
					}
					if err != nil {
						return e.InternalServerError("", err)
					}
					return e.NoContent(204)
				})
				return se.Next()
			})
		},
	})
	createCodeTemplate(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")

	shop.MustDo(204, "POST", "/api/test/code", anna.Token, map[string]any{"code": "4711", "key": "login-1"})
	m := emailTo(t, shop, anna.Email, "Your code 4711")
	if text := part(t, m, "text/plain"); !strings.Contains(text, "Code: 4711") || strings.Contains(text, "(") {
		t.Errorf("text part = %q; want Code: 4711 and no note", text)
	}
	if html := part(t, m, "text/html"); !strings.Contains(html, "<b>4711</b>") {
		t.Errorf("html part = %q; want <b>4711</b>", html)
	}
	inbox := shop.WaitMessage("template = 'user.login-code' && channel = 'inbox'", nil, notify.StatusSent)
	if got := inbox.GetString("body"); got != "4711 for Anna" {
		t.Errorf("inbox body = %q; want %q", got, "4711 for Anna")
	}
	if got := inbox.GetString("category"); got != notify.CategorySecurity {
		t.Errorf("category = %q; want security", got)
	}

	t.Run("in a transaction, the dispatcher is woken after the commit", func(t *testing.T) {
		shop.MustDo(204, "POST", "/api/test/code", anna.Token, map[string]any{"code": "7777", "tx": true})
		emailTo(t, shop, anna.Email, "Your code 7777")
	})

	t.Run("a second Send with the same DedupeKey queues nothing", func(t *testing.T) {
		shop.MustDo(204, "POST", "/api/test/code", anna.Token, map[string]any{"code": "9999", "key": "login-1"})
		// Another key goes out: once it has, the dispatcher has had its chance.
		shop.MustDo(204, "POST", "/api/test/code", anna.Token, map[string]any{"code": "5555", "key": "login-2"})
		emailTo(t, shop, anna.Email, "Your code 5555")
		if got := len(shop.Messages("template = 'user.login-code' && channel = 'email'")); got != 3 {
			t.Errorf("email messages = %d; want 3 (4711 with login-1 once, 7777, 5555 with login-2)", got)
		}
		for _, m := range shop.SMTP.Messages() {
			if strings.Contains(m.Header("Subject"), "9999") {
				t.Errorf("the deduplicated send went out: %q", m.Header("Subject"))
			}
		}
	})
}

func TestSendInRecordHookRollsBackWithTheWrite(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{
		Config: hourPoll,
		BeforeServe: func(app *tests.TestApp) {
			app.OnRecordCreateExecute("orders").BindFunc(func(e *core.RecordEvent) error {
				if !e.App.IsTransactional() {
					t.Errorf("the order write is not in a transaction")
				}
				address := e.Record.GetString("address")
				err := notify.Send(e.App, notify.Message{
					User: e.Record.GetString("customer"), Template: "user.login-code",
					Channels: []string{"email"}, Data: map[string]any{"code": address},
				})
				if err != nil {
					return err
				}
				if err := e.Next(); err != nil {
					return err
				}
				if address == "rollback" {
					return errors.New("refused after the send")
				}
				return nil
			})
		},
	})
	createCodeTemplate(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	items := []map[string]any{shop.Item("Tea", 1, 100)}

	res := shop.Do("POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": items, "address": "rollback"})
	if res.Status == 200 {
		t.Fatalf("the refused order was created: %s", res.Body)
	}
	if got := shop.Messages("template = 'user.login-code'"); len(got) != 0 {
		t.Fatalf("the rolled-back write left %d sent messages; want none", len(got))
	}

	// A committed write's message goes out, woken after the commit.
	shop.MustDo(200, "POST", "/api/collections/orders/records", anna.Token, map[string]any{"customer": anna.ID, "items": items, "address": "commit"})
	emailTo(t, shop, anna.Email, "Your code commit")
	for _, m := range shop.SMTP.Messages() {
		if strings.Contains(m.Header("Subject"), "rollback") {
			t.Errorf("the rolled-back send went out: %q", m.Header("Subject"))
		}
	}
}

func TestSendOnlyToChannelsTheUserHas(t *testing.T) {
	t.Parallel()
	bot := telegramtest.New(t)
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{TelegramToken: telegramtest.Token, TelegramAPIURL: bot.URL}})
	createCodeTemplate(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	bob := shop.SignUp("Bob", "bob@example.org", "en")
	const bobChat = 5550077
	linkTelegram(t, shop, bot, bob, bobChat)

	for _, c := range []shoptest.Customer{anna, bob} {
		err := notify.Send(shop.App, notify.Message{
			User: c.ID, Template: "user.login-code", Channels: []string{"email", "telegram"},
			Data: map[string]any{"code": "T-" + c.Email},
		})
		if err != nil {
			t.Fatalf("Send to %s: %v", c.Email, err)
		}
	}
	sent := shop.WaitMessage("template = 'user.login-code' && channel = 'telegram'", nil, notify.StatusSent)
	if sent.GetString("user") != bob.ID {
		t.Errorf("the telegram message went to %s; want Bob (%s)", sent.GetString("user"), bob.ID)
	}
	if got := lastTo(bot, bobChat); !strings.Contains(got.Plain, "T-bob@example.org") {
		t.Errorf("Bob's chat got %q; want his code", got.Plain)
	}
	for _, c := range []shoptest.Customer{anna, bob} {
		var chans []string
		for _, m := range shop.Messages("template = 'user.login-code' && user = {:u}", map[string]any{"u": c.ID}) {
			chans = append(chans, m.GetString("channel"))
		}
		want := "email"
		if c.ID == bob.ID {
			want = "email,telegram"
		}
		if got := strings.Join(chans, ","); got != want {
			t.Errorf("%s's messages are on %q; want %q", c.Email, got, want)
		}
	}
}

func TestSendRefuses(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	createCodeTemplate(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	ok := notify.Message{User: anna.ID, Template: "user.login-code", Channels: []string{"email"}}

	for _, tc := range []struct {
		name string
		mod  func(*notify.Message)
		want string // in the error
	}{
		{"unknown user", func(m *notify.Message) { m.User = "nosuchuser0000" }, `no user "nosuchuser0000"`},
		{"unknown template", func(m *notify.Message) { m.Template = "user.nope" }, `"user.nope"`},
		{"unknown channel", func(m *notify.Message) { m.Channels = []string{"email", "fax"} }, `unknown channel "fax"; use email, telegram`},
		{"no channels", func(m *notify.Message) { m.Channels = nil }, "no channels"},
		{"unknown category", func(m *notify.Message) { m.Category = "gossip" }, `unknown category "gossip"`},
		{"an explicit address on other channels than email", func(m *notify.Message) {
			m.To, m.Channels = "old@example.org", []string{"email", "inbox"}
		}, "email channel"},
		{"data that is not JSON", func(m *notify.Message) { m.Data = map[string]any{"f": func() {}} }, "JSON"},
	} {
		m := ok
		tc.mod(&m)
		err := notify.Send(shop.App, m)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Send = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	if got := shop.Messages("template = 'user.login-code' || template = 'user.nope'"); len(got) != 0 {
		t.Errorf("refused sends queued %d messages", len(got))
	}

	t.Run("an inactive template", func(t *testing.T) {
		tpl, err := shop.App.FindFirstRecordByFilter(notify.TemplatesCollection, "key = 'user.login-code'")
		if err != nil {
			t.Fatal(err)
		}
		tpl.Set("active", false)
		if err := shop.App.Save(tpl); err != nil {
			t.Fatal(err)
		}
		if err := notify.Send(shop.App, ok); err == nil || !strings.Contains(err.Error(), "no active template") {
			t.Errorf("Send with an inactive template = %v; want no active template", err)
		}
	})

	t.Run("without the plugin", func(t *testing.T) {
		bare := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
		if err := notify.Send(bare.App, ok); !errors.Is(err, notify.ErrNotRegistered) {
			t.Errorf("Send on an app without the plugin = %v; want ErrNotRegistered", err)
		}
	})
}

func TestSendDelay(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	createCodeTemplate(t, shop)
	anna := shop.SignUp("Anna", "anna@example.org", "en")

	err := notify.Send(shop.App, notify.Message{
		User: anna.ID, Template: "user.login-code", Channels: []string{"inbox"},
		Data: map[string]any{"code": "later"}, Delay: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := shop.Messages("template = 'user.login-code'")
	if len(msgs) != 1 {
		t.Fatalf("messages = %d; want 1", len(msgs))
	}
	if due, want := msgs[0].GetDateTime("runAt").Time(), shop.Clock.Now().Add(time.Hour); due.Before(want.Add(-time.Second)) || due.After(want) {
		t.Errorf("runAt = %s; want an hour from now (%s)", due, want)
	}
	if got := msgs[0].GetString("status"); got != notify.StatusQueued {
		t.Errorf("status before the delay = %q; want queued", got)
	}
	shop.Clock.Advance(time.Hour)
	sent := shop.WaitMessage("template = 'user.login-code'", nil, notify.StatusSent)
	if got := sent.GetString("body"); got != "later for Anna" {
		t.Errorf("body = %q; want %q", got, "later for Anna")
	}
}

// TestTemplateDataIsFreeForm saves templates through the REST API: any
// path under .Data is accepted, however it is used, while a typo under
// .Record is still refused.
func TestTemplateDataIsFreeForm(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true})
	admin := shop.SuperuserToken()
	for _, tc := range []struct {
		text string
		want int // HTTP status of the save
	}{
		{`{{.Data.code}}`, 200},
		{`{{$.Data.code}} {{.Data.order.number}} {{.Data.order}}`, 200},
		{`{{range .Data.items}}{{.name}} × {{.qty}}{{end}}`, 200},
		{`{{with .Data.booking}}{{.startsAt}}{{end}}`, 200},
		{`{{if .Data.note}}{{.Data.note}}{{else}}-{{end}} {{money .Data.amount "RUB"}} {{date .Data.at}} {{default "x" .Data.y}}`, 200},
		{`{{index .Data "optional"}}`, 200},
		{`{{.Record.numbr}}`, 400}, // orders have no such field
	} {
		res := shop.Do("POST", "/api/collections/"+notify.TemplatesCollection+"/records", admin, map[string]any{
			"key": "order.free-form", "locale": "en", "active": true, "subject": "s", "text": tc.text,
		})
		if res.Status != tc.want {
			t.Errorf("saving text %q = %d %s; want %d", tc.text, res.Status, res.Body, tc.want)
		}
		if res.Status == 200 {
			shop.MustDo(204, "DELETE", "/api/collections/"+notify.TemplatesCollection+"/records/"+res.String("id"), admin, nil)
		}
	}
}
