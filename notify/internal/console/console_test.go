package console_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/notify/internal/console"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/types"
)

func TestMain(m *testing.M) { shoptest.Main(m) }

// quietShop is a shop whose dispatcher never starts, so the messages a test
// writes stay exactly as written. (Its rules are not loaded either: the
// dispatcher's start loads them.)
func quietShop(t *testing.T) *shoptest.Shop {
	return shoptest.New(t, shoptest.Options{FakeClock: true, BeforeServe: func(app *tests.TestApp) {
		app.OnServe().Unbind(notify.HookDispatcher)
	}})
}

func dbTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}

// addMessage writes a notifyMessages row as the queue would have left it;
// updated, when not zero, is set afterwards (the field is an autodate).
func addMessage(t *testing.T, shop *shoptest.Shop, channel, status string, attempts int, runAt time.Time, errText string, updated time.Time) *core.Record {
	t.Helper()
	coll, err := shop.App.FindCollectionByNameOrId(notify.MessagesCollection)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(coll)
	rec.Set("channel", channel)
	rec.Set("status", status)
	rec.Set("attempts", attempts)
	rec.Set("runAt", dbTime(runAt))
	rec.Set("error", errText)
	rec.Set("template", "order.shipped")
	rec.Set("to", "someone@example.org")
	rec.Set("dedupeKey", core.GenerateDefaultRandomId())
	if err := shop.App.SaveNoValidate(rec); err != nil {
		t.Fatal(err)
	}
	if !updated.IsZero() {
		if _, err := shop.App.DB().Update(notify.MessagesCollection, dbx.Params{"updated": dbTime(updated)}, dbx.HashExp{"id": rec.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

func decode[T any](t *testing.T, r shoptest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s: %v", r.Body, err)
	}
	return v
}

func TestRoutesAreForSuperusersOnly(t *testing.T) {
	t.Parallel()
	shop := quietShop(t)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/notify/console/health"},
		{"GET", "/api/notify/console/failures"},
		{"POST", "/api/notify/console/failures/retry"},
		{"GET", "/api/notify/console/stats"},
		{"POST", "/api/notify/console/templates/x/draft"},
		{"POST", "/api/notify/console/simulate"},
	} {
		for _, token := range []string{"", anna.Token} {
			if res := shop.Do(r.method, r.path, token, map[string]any{}); res.Status != 401 && res.Status != 403 {
				t.Errorf("%s %s signed in=%v: %d %s; want 401 or 403", r.method, r.path, token != "", res.Status, res.Body)
			}
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	shop := quietShop(t)
	admin := shop.SuperuserToken()
	now := shop.Clock.Now()
	addMessage(t, shop, "email", "queued", 0, now.Add(-10*time.Minute), "", time.Time{})                     // due, the oldest
	addMessage(t, shop, "inbox", "queued", 0, now.Add(-time.Minute), "", time.Time{})                        // due
	addMessage(t, shop, "email", "queued", 2, now.Add(-5*time.Minute), "451 try later", now.Add(-time.Hour)) // due, retrying
	addMessage(t, shop, "email", "queued", 1, now.Add(time.Hour), "421 busy", now.Add(-2*time.Hour))         // retrying, not due
	addMessage(t, shop, "sms", "queued", 0, now.Add(48*time.Hour), "", time.Time{})                          // a delay
	addMessage(t, shop, "email", "sending", 1, now, "", time.Time{})
	addMessage(t, shop, "email", "failed", 5, now, "550 mailbox unavailable", now.Add(-30*time.Minute))
	addMessage(t, shop, "telegram", "failed", 1, now, "user has blocked the bot", now.Add(-48*time.Hour)) // older than a day
	addMessage(t, shop, "email", "sent", 1, now, "", time.Time{})

	h := decode[console.Health](t, shop.MustDo(200, "GET", "/api/notify/console/health", admin, nil))
	got := fmt.Sprintf("queued=%d due=%d retrying=%d sending=%d failed24h=%d oldestDue=%ds next=%s",
		h.Queued, h.Due, h.Retrying, h.Sending, h.Failed24h, h.OldestDueSeconds, h.NextRetryAt)
	want := fmt.Sprintf("queued=5 due=3 retrying=2 sending=1 failed24h=1 oldestDue=600s next=%s", dbTime(now.Add(-5*time.Minute)))
	if got != want {
		t.Errorf("health = %s\n           want %s", got, want)
	}
	channels := map[string]console.ChannelHealth{}
	for _, ch := range h.Channels {
		channels[ch.Name] = ch
	}
	if ch := channels["email"]; !ch.Configured || ch.LastError != "550 mailbox unavailable" || ch.Queued != 3 {
		t.Errorf("email = %+v; want configured, 3 queued, last error the 550 (the newest)", ch)
	}
	if ch := channels["telegram"]; ch.Configured || ch.Setup != "NOTIFY_TELEGRAM_TOKEN" || ch.LastError != "user has blocked the bot" {
		t.Errorf("telegram = %+v; want not configured (NOTIFY_TELEGRAM_TOKEN) with its last error", ch)
	}
	if ch := channels["sms"]; ch.Configured || ch.Queued != 1 || ch.LastError != "" {
		t.Errorf("sms = %+v; want not configured, 1 queued, no error", ch)
	}

	// The clock moves: the oldest due message has waited longer.
	shop.Clock.Advance(time.Minute)
	h = decode[console.Health](t, shop.MustDo(200, "GET", "/api/notify/console/health", admin, nil))
	if h.OldestDueSeconds != 660 {
		t.Errorf("after a minute oldestDueSeconds = %d; want 660", h.OldestDueSeconds)
	}
}

func TestReason(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"550 mailbox unavailable: anna@example.org", "550 mailbox unavailable: <address>"},
		{"sms: +7 912 345-67-89 is not a mobile number", "sms: <phone> is not a mobile number"},
		{`rule "x" cannot be evaluated: recipient: no record ab12cd34ef56gh7`, `rule "x" cannot be evaluated: recipient: no record <id>`},
		{"user has not linked Telegram", "user has not linked Telegram"},
		{"   ", "(no error recorded)"},
		{"550 5.1.1 user unknown", "550 5.1.1 user unknown"},
	} {
		if got := console.Reason(c.in); got != c.want {
			t.Errorf("Reason(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

// Two customers whose mail server refuses them: their failures form one
// group, and retrying the group sends both once the server takes them.
func TestFailureGroupRetry(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	for _, addr := range []string{"gone1@example.org", "gone2@example.org"} {
		shop.SMTP.RejectRcpt(addr, 550, "mailbox unavailable")
	}
	shop.SignUp("One", "gone1@example.org", "en")
	shop.SignUp("Two", "gone2@example.org", "en")
	shop.SignUp("Fine", "fine@example.org", "en")
	for _, addr := range []string{"gone1@example.org", "gone2@example.org"} {
		shop.WaitMessage("to = {:to}", map[string]any{"to": addr}, notify.StatusFailed)
	}

	var res struct {
		Groups []console.FailureGroup `json:"groups"`
	}
	res = decode[struct {
		Groups []console.FailureGroup `json:"groups"`
	}](t, shop.MustDo(200, "GET", "/api/notify/console/failures", admin, nil))
	if len(res.Groups) != 1 || res.Groups[0].Count != 2 || len(res.Groups[0].Messages) != 2 {
		t.Fatalf("groups = %+v; want one group of the 2 refused welcomes", res.Groups)
	}
	reason := res.Groups[0].Reason
	if !strings.Contains(reason, "550") || strings.Contains(reason, "gone1") {
		t.Errorf("reason = %q; want the 550 without the address", reason)
	}

	if r := shop.Do("POST", "/api/notify/console/failures/retry", admin, map[string]any{"reason": "no such reason"}); r.Status != 404 {
		t.Errorf("retry of an unknown reason = %d %s; want 404", r.Status, r.Body)
	}
	if r := shop.Do("POST", "/api/notify/console/failures/retry", admin, map[string]any{}); r.Status != 400 {
		t.Errorf("retry without a reason = %d %s; want 400", r.Status, r.Body)
	}

	for _, addr := range []string{"gone1@example.org", "gone2@example.org"} {
		shop.SMTP.RejectRcpt(addr, 0, "")
	}
	out := decode[map[string]int](t, shop.MustDo(200, "POST", "/api/notify/console/failures/retry", admin, map[string]any{"reason": reason}))
	if out["retried"] != 2 {
		t.Errorf("retried = %v; want 2", out)
	}
	for _, addr := range []string{"gone1@example.org", "gone2@example.org"} {
		m := shop.WaitMessage("to = {:to}", map[string]any{"to": addr}, notify.StatusSent)
		if m.GetInt("attempts") != 1 || m.GetString("error") != "" {
			t.Errorf("%s after retry: attempts=%d error=%q; want a fresh first attempt", addr, m.GetInt("attempts"), m.GetString("error"))
		}
	}
	res = decode[struct {
		Groups []console.FailureGroup `json:"groups"`
	}](t, shop.MustDo(200, "GET", "/api/notify/console/failures", admin, nil))
	if len(res.Groups) != 0 {
		t.Errorf("groups after the retry = %+v; want none", res.Groups)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	shop := quietShop(t)
	admin := shop.SuperuserToken()
	now := shop.Clock.Now()
	for _, m := range []struct{ channel, status string }{
		{"email", "sent"}, {"email", "sent"}, {"email", "failed"}, {"telegram", "skipped"}, {"inbox", "sent"},
	} {
		addMessage(t, shop, m.channel, m.status, 1, now, "", time.Time{})
	}
	old := addMessage(t, shop, "email", "sent", 1, now, "", time.Time{})
	if _, err := shop.App.DB().Update(notify.MessagesCollection, dbx.Params{"created": dbTime(now.Add(-3 * 24 * time.Hour))}, dbx.HashExp{"id": old.Id}).Execute(); err != nil {
		t.Fatal(err)
	}

	sum := func(rng string) (total, sent, failed, skipped int, st console.Stats) {
		st = decode[console.Stats](t, shop.MustDo(200, "GET", "/api/notify/console/stats?range="+rng, admin, nil))
		for _, r := range st.Rows {
			total += r.Total
			sent += r.Sent
			failed += r.Failed
			skipped += r.Skipped
		}
		return
	}
	total, sent, failed, skipped, st := sum("24h")
	if total != 5 || sent != 3 || failed != 1 || skipped != 1 || st.Bucket != "hour" {
		t.Errorf("24h: total=%d sent=%d failed=%d skipped=%d bucket=%s; want 5 3 1 1 hour", total, sent, failed, skipped, st.Bucket)
	}
	if total, sent, _, _, st = sum("7d"); total != 6 || sent != 4 || st.Bucket != "day" {
		t.Errorf("7d: total=%d sent=%d bucket=%s; want 6 4 day", total, sent, st.Bucket)
	}
	// Opens and clicks are counted only where the shop records them.
	tracked := st.Tracked["opened"]
	for _, r := range st.Rows {
		if (r.Opened != nil) != tracked {
			t.Errorf("row %+v: opened present = %v; want %v (openedAt exists: %v)", r, r.Opened != nil, tracked, tracked)
		}
	}
	if r := shop.Do("GET", "/api/notify/console/stats?range=1y", admin, nil); r.Status != 400 {
		t.Errorf("range=1y = %d; want 400", r.Status)
	}
}

func templateID(t *testing.T, shop *shoptest.Shop, key, locale string) *core.Record {
	t.Helper()
	rec, err := shop.App.FindFirstRecordByFilter(notify.TemplatesCollection, "key = {:k} && locale = {:l}", dbx.Params{"k": key, "l": locale})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestDraft(t *testing.T) {
	t.Parallel()
	shop := quietShop(t)
	admin := shop.SuperuserToken()
	tpl := templateID(t, shop, "order.shipped", "en")
	path := "/api/notify/console/templates/" + tpl.Id + "/draft"

	// An edit shows in the preview of every channel; nothing is saved.
	d := decode[console.Draft](t, shop.MustDo(200, "POST", path, admin, map[string]any{
		"subject": "Parcel {{.Record.number}} is on its way", "sms": "Заказ {{.Record.number}} отправлен",
	}))
	p, _ := d.Preview.(map[string]any)
	if len(d.Errors) != 0 || !strings.HasPrefix(fmt.Sprint(p["subject"]), "Parcel ") || p["html"] == "" || p["telegram"] == "" {
		t.Fatalf("draft = %+v; want the new subject and every channel", d)
	}
	if p["smsEncoding"] != "UCS-2" || p["smsSegments"] != float64(1) {
		t.Errorf("sms preview = %v %v; want UCS-2, 1 segment", p["smsEncoding"], p["smsSegments"])
	}
	if stored := templateID(t, shop, "order.shipped", "en"); stored.GetString("subject") != tpl.GetString("subject") {
		t.Errorf("stored subject = %q; want it unchanged by a draft", stored.GetString("subject"))
	}

	// A broken field is named with its line, as saving names it.
	for _, c := range []struct {
		field, body string
		line        int
	}{
		{"html", "<p>one</p>\n<p>two</p>\n<p>{{if .Record.number}</p>", 3},
		{"text", "fine\n{{.Record.nope}}", 2},
		{"sms", "{{end}}", 1},
	} {
		d := decode[console.Draft](t, shop.MustDo(200, "POST", path, admin, map[string]any{c.field: c.body}))
		if got := d.Errors[c.field]; got.Line != c.line || got.Message == "" || d.Preview != nil {
			t.Errorf("draft %s=%q: errors=%+v preview=%v; want %s on line %d and no preview", c.field, c.body, d.Errors, d.Preview, c.field, c.line)
		}
		save := shop.Do("PATCH", "/api/collections/notifyTemplates/records/"+tpl.Id, admin, map[string]any{c.field: c.body})
		if save.Status != 400 || !strings.Contains(string(save.Body), fmt.Sprintf(":%d", c.line)) {
			t.Errorf("saving %s=%q = %d %s; want 400 naming line %d, as the draft did", c.field, c.body, save.Status, save.Body, c.line)
		}
	}
	if r := shop.Do("POST", path, admin, map[string]any{"subject": 42}); r.Status != 400 {
		t.Errorf("subject 42 = %d; want 400", r.Status)
	}
	if r := shop.Do("POST", "/api/notify/console/templates/nosuchtemplate1/draft", admin, map[string]any{}); r.Status != 404 {
		t.Errorf("unknown template = %d; want 404", r.Status)
	}
}

func TestSimulate(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	// Written by a superuser, who may set free-form items (a customer's
	// must name catalogue products).
	order := shop.MustDo(200, "POST", "/api/collections/orders/records", admin, map[string]any{
		"customer": anna.ID, "items": []map[string]any{{"name": "Green tea", "qty": 1, "price": 350}}, "address": "Moscow",
	}).String("id")
	before := len(shop.Messages(""))

	sim := decode[console.Simulation](t, shop.MustDo(200, "POST", "/api/notify/console/simulate", admin, map[string]any{
		"collection": "orders", "record": order, "event": "update", "changes": map[string]any{"status": "shipped"},
	}))
	var fired []string
	why := map[string]string{}
	for _, v := range sim.Rules {
		if v.Fires {
			fired = append(fired, v.Template)
			if len(v.Recipients) == 0 || v.Recipients[0].User == "" {
				t.Errorf("rule %q fires for nobody: %+v", v.Name, v)
			}
		} else {
			why[v.Template] = v.Reason
		}
	}
	if !containsStr(fired, "order.shipped") || containsStr(fired, "order.paid") || containsStr(fired, "order.created") {
		t.Errorf("fired = %v; want order.shipped, not paid or created", fired)
	}
	if !strings.Contains(why["order.created"], "fires on create") {
		t.Errorf("why not order.created = %q; want it fires on create", why["order.created"])
	}
	for _, v := range sim.Rules {
		if v.Fires && v.Template == "order.shipped" && v.Recipients[0].User == anna.ID {
			chans := map[string]console.ChannelVerdict{}
			for _, c := range v.Recipients[0].Channels {
				chans[c.Channel] = c
			}
			if c := chans["email"]; !c.Queued || c.Reason != "" {
				t.Errorf("order.shipped email = %+v; want queued", c)
			}
			// As the enqueue hook does: a channel that is not set up gets
			// its row, which is then skipped with the reason.
			if c := chans["telegram"]; !c.Queued || !strings.Contains(c.Reason, "not configured") {
				t.Errorf("order.shipped telegram = %+v; want queued, then skipped as not configured", c)
			}
		}
	}

	// Nothing was written: the order is still new, no message was queued.
	if got, _ := shop.App.FindRecordById("orders", order); got.GetString("status") != "new" {
		t.Errorf("order status after the simulation = %q; want new", got.GetString("status"))
	}
	if n := len(shop.Messages("")); n != before {
		t.Errorf("messages after the simulation = %d; want %d", n, before)
	}

	for _, c := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"collection": "orders", "record": "nosuchrecord123", "event": "update"}, 404},
		{map[string]any{"collection": "nosuch", "record": order, "event": "update"}, 404},
		{map[string]any{"collection": "orders", "record": order, "event": "upsert"}, 400},
		{map[string]any{"collection": "orders", "record": order, "event": "update", "changes": map[string]any{"nosuch": 1}}, 400},
		{map[string]any{"collection": "orders", "record": order, "event": "create", "changes": map[string]any{"status": "paid"}}, 400},
	} {
		if r := shop.Do("POST", "/api/notify/console/simulate", admin, c.body); r.Status != c.want {
			t.Errorf("simulate %v = %d %s; want %d", c.body, r.Status, r.Body, c.want)
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestChannelSetUp(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true, Config: notify.Config{SMSProvider: "twilio", SMSAccount: "AC1", SMSToken: "t", SMSFrom: "+15550001"}})
	admin := shop.SuperuserToken()
	h := decode[console.Health](t, shop.MustDo(200, "GET", "/api/notify/console/health", admin, nil))
	got := map[string]string{}
	for _, ch := range h.Channels {
		got[ch.Name] = fmt.Sprintf("%v %s", ch.Configured, ch.Setup)
	}
	for name, want := range map[string]string{
		"email":   "false Settings → Mail settings → SMTP",
		"sms":     "true ",
		"inbox":   "true ",
		"webhook": "false NOTIFY_WEBHOOK_URL",
	} {
		if got[name] != want {
			t.Errorf("%s = %q; want %q", name, got[name], want)
		}
	}
}

// Once the shop records opens, clicks and variants (the Measure fields),
// the stats count them, without a restart.
func TestStatsCountOpensAndClicksWhenTracked(t *testing.T) {
	t.Parallel()
	shop := quietShop(t)
	admin := shop.SuperuserToken()
	coll, err := shop.App.FindCollectionByNameOrId(notify.MessagesCollection)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"openedAt", "clickedAt"} {
		if coll.Fields.GetByName(name) == nil {
			coll.Fields.Add(&core.DateField{Name: name})
		}
	}
	if coll.Fields.GetByName("variant") == nil {
		coll.Fields.Add(&core.TextField{Name: "variant"})
	}
	if err := shop.App.Save(coll); err != nil {
		t.Fatal(err)
	}
	now := shop.Clock.Now()
	for i, v := range []struct {
		variant         string
		opened, clicked bool
	}{{"", true, true}, {"", true, false}, {"B", false, false}, {"B", true, false}} {
		m := addMessage(t, shop, "email", "sent", 1, now, "", time.Time{})
		params := dbx.Params{"variant": v.variant}
		if v.opened {
			params["openedAt"] = dbTime(now)
		}
		if v.clicked {
			params["clickedAt"] = dbTime(now)
		}
		if _, err := shop.App.DB().Update(notify.MessagesCollection, params, dbx.HashExp{"id": m.Id}).Execute(); err != nil {
			t.Fatal(i, err)
		}
	}
	st := decode[console.Stats](t, shop.MustDo(200, "GET", "/api/notify/console/stats?range=24h", admin, nil))
	if !st.Tracked["opened"] || !st.Tracked["clicked"] || !st.Tracked["variant"] {
		t.Fatalf("tracked = %v; want opened, clicked and variant", st.Tracked)
	}
	got := map[string]string{}
	for _, r := range st.Rows {
		if r.Opened == nil || r.Clicked == nil {
			t.Fatalf("row %+v has no opened/clicked", r)
		}
		got[r.Variant] = fmt.Sprintf("sent=%d opened=%d clicked=%d", r.Sent, *r.Opened, *r.Clicked)
	}
	want := map[string]string{"": "sent=2 opened=2 clicked=1", "B": "sent=2 opened=1 clicked=0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("per variant = %v; want %v", got, want)
	}
}

// Emails skipped while the shop had no mail server go out when their group
// is retried after it is set up.
func TestSkippedGroupRetryAfterSetUp(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	shop := shoptest.New(t, shoptest.Options{NoSMTP: true, Config: notify.Config{EmailTLS: srv.ClientTLS}})
	admin := shop.SuperuserToken()
	shop.SignUp("Anna", "anna@example.org", "en")
	skipped := shop.WaitMessage("to = 'anna@example.org' && channel = 'email'", nil, notify.StatusSkipped)

	type groups struct {
		Status string                 `json:"status"`
		Groups []console.FailureGroup `json:"groups"`
	}
	if g := decode[groups](t, shop.MustDo(200, "GET", "/api/notify/console/failures", admin, nil)); len(g.Groups) != 0 {
		t.Errorf("failed groups = %+v; want none (the email was skipped, not failed)", g.Groups)
	}
	g := decode[groups](t, shop.MustDo(200, "GET", "/api/notify/console/failures?status=skipped", admin, nil))
	if g.Status != "skipped" || len(g.Groups) != 1 || g.Groups[0].Reason != console.Reason(skipped.GetString("error")) {
		t.Fatalf("skipped groups = %+v; want the one skipped email (%q)", g, skipped.GetString("error"))
	}
	if r := shop.Do("GET", "/api/notify/console/failures?status=sent", admin, nil); r.Status != 400 {
		t.Errorf("status=sent = %d; want 400", r.Status)
	}
	// A failed-status retry of a skipped reason finds nothing.
	if r := shop.Do("POST", "/api/notify/console/failures/retry", admin, map[string]any{"reason": g.Groups[0].Reason}); r.Status != 404 {
		t.Errorf("retry as failed = %d %s; want 404", r.Status, r.Body)
	}

	settings := shop.App.Settings()
	settings.SMTP.Enabled = true
	settings.SMTP.Host, settings.SMTP.Port = srv.Host, srv.Port
	settings.SMTP.Username, settings.SMTP.Password = smtptest.Username, smtptest.Password
	if err := shop.App.Save(settings); err != nil {
		t.Fatal(err)
	}
	out := decode[map[string]int](t, shop.MustDo(200, "POST", "/api/notify/console/failures/retry", admin,
		map[string]any{"reason": g.Groups[0].Reason, "status": "skipped"}))
	if out["retried"] != 1 {
		t.Errorf("retried = %v; want 1", out)
	}
	shop.WaitMessage("id = {:id}", map[string]any{"id": skipped.Id}, notify.StatusSent)
	if msgs := srv.Wait(t, 1, 10*time.Second); len(msgs) != 1 || msgs[0].To[0] != "anna@example.org" {
		t.Errorf("SMTP got %+v; want the welcome to anna", msgs)
	}
}
