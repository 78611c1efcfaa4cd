package notify_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// promoTemplate is a marketing message with a link, on every channel the
// stats test uses. Its key starts with "user." so it is checked on save
// against a sample users record.
func promoTemplate(variant, subject string) map[string]any {
	return map[string]any{
		"key": "user.promo", "locale": "en", "active": true, "variant": variant,
		"subject":   subject,
		"html":      `<p>Hello {{.User.Name}}, <a href="https://example.org/sale?from=mail&amp;v=1">see the sale</a></p>`,
		"text":      "Hello {{.User.Name}}, see the sale: https://example.org/sale?from=mail&v=1",
		"pushTitle": subject, "pushBody": "Half price", "pushUrl": "/#/sale",
	}
}

func createPromo(t *testing.T, shop *shoptest.Shop, variant, subject string) {
	t.Helper()
	shop.MustDo(200, "POST", "/api/collections/"+notify.TemplatesCollection+"/records", shop.SuperuserToken(), promoTemplate(variant, subject))
}

func sendPromo(t *testing.T, shop *shoptest.Shop, user string, category string, delay time.Duration, chans ...string) {
	t.Helper()
	if err := notify.Send(shop.App, notify.Message{User: user, Template: "user.promo", Channels: chans, Category: category, Delay: delay}); err != nil {
		t.Fatal(err)
	}
}

func emailsTo(shop *shoptest.Shop, addr, subject string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range shop.SMTP.Messages() {
		if len(m.To) == 1 && m.To[0] == addr && m.Header("Subject") == subject {
			out = append(out, m)
		}
	}
	return out
}

func TestStatsCountAKnownSetOfSends(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	createPromo(t, shop, "", "Sale")
	anna := shop.SignUpVerified("Anna", "anna@example.org", "en")
	bob := shop.SignUpVerified("Bob", "bob@example.org", "en")
	carl := shop.SignUpVerified("Carl", "carl@example.org", "en")
	dave := shop.SignUpVerified("Dave", "dave@example.org", "en")
	for _, c := range []shoptest.Customer{anna, bob} {
		sendPromo(t, shop, c.ID, notify.CategoryMarketing, 0, "email", "inbox")
	}
	sendPromo(t, shop, dave.ID, notify.CategoryMarketing, time.Hour, "email")
	// Carl turns marketing email off while his message waits: it is
	// skipped when due.
	sendPromo(t, shop, carl.ID, notify.CategoryMarketing, time.Minute, "email", "inbox")
	shop.MustDo(200, "PATCH", "/api/collections/users/records/"+carl.ID, carl.Token,
		map[string]any{"notifyPrefs": map[string]any{"email": map[string]any{"marketing": false}}})
	shop.Clock.Advance(2 * time.Minute)

	// Anna clicks her email's link; Bob reads his inbox message; Dave's is
	// cancelled by the admin before it is due.
	shop.WaitMessage("template = 'user.promo' && user = {:u} && channel = 'email'", map[string]any{"u": anna.ID}, notify.StatusSent)
	mail := emailTo(t, shop, "anna@example.org", "Sale")
	if !linksTo(t, shop, part(t, mail, "text/html"), "https://example.org/sale?from=mail&v=1") {
		t.Fatalf("Anna's email has no link to the sale: %s", part(t, mail, "text/html"))
	}
	bobInbox := shop.WaitMessage("template = 'user.promo' && user = {:u} && channel = 'inbox'", map[string]any{"u": bob.ID}, notify.StatusSent)
	shop.MustDo(200, "PATCH", "/api/collections/notifyMessages/records/"+bobInbox.Id, bob.Token, map[string]any{"readAt": "2026-11-23 10:00:00.000Z"})
	daves := shop.WaitMessage("template = 'user.promo' && user = {:u}", map[string]any{"u": dave.ID}, notify.StatusQueued)
	daves.Set("status", notify.StatusCancelled)
	if err := shop.App.Save(daves); err != nil {
		t.Fatal(err)
	}
	shop.WaitMessage("template = 'user.promo' && user = {:u} && channel = 'email'", map[string]any{"u": carl.ID}, notify.StatusSkipped)
	for _, c := range []shoptest.Customer{anna, carl} {
		shop.WaitMessage("template = 'user.promo' && user = {:u} && channel = 'inbox'", map[string]any{"u": c.ID}, notify.StatusSent)
	}
	shop.WaitMessage("template = 'user.promo' && user = {:u} && channel = 'email'", map[string]any{"u": bob.ID}, notify.StatusSent)

	// The day is the UTC day the messages were queued (a run across
	// midnight sees two).
	days := map[string]bool{}
	for _, m := range shop.Messages("template = 'user.promo'") {
		days[m.GetDateTime("created").Time().UTC().Format("2006-01-02")] = true
	}

	type counts struct{ total, sent, failed, skipped, cancelled, opened, clicked float64 }
	read := func() map[string]counts {
		res := shop.MustDo(200, "GET", "/api/collections/notifyStats/records?perPage=100&filter="+url.QueryEscape("template = 'user.promo'"), admin, nil)
		got := map[string]counts{}
		for _, it := range res.JSON()["items"].([]any) {
			row := it.(map[string]any)
			if !days[row["day"].(string)] || row["variant"] != "" || row["rule"] != "" {
				t.Errorf("row %v: want day in %v, no variant, no rule", row, days)
			}
			c := got[row["channel"].(string)]
			c.total += row["total"].(float64)
			c.sent += row["sent"].(float64)
			c.failed += row["failed"].(float64)
			c.skipped += row["skipped"].(float64)
			c.cancelled += row["cancelled"].(float64)
			c.opened += row["opened"].(float64)
			c.clicked += row["clicked"].(float64)
			got[row["channel"].(string)] = c
		}
		return got
	}
	want := map[string]counts{
		// anna sent+clicked, bob sent, carl skipped (marketing off), dave cancelled
		"email": {total: 4, sent: 2, skipped: 1, cancelled: 1, opened: 1, clicked: 1},
		// three sent, bob's read
		"inbox": {total: 3, sent: 3, opened: 1},
	}
	if got := read(); len(got) != len(want) || got["email"] != want["email"] || got["inbox"] != want["inbox"] {
		t.Errorf("notifyStats = %+v; want %+v", got, want)
	}

	t.Run("an upgrade counts the messages already logged", func(t *testing.T) {
		for _, q := range []string{"DROP TRIGGER _notifyStatsDaily_insert", "DROP TRIGGER _notifyStatsDaily_update_same",
			"DROP TRIGGER _notifyStatsDaily_update_moved", "DROP TRIGGER _notifyStatsDaily_delete", "DROP TABLE _notifyStatsDaily"} {
			if _, err := shop.App.DB().NewQuery(q).Execute(); err != nil {
				t.Fatal(err)
			}
		}
		if err := notify.InstallCollections(shop.App, "users"); err != nil {
			t.Fatal(err)
		}
		if got := read(); got["email"] != want["email"] || got["inbox"] != want["inbox"] {
			t.Errorf("notifyStats after reinstall = %+v; want %+v", got, want)
		}
	})
	t.Run("an upgrade replaces the earlier update trigger", func(t *testing.T) {
		// The first version counted every update with one trigger; left
		// beside the two that replace it, it would count each send twice.
		if _, err := shop.App.DB().NewQuery(`CREATE TRIGGER _notifyStatsDaily_update AFTER UPDATE ON notifyMessages BEGIN
			UPDATE _notifyStatsDaily SET total = total + 1000; END`).Execute(); err != nil {
			t.Fatal(err)
		}
		if err := notify.InstallCollections(shop.App, "users"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := shop.App.DB().NewQuery("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = '_notifyStatsDaily_update'").Row(&n); err != nil || n != 0 {
			t.Fatalf("the earlier update trigger after an upgrade: %d left (%v); want it dropped", n, err)
		}
	})
	t.Run("a deleted message is no longer counted", func(t *testing.T) {
		if err := shop.App.Delete(reload(t, shop, bobInbox)); err != nil {
			t.Fatal(err)
		}
		if got, w := read()["inbox"], (counts{total: 2, sent: 2}); got != w {
			t.Errorf("inbox stats after deleting Bob's read message = %+v; want %+v", got, w)
		}
	})

	t.Run("superusers only", func(t *testing.T) {
		for _, path := range []string{"/api/collections/notifyStats/records", "/api/collections/notifyStats/records/x"} {
			if res := shop.Do("GET", path, anna.Token, nil); res.Status == 200 {
				t.Errorf("a customer GET %s = 200 %s", path, res.Body)
			}
			if res := shop.Do("GET", path, "", nil); res.Status == 200 {
				t.Errorf("anyone GET %s = 200 %s", path, res.Body)
			}
		}
	})
}

func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	createPromo(t, shop, "", "Sale")
	ivan := shop.SignUpVerified("Иван", "ivan@example.org", "ru")

	sendPromo(t, shop, ivan.ID, notify.CategoryMarketing, 0, "email")
	m := emailTo(t, shop, "ivan@example.org", "Sale")
	header := m.Header("List-Unsubscribe")
	link := strings.TrimSuffix(strings.TrimPrefix(header, "<"), ">")
	if !strings.HasPrefix(header, "<"+shopURL+tracking.UnsubscribePath) || !strings.HasSuffix(header, ">") || m.Header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe = %q, List-Unsubscribe-Post = %q; want the signed address and One-Click", header, m.Header("List-Unsubscribe-Post"))
	}
	if !strings.Contains(hrefsJoined(part(t, m, "text/html")), link) || !strings.Contains(part(t, m, "text/plain"), link) {
		t.Errorf("the footer lacks the unsubscribe link %s", link)
	}
	if strings.Contains(part(t, m, "text/html"), "<img") {
		t.Errorf("an open pixel with open tracking off")
	}

	t.Run("transactional and security emails carry none", func(t *testing.T) {
		welcome := emailTo(t, shop, "ivan@example.org", "Добро пожаловать")
		if h := welcome.Headers(); strings.Contains(h, "List-Unsubscribe") || strings.Contains(part(t, welcome, "text/plain"), tracking.UnsubscribePath) {
			t.Errorf("a transactional email carries unsubscribe:\n%s", h)
		}
	})

	prefs := func() string {
		u, err := shop.App.FindRecordById("users", ivan.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.GetString("notifyPrefs")
	}
	t.Run("GET shows the page and changes nothing", func(t *testing.T) {
		res := follow(t, shop, "GET", link, nil)
		body := readBody(t, res)
		if res.StatusCode != 200 || !strings.Contains(body, `lang="ru"`) || !strings.Contains(body, "Отписаться") || !strings.Contains(body, `data-state="on"`) {
			t.Errorf("GET = %d:\n%s", res.StatusCode, body)
		}
		if p := prefs(); strings.Contains(p, "false") {
			t.Errorf("a GET changed the preferences: %s", p)
		}
	})
	t.Run("POST turns marketing email off", func(t *testing.T) {
		res := follow(t, shop, "POST", link, url.Values{"List-Unsubscribe": {"One-Click"}})
		body := readBody(t, res)
		if res.StatusCode != 200 || !strings.Contains(body, "Вы больше не будете получать") || !strings.Contains(body, `name="undo"`) {
			t.Errorf("POST = %d:\n%s", res.StatusCode, body)
		}
		if p := prefs(); p != `{"email":{"marketing":false}}` {
			t.Errorf("notifyPrefs = %s; want marketing off on email", p)
		}
	})
	t.Run("the next marketing email is not sent", func(t *testing.T) {
		before := len(emailsTo(shop, "ivan@example.org", "Sale"))
		if err := notify.Send(shop.App, notify.Message{User: ivan.ID, Template: "user.promo", Channels: []string{"email"}, Category: notify.CategoryMarketing, DedupeKey: "second"}); err != nil {
			t.Fatal(err)
		}
		// Send queues nothing on a channel the customer turned off (a
		// rule's message would be skipped): no row can go out later.
		if rows := shop.Messages("template = 'user.promo' && status != 'skipped'"); len(rows) != 1 {
			t.Errorf("%d promo messages that may go out; want only the first", len(rows))
		}
		if n := len(emailsTo(shop, "ivan@example.org", "Sale")); n != before {
			t.Errorf("%d promo emails after unsubscribing; want %d", n, before)
		}
	})
	t.Run("undo", func(t *testing.T) {
		res := follow(t, shop, "POST", link, url.Values{"undo": {"1"}})
		if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, `data-state="on"`) {
			t.Errorf("undo = %d:\n%s", res.StatusCode, body)
		}
		if p := prefs(); p != `{"email":{"marketing":true}}` {
			t.Errorf("notifyPrefs = %s after undo; want marketing on", p)
		}
	})
	t.Run("tokens not the shop's answer 404", func(t *testing.T) {
		tok := strings.TrimPrefix(link, shopURL+tracking.UnsubscribePath)
		b := []byte(tok)
		b[len(b)/2] ^= 0x01
		for name, bad := range map[string]string{
			"altered":    string(b),
			"garbage":    "abc",
			"click kind": strings.TrimPrefix(hrefs(part(t, m, "text/html"))[0], shopURL+"/r/"),
		} {
			for _, method := range []string{"GET", "POST"} {
				wantNotFound(t, follow(t, shop, method, shopURL+tracking.UnsubscribePath+bad, nil), method+" "+name)
			}
		}
		if p := prefs(); p != `{"email":{"marketing":true}}` {
			t.Errorf("a refused token changed the preferences: %s", p)
		}
	})
}

func hrefsJoined(doc string) string { return strings.Join(hrefs(doc), "\n") }

func TestOpenTracking(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{TrackOpens: true}, FakeClock: true})
	createPromo(t, shop, "", "Sale")
	anna := shop.SignUpVerified("Anna", "anna@example.org", "en")
	sendPromo(t, shop, anna.ID, notify.CategoryService, 0, "email")
	msg := shop.WaitMessage("template = 'user.promo'", nil, notify.StatusSent)
	m := emailTo(t, shop, "anna@example.org", "Sale")
	img := regexp1(`<img src="([^"]+)" width="1" height="1"`, part(t, m, "text/html"))
	if !strings.HasPrefix(img, shopURL+"/r/") {
		t.Fatalf("no open pixel in %s", part(t, m, "text/html"))
	}
	if !reload(t, shop, msg).GetDateTime("openedAt").IsZero() {
		t.Fatalf("openedAt set before the image was fetched")
	}
	res := follow(t, shop, "GET", img, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" {
		t.Errorf("pixel = %d %s; want 200 image/gif", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if got := reload(t, shop, msg).GetDateTime("openedAt"); got.IsZero() || !reload(t, shop, msg).GetDateTime("clickedAt").IsZero() {
		t.Errorf("openedAt = %v, clickedAt = %v; want an open and no click", got, reload(t, shop, msg).GetDateTime("clickedAt"))
	}
	if m.Header("List-Unsubscribe") == "" {
		t.Errorf("a service email without List-Unsubscribe")
	}
}

func TestABVariantsAreStickyAndBothUsed(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	createPromo(t, shop, "", "Sale A")
	createPromo(t, shop, "B", "Sale B")
	if res := shop.Do("POST", "/api/collections/"+notify.TemplatesCollection+"/records", admin, promoTemplate("B", "Sale B again")); res.Status != 400 {
		t.Errorf("a second variant B of the same key and locale = %d; want 400", res.Status)
	}

	users, err := shop.App.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 20 {
		u := core.NewRecord(users)
		u.SetEmail("ab" + string(rune('a'+i)) + "@example.org")
		u.SetPassword("password123")
		u.Set("name", "AB")
		u.Set("locale", "en")
		u.SetVerified(true) // the unverified-address cap is not what this tests
		if err := shop.App.Save(u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.Id)
	}
	for round := range 2 {
		for _, id := range ids {
			if err := notify.Send(shop.App, notify.Message{User: id, Template: "user.promo", Channels: []string{"email"},
				Category: notify.CategoryService, DedupeKey: "round" + string(rune('0'+round))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]int{}
	for _, id := range ids {
		var variants []string
		for _, m := range shop.Messages("template = 'user.promo' && user = {:u}", map[string]any{"u": id}) {
			m = shop.WaitMessage("id = {:id}", map[string]any{"id": m.Id}, notify.StatusSent)
			variants = append(variants, m.GetString("variant"))
			if want := map[string]string{"": "Sale A", "B": "Sale B"}[m.GetString("variant")]; m.GetString("subject") != want {
				t.Errorf("message %s: variant %q, subject %q; want %q", m.Id, m.GetString("variant"), m.GetString("subject"), want)
			}
		}
		if len(variants) != 2 || variants[0] != variants[1] {
			t.Errorf("user %s got variants %q; want the same one twice", id, variants)
		}
		seen[variants[0]]++
	}
	if seen[""] == 0 || seen["B"] == 0 {
		t.Errorf("variants over 20 customers = %v; want both", seen)
	}
}

func TestTemplatesIndexUpgrade(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true})
	coll, err := shop.App.FindCollectionByNameOrId(notify.TemplatesCollection)
	if err != nil {
		t.Fatal(err)
	}
	// A shop installed before variants: the old unique (key, locale).
	coll.RemoveIndex(tracking.TemplatesIndex)
	coll.AddIndex(tracking.OldTemplatesIndex, true, "`key`, `locale`", "")
	if err := shop.App.Save(coll); err != nil {
		t.Fatal(err)
	}
	if err := notify.InstallCollections(shop.App, "users"); err != nil {
		t.Fatal(err)
	}
	coll, _ = shop.App.FindCollectionByNameOrId(notify.TemplatesCollection)
	idx := strings.Join(coll.Indexes, "\n")
	if strings.Contains(idx, tracking.OldTemplatesIndex+"`") || !strings.Contains(idx, tracking.TemplatesIndex) {
		t.Fatalf("indexes after the upgrade:\n%s", idx)
	}
	orig, err := shop.App.FindFirstRecordByFilter(coll, "key = 'order.shipped' && locale = 'en'", dbx.Params{})
	if err != nil {
		t.Fatal(err)
	}
	b := core.NewRecord(coll)
	for _, f := range []string{"key", "locale", "subject", "html", "text", "telegram", "pushTitle", "pushBody", "pushUrl"} {
		b.Set(f, orig.Get(f))
	}
	b.Set("variant", "B")
	if err := shop.App.Save(b); err != nil {
		t.Errorf("a variant B after the upgrade: %v", err)
	}
}

func TestEscalationStopsOnAClick(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	rules, err := shop.App.FindRecordsByFilter(notify.RulesCollection, "template = 'order.created'", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		r.Set("active", false)
		if err := shop.App.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	shop.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, map[string]any{
		"name": "Email, then inbox if not clicked", "active": true, "collection": "orders", "event": "create",
		"mode": "escalate", "escalateAfter": "30m",
		"recipient": "customer", "template": "order.created", "channels": []string{"email", "inbox"}, "category": "transactional",
	})
	clicker := shop.SignUpVerified("Anna", "anna@example.org", "en")
	ignorer := shop.SignUpVerified("Boris", "boris@example.org", "en")
	for _, c := range []shoptest.Customer{clicker, ignorer} {
		placeOrder(t, shop, c)
	}
	m := emailTo(t, shop, "anna@example.org", "#")
	emailTo(t, shop, "boris@example.org", "#")
	var signed string
	for _, h := range hrefs(part(t, m, "text/html")) {
		if strings.HasPrefix(h, shopURL+"/r/") {
			signed = h
		}
	}
	resolve(t, shop, signed)
	shop.Clock.Advance(31 * time.Minute)
	step := func(c shoptest.Customer) *core.Record {
		return shop.WaitMessage("user = {:u} && channel = 'inbox' && rule.name = 'Email, then inbox if not clicked'", map[string]any{"u": c.ID}, notify.StatusCancelled, notify.StatusSent)
	}
	if got := step(ignorer); got.GetString("status") != notify.StatusSent {
		t.Errorf("Boris's inbox step = %s; want sent", got.GetString("status"))
	}
	if got := step(clicker); got.GetString("status") != notify.StatusCancelled {
		t.Errorf("Anna's inbox step = %s %q; want cancelled: she clicked the email", got.GetString("status"), got.GetString("error"))
	}
}
