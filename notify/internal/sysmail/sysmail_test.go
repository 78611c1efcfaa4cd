package sysmail_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"github.com/pbnotify/pbnotify/notify/internal/sysmail"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestLink(t *testing.T) {
	const token = "eyJ.abc-_1.sig"
	fallback := "https://pb.example/_/#/auth/confirm-password-reset/" + token
	for _, tc := range []struct {
		name string
		html string // what PocketBase rendered from the collection's template
		want string
	}{
		{"PocketBase's default", `<a class="btn" href="https://pb.example/_/#/auth/confirm-password-reset/` + token + `" target="_blank">Reset</a>`, fallback},
		{"the shop's own page, escaped query", `<a href="https://shop.example/reset?token=` + token + `&amp;lang=ru">x</a>`, "https://shop.example/reset?token=" + token + "&lang=ru"},
		{"single quotes, other links first", `<a href="https://shop.example/">home</a> <A HREF='https://shop.example/#/reset/` + token + `'>x</A>`, "https://shop.example/#/reset/" + token},
		{"no link with the token", `<a href="https://shop.example/">home</a> ` + token, fallback},
		{"no html", ``, fallback},
	} {
		if got := sysmail.Link(tc.html, token, fallback); got != tc.want {
			t.Errorf("%s: Link(%q) = %q; want %q", tc.name, tc.html, got, tc.want)
		}
	}
	if got := sysmail.Link(`<a href="https://x/">`, "", fallback); got != fallback {
		t.Errorf("Link with no token = %q; want the fallback (any link contains the empty string)", got)
	}
}

func TestParseAlertInfo(t *testing.T) {
	for _, tc := range []struct {
		info string
		want sysmail.AlertInfo
	}{
		{"2026-03-05 10:00:00.000Z - 203.0.113.7 Mozilla/5.0 (X11; Linux) Firefox/130",
			sysmail.AlertInfo{At: "2026-03-05 10:00:00.000Z", IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux) Firefox/130"}},
		// PocketBase escapes the info before the hook sees it.
		{"2026-03-05 10:00:00.000Z - ::1 &lt;script&gt; &amp; co",
			sysmail.AlertInfo{At: "2026-03-05 10:00:00.000Z", IP: "::1", UserAgent: "<script> & co"}},
		{"2026-03-05 10:00:00.000Z - 10.0.0.1 ", sysmail.AlertInfo{At: "2026-03-05 10:00:00.000Z", IP: "10.0.0.1"}},
		{"something else", sysmail.AlertInfo{UserAgent: "something else"}},
	} {
		if got := sysmail.ParseAlertInfo(tc.info); got != tc.want {
			t.Errorf("ParseAlertInfo(%q) = %+v; want %+v", tc.info, got, tc.want)
		}
	}
}

// messages makes a minimal notifyMessages table for the triggers.
func messages(t *testing.T, app core.App) {
	t.Helper()
	_, err := app.DB().NewQuery(`CREATE TABLE {{notifyMessages}} ([[id]] TEXT PRIMARY KEY, [[status]] TEXT, [[data]] JSON, [[sentAt]] TEXT)`).Execute()
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, app core.App) int {
	t.Helper()
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM {{" + sysmail.Table + "}}").Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPutRevealMaskForget(t *testing.T) {
	app, _ := pbtest.NewApp(t)
	messages(t, app)
	now := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	secret := map[string]string{"token": "tok.en-1", "link": "https://shop.example/r?t=tok.en-1&x=1"}
	ref, err := sysmail.Put(app, secret, now.Add(30*time.Minute), now)
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"$data":{"minutes":30,"$secret":"` + ref + `"}}`
	if !sysmail.Requested(raw) || sysmail.Requested(`{"$data":{"minutes":30}}`) || sysmail.Requested(`{"$secret":"x"}`) {
		t.Errorf("Requested tells messages with a secret from others wrongly")
	}
	for _, id := range []string{"m1", "m2"} {
		_, err = app.DB().NewQuery(`INSERT INTO {{notifyMessages}} VALUES ({:id}, 'queued', {:data}, '')`).
			Bind(dbx.Params{"id": id, "data": raw}).Execute()
		if err != nil {
			t.Fatal(err)
		}
	}

	data := map[string]any{"minutes": 30.0, sysmail.RefKey: ref}
	s, err := sysmail.Reveal(app, data, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if data["token"] != "tok.en-1" || data["link"] != secret["link"] || data[sysmail.RefKey] != nil {
		t.Errorf("revealed data = %v; want the token and link in place of the reference", data)
	}
	subject, body := "Reset tok.en-1", "open https://shop.example/r?t=tok.en-1&x=1 or type tok.en-1"
	html := `<a href="https://shop.example/r?t=tok.en-1&amp;x=1">tok.en-1</a> ` + "tok.en-1"
	s.Mask(&subject, &body, &html)
	for _, got := range []string{subject, body, html} {
		if strings.Contains(got, "tok.en") {
			t.Errorf("masked %q still shows the token", got)
		}
	}
	if body != "open ••• or type •••" {
		t.Errorf("masked body = %q", body)
	}
	(*sysmail.Secret)(nil).Mask(&body) // messages without a secret

	// A message still queued (a retry) keeps it; one that leaves the
	// queue deletes it.
	app.DB().NewQuery(`UPDATE {{notifyMessages}} SET [[status]] = 'queued', [[sentAt]] = 'x' WHERE [[id]] = 'm1'`).Execute()
	if n := count(t, app); n != 1 {
		t.Fatalf("a retry deleted the secret (%d left)", n)
	}
	if _, err := app.DB().NewQuery(`UPDATE {{notifyMessages}} SET [[status]] = 'sent' WHERE [[id]] = 'm1'`).Execute(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, app); n != 0 {
		t.Errorf("a sent message left its secret (%d left)", n)
	}
	if _, err := sysmail.Reveal(app, map[string]any{sysmail.RefKey: ref}, now); !errors.Is(err, sysmail.ErrGone) {
		t.Errorf("Reveal after sending = %v; want ErrGone", err)
	}

	// Deleted, and expired.
	ref2, _ := sysmail.Put(app, map[string]string{"code": "12345678"}, now.Add(3*time.Minute), now)
	app.DB().NewQuery(`UPDATE {{notifyMessages}} SET [[data]] = {:d} WHERE [[id]] = 'm2'`).Bind(dbx.Params{"d": `{"$data":{"$secret":"` + ref2 + `"}}`}).Execute()
	app.DB().NewQuery(`DELETE FROM {{notifyMessages}} WHERE [[id]] = 'm2'`).Execute()
	if n := count(t, app); n != 0 {
		t.Errorf("a deleted message left its secret (%d left)", n)
	}
	ref3, _ := sysmail.Put(app, map[string]string{"code": "87654321"}, now.Add(3*time.Minute), now)
	if _, err := sysmail.Reveal(app, map[string]any{sysmail.RefKey: ref3}, now.Add(4*time.Minute)); !errors.Is(err, sysmail.ErrGone) {
		t.Errorf("Reveal of an expired code = %v; want ErrGone", err)
	}
	if _, err := sysmail.Put(app, map[string]string{"code": "1"}, now.Add(time.Hour), now.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, app); n != 1 {
		t.Errorf("Put kept %d secrets; want the expired one deleted", n)
	}
	if s, err := sysmail.Reveal(app, map[string]any{"x": 1}, now); s != nil || err != nil {
		t.Errorf("Reveal without a reference = %v, %v; want nil, nil", s, err)
	}
}
