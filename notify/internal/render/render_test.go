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
		SMS:       "Order {{.Record.number}} paid, thank you",
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
	const all = "subject html text telegram pushTitle pushBody pushUrl sms"
	for _, tc := range []struct {
		channel string
		fields  string // the fields that come out non-empty
		layout  bool   // the HTML is a whole document in the shop's layout
	}{
		{channels.Email, "subject html text", true},
		{channels.Telegram, "subject telegram pushUrl", false},
		{channels.WebPush, "pushTitle pushBody pushUrl", false},
		{channels.Inbox, "pushTitle pushBody pushUrl", false},
		{"sms", "sms", false},
		{"webhook", "subject text pushUrl", false},
		{"fax", all, false}, // a channel an app registered, without a list of its own
		{All, all, true},
	} {
		r, err := tpl.Render(testView(), tc.channel)
		if err != nil {
			t.Errorf("Render(%q): %v", tc.channel, err)
			continue
		}
		got := map[string]string{
			"subject": r.Subject, "html": r.HTML, "text": r.Text, "telegram": r.Telegram,
			"pushTitle": r.PushTitle, "pushBody": r.PushBody, "pushUrl": r.PushURL, "sms": r.SMS,
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

// TestFieldErrors checks that a broken field is reported by name, by
// Compile or by Render, and only to a channel that uses it: a broken
// Telegram field fails Telegram, not email.
func TestFieldErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Source)
		channel string
		field   string // the field reported; "" for no error
	}{
		{"parse", func(s *Source) { s.PushBody = "{{.Record.number" }, channels.WebPush, FieldPushBody},
		{"missing key", func(s *Source) { s.Telegram = "{{.Record.nosuchfield}}" }, channels.Telegram, FieldTelegram},
		{"other channel's field", func(s *Source) { s.Telegram = "{{.Record.nosuchfield}}" }, channels.Email, ""},
		{"link scheme", func(s *Source) { s.PushURL = "javascript:alert(1)" }, channels.WebPush, FieldPushURL},
	} {
		src := testSource()
		tc.edit(&src)
		tpl, err := Compile(src)
		if err == nil {
			_, err = tpl.Render(testView(), tc.channel)
		}
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: Render(%q) = %v; want no error", tc.name, tc.channel, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%s: Render(%q) = %v; want a *FieldError on %s", tc.name, tc.channel, err, tc.field)
		}
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
