package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels"
)

// testSource is a template whose every field shows something of the view.
func testSource() Source {
	return Source{
		Key: "order.paid", Locale: "en",
		Subject:   "Order {{.Record.number}} paid",
		HTML:      "<p>Order {{.Record.number}} for {{.User.Name}}</p>",
		Text:      "Order {{.Record.number}}",
		Telegram:  "<b>Order {{.Record.number}}</b>",
		PushTitle: "Paid",
		PushBody:  "Order {{.Record.number}}",
		PushURL:   "/#/orders/{{.Record.id}}",
	}
}

func testView() *View {
	return &View{
		Shop:   Shop{Name: "Tea Shop", URL: "https://shop.example"},
		User:   Recipient{ID: "u1", Name: "Anna <b>", Locale: "en"},
		Record: map[string]any{"id": "o1", "number": 1001},
		Expand: map[string]map[string]any{},
		Locale: "en",
	}
}

// TestRenderChannelFields checks that a channel renders only the fields it
// uses, that a channel the table does not list (an app's own, e.g. "sms")
// renders every field, and that the email layout runs only for email and
// for All.
func TestRenderChannelFields(t *testing.T) {
	tpl, err := Compile(testSource())
	if err != nil {
		t.Fatal(err)
	}
	const all = "subject html text telegram pushTitle pushBody pushUrl"
	for _, tc := range []struct {
		channel string
		fields  string // the fields that come out non-empty
		layout  bool   // the HTML is a whole document in the shop's layout
	}{
		{channels.Email, "subject html text", true},
		{channels.Telegram, "subject telegram pushUrl", false},
		{channels.WebPush, "pushTitle pushBody pushUrl", false},
		{channels.Inbox, "pushTitle pushBody pushUrl", false},
		{"sms", all, false},
		{All, all, true},
	} {
		r, err := tpl.Render(testView(), tc.channel)
		if err != nil {
			t.Errorf("Render(%q): %v", tc.channel, err)
			continue
		}
		got := map[string]string{
			"subject": r.Subject, "html": r.HTML, "text": r.Text, "telegram": r.Telegram,
			"pushTitle": r.PushTitle, "pushBody": r.PushBody, "pushUrl": r.PushURL,
		}
		var nonEmpty []string
		for _, f := range strings.Fields(all) {
			if got[f] != "" {
				nonEmpty = append(nonEmpty, f)
			}
		}
		if s := strings.Join(nonEmpty, " "); s != tc.fields {
			t.Errorf("Render(%q) filled %q; want %q", tc.channel, s, tc.fields)
		}
		if layout := strings.Contains(r.HTML, "<!DOCTYPE html>"); layout != tc.layout {
			t.Errorf("Render(%q) HTML in layout = %v; want %v:\n%s", tc.channel, layout, tc.layout, r.HTML)
		}
		if r.HTML != "" && !strings.Contains(r.HTML, "Anna &lt;b&gt;") {
			t.Errorf("Render(%q) HTML = %q; want the user's name escaped", tc.channel, r.HTML)
		}
		if r.PushURL != "" && r.PushURL != "https://shop.example/#/orders/o1" {
			t.Errorf("Render(%q) PushURL = %q; want it absolute on the shop's URL", tc.channel, r.PushURL)
		}
	}
}

// TestRenderSkipsOtherChannelsFields checks that a field a channel does not
// use is not executed: a broken Telegram field fails Telegram, not email.
func TestRenderSkipsOtherChannelsFields(t *testing.T) {
	src := testSource()
	src.Telegram = "{{.Record.nosuchfield}}"
	tpl, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Render(testView(), channels.Email); err != nil {
		t.Errorf("Render(email) = %v; want no error from the telegram field", err)
	}
	_, err = tpl.Render(testView(), channels.Telegram)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != FieldTelegram {
		t.Errorf("Render(telegram) = %v; want a *FieldError on telegram", err)
	}
}

func TestCompileReportsField(t *testing.T) {
	src := testSource()
	src.PushBody = "{{.Record.number"
	_, err := Compile(src)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != FieldPushBody {
		t.Errorf("Compile = %v; want a *FieldError on pushBody", err)
	}
}

func TestRenderRefusesBadPushURL(t *testing.T) {
	src := testSource()
	src.PushURL = "javascript:alert(1)"
	tpl, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(testView(), channels.WebPush)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != FieldPushURL {
		t.Errorf("Render = %v; want a *FieldError on pushUrl", err)
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	src := testSource()
	src.Subject = "{{.User.Name}}"
	tpl, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	v := testView()
	v.User.Name = "Anna\r\nBcc: victim@example.org"
	r, err := tpl.Render(v, channels.Email)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("Subject = %q; want CR/LF folded", r.Subject)
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		locale   string
		amount   float64
		currency string
		want     string
	}{
		{"ru", 1234.5, "RUB", "1\u00a0234,50\u00a0₽"},
		{"en", 1234.5, "RUB", "₽1,234.50"},
		{"en", 1000000, "usd", "$1,000,000"},
		{"en", -5, "CHF", "CHF\u00a0-5"},
		{"ru", 0.1, "XYZ", "0,10\u00a0XYZ"},
	} {
		if got := formatMoney(tc.locale, tc.amount, tc.currency); got != tc.want {
			t.Errorf("formatMoney(%q, %v, %q) = %q; want %q", tc.locale, tc.amount, tc.currency, got, tc.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	for _, tc := range []struct {
		locale string
		v      any
		want   string
	}{
		{"ru", "2026-03-05 10:00:00.000Z", "5 марта 2026"},
		{"en", "2026-03-05 10:00:00.000Z", "5 March 2026"},
		{"en", "not a date", "not a date"},
	} {
		if got := formatDate(tc.locale, tc.v); got != tc.want {
			t.Errorf("formatDate(%q, %v) = %q; want %q", tc.locale, tc.v, got, tc.want)
		}
	}
}
