package render

import (
	"strings"
	"testing"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

func TestCollections(t *testing.T) {
	app := newTestApp(t)
	names := func(cs []*core.Collection) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		key  string
		used []string // the collections of the rules using the template
		want string
	}{
		{"order.paid", nil, "orders"},
		{"payment.failed", []string{"orders", "payments", "orders"}, "orders payments"},
		{"payment.failed", []string{"deleted"}, "payments"},
		{"custom.thing", nil, ""},
	} {
		if got := names(Collections(app, tc.key, tc.used)); got != tc.want {
			t.Errorf("Collections(%q, %v) = %q; want %q", tc.key, tc.used, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	app := newTestApp(t)
	payments, err := app.FindCollectionByNameOrId("payments")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Source)
		field string // the field refused; "" when the template is fine
		msg   string // part of the message
	}{
		{"fine", func(s *Source) { s.Text = "{{.Expand.order.number}} {{money .Record.amount \"RUB\"}}" }, "", ""},
		{"parse", func(s *Source) { s.HTML = "{{if}}" }, "html", "does not parse"},
		{"missing key", func(s *Source) { s.PushBody = "{{.Record.nosuchfield}}" }, "pushBody", "does not render against a sample payments record"},
		{"bad link", func(s *Source) { s.PushURL = "ftp://x" }, "pushUrl", "not an http(s) URL"},
		// Lock-screen limits, measured after rendering (the sample amount is
		// "1234.5", 6 characters).
		{"push title at the limit", func(s *Source) { s.PushTitle = strings.Repeat("x", PushTitleMax-6) + "{{.Record.amount}}" }, "", ""},
		{"push title too long", func(s *Source) { s.PushTitle = strings.Repeat("x", PushTitleMax-5) + "{{.Record.amount}}" }, "pushTitle", "renders to 51 characters"},
		{"push body at the limit", func(s *Source) { s.PushBody = strings.Repeat("я", PushBodyMax) }, "", ""},
		{"push body too long", func(s *Source) { s.PushBody = strings.Repeat("я", PushBodyMax+1) }, "pushBody", "keep it at most 120"},
		{"preheader", func(s *Source) { s.Preheader = "{{.Record.nosuchfield}}" }, "preheader", "does not render"},
	} {
		src := Source{Key: "payment.failed", Locale: "en", Subject: "Payment", HTML: "<p>{{.Record.amount}}</p>",
			Text: "Paid", Telegram: "Paid", PushTitle: "Paid", PushBody: "Paid", PushURL: "/x"}
		tc.edit(&src)
		err := Validate(app, src, []*core.Collection{payments}, Shop{Name: "Tea Shop"})
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: Validate = %v; want nil", tc.name, err)
			}
			continue
		}
		errs, ok := err.(validation.Errors)
		if !ok || errs[tc.field] == nil || !strings.Contains(errs[tc.field].Error(), tc.msg) {
			t.Errorf("%s: Validate = %v; want %s refused with %q", tc.name, err, tc.field, tc.msg)
		}
	}
}
