package templates_test

import (
	"fmt"
	"github.com/pbnotify/pbnotify/channels/sms"
	htmltemplate "html/template"
	"regexp"
	"slices"
	"strings"
	"testing"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"

	"github.com/pbnotify/pbnotify/templates"
)

var (
	wantKeys = []string{
		"order.created", "order.paid", "order.assembling", "order.shipped",
		"order.delivered", "order.cancelled", "order.returned",
		"payment.succeeded", "payment.failed", "payment.refunded",
		"user.created",
		"staff.order-created", "staff.payment-failed",
		"auth.password-changed", "auth.email-changed",
		"auth.verification", "auth.password-reset", "auth.email-change", "auth.otp", "auth.login-alert",
		"cart.abandoned", "order.review-request", "user.birthday-greeting", "staff.orders-digest",
	}
	wantLocales = []string{"en", "ru"}
	sections    = []string{"subject", "html", "text", "telegram", "pushTitle", "pushBody", "pushUrl", "sms"}
	// optionalSections may be left out of a template file.
	optionalSections = []string{"preheader"}
	// htmlSections are rendered with html/template; the rest with text/template.
	htmlSections = map[string]bool{"html": true, "telegram": true}
	// telegramTags are the tags the default templates may use in Telegram's
	// HTML parse mode.
	telegramTags = map[string]bool{"b": true, "i": true, "u": true, "s": true, "code": true, "pre": true, "a": true}
	tagRE        = regexp.MustCompile(`</?([a-z-]+)`)
	fullTagRE    = regexp.MustCompile(`<(/?)([a-z-]+)[^>]*>`)
)

// emailOnly are PocketBase's account emails that carry a link or a code:
// they go by email alone, so they have no section for any other channel,
// where a reset link must never go.
var (
	emailOnly     = []string{"auth.verification", "auth.password-reset", "auth.email-change", "auth.otp"}
	emailSections = []string{"subject", "html", "text"}
)

const (
	xss         = "<script>alert(1)</script>"
	orderID     = "ord0000000001"
	orderNumber = "1001"
	link        = "https://shop.example/#/orders/" + orderID
	// dashboardPath is where staff messages point: the order in the
	// PocketBase dashboard, which the storefront cannot show them.
	dashboardPath = "/_/#/collections?collection=orders&record=" + orderID
	// actionLink stands for a link PocketBase would have sent.
	actionLink = "https://shop.example/_/#/auth/confirm-password-reset/tok.en-1?a=1&b=2"
)

// funcs are stand-ins for the renderer's functions (money, date, default,
// plural, mul, sub, subtotal, itemCount, button, progress); html selects
// the html/template flavour of button.
func funcs(html bool) map[string]any {
	num := func(v any) float64 { f, _ := v.(float64); return f }
	items := func(v any) (out []map[string]any) {
		list, _ := v.([]any)
		for _, x := range list {
			out = append(out, x.(map[string]any))
		}
		return out
	}
	return map[string]any{
		"plural": func(n any, forms ...string) string {
			if num(n) == 1 {
				return forms[0]
			}
			return forms[len(forms)-1]
		},
		"mul": func(a, b any) float64 { return num(a) * num(b) },
		"sub": func(a, b any) float64 { return num(a) - num(b) },
		"subtotal": func(v any) (s float64) {
			for _, it := range items(v) {
				s += num(it["qty"]) * num(it["price"])
			}
			return s
		},
		"itemCount": func(v any) (n float64) {
			for _, it := range items(v) {
				n += num(it["qty"])
			}
			return n
		},
		"button": func(href any, label string) any {
			if html {
				return htmltemplate.HTML(`<a href="` + htmltemplate.HTMLEscapeString(fmt.Sprint(href)) + `">` + htmltemplate.HTMLEscapeString(label) + `</a>`)
			}
			return label + ": " + fmt.Sprint(href)
		},
		"progress": func(status any) string { return "progress:" + fmt.Sprint(status) },
		"money":    func(amount, currency any) string { return fmt.Sprintf("%v %v", amount, currency) },
		"date":     func(v any) string { return fmt.Sprint(v) },
		// datetime is the time engine's: the moment in the recipient's
		// timezone and language.
		"datetime": func(v any) string { return "at " + fmt.Sprint(v) },
		"default": func(def, v any) any {
			switch x := v.(type) {
			case nil:
				return def
			case string:
				if x == "" {
					return def
				}
			case float64:
				if x == 0 {
					return def
				}
			case bool:
				if !x {
					return def
				}
			}
			return v
		},
	}
}

func sampleOrder(full bool) map[string]any {
	o := map[string]any{
		"id":     orderID,
		"number": 1001.0,
		"status": "paid",
		"items": []any{
			map[string]any{"name": "Ceramic mug " + xss, "qty": 2.0, "price": 500.0},
			map[string]any{"name": "Green tea, 100 g", "qty": 1.0, "price": 1730.0},
		},
		"total":          2730.0,
		"currency":       "RUB",
		"trackingNumber": "RA123456789RU",
		"trackingUrl":    "https://www.pochta.ru/tracking#RA123456789RU",
		"address":        "Moscow, Tverskaya st. 1, apt. 2",
		"customer":       "usr0000000001",
		"created":        "2026-03-05 10:00:00.000Z",
		"updated":        "2026-03-06 12:30:00.000Z",
	}
	if !full {
		o["items"] = nil
		o["trackingNumber"] = ""
		o["trackingUrl"] = ""
		o["address"] = ""
	}
	return o
}

// family is what a template is about, from its key: "order", "payment"
// or "user"; staff is set for the staff alerts (staff.order-created is
// about an order, sent to a staff member).
func family(key string) (family string, staff bool) {
	if key == "staff.orders-digest" {
		return "digest", true
	}
	family, event, _ := strings.Cut(key, ".")
	if family == "staff" {
		family, _, _ = strings.Cut(event, "-")
		return family, true
	}
	return family, false
}

// sampleView builds the data a template of the given family (order,
// payment, user) receives. full=false leaves every optional value empty:
// no recipient name, no shop contacts, no link, no expanded order or
// customer.
func sampleView(family, locale string, full bool) map[string]any {
	userName := "Anna " + xss
	shop := map[string]any{
		"Name": "Test Shop", "URL": "https://shop.example", "Email": "hello@shop.example",
		"Phone": "+7 495 123-45-67", "Address": "Moscow, Tverskaya st. 1",
	}
	viewLink := link
	if !full {
		userName = ""
		shop = map[string]any{"Name": "", "URL": "", "Email": "", "Phone": "", "Address": ""}
		viewLink = ""
	}
	v := map[string]any{
		"Shop":   shop,
		"User":   map[string]any{"ID": "usr0000000001", "Name": userName, "Email": "anna@example.org", "Locale": locale},
		"Expand": map[string]any{},
		"Link":   viewLink,
		"Locale": locale,
	}
	switch family {
	case "order":
		v["Record"] = sampleOrder(full)
		if full {
			v["Expand"] = map[string]any{"customer": map[string]any{
				"id": "usr0000000001", "name": "Anna " + xss, "email": "anna@example.org",
				"phone": "+7 900 000-00-00", "locale": locale,
			}}
		}
	case "payment":
		reason := "Insufficient funds"
		if !full {
			reason = ""
		}
		v["Record"] = map[string]any{
			"id": "pay0000000001", "order": orderID, "amount": 2730.0, "currency": "RUB",
			"status": "failed", "provider": "yookassa", "providerRef": "2d8f-41c3",
			"failureReason": reason, "created": "2026-03-05 10:05:00.000Z",
		}
		if full {
			v["Expand"] = map[string]any{"order": sampleOrder(true)}
		}
	case "auth":
		// A security alert is sent with notify.Send: no record, its facts
		// in .Data.
		v["Record"] = map[string]any{}
		v["Data"] = map[string]any{
			"at": "2026-03-05 10:00:00.000Z", "oldEmail": "anna@example.org", "newEmail": "new" + xss + "@example.org",
			// PocketBase's account emails (notify/sysmail.go).
			"link": actionLink, "token": "tok.en-1", "code": "73914682", "otpId": "otp0000000001", "minutes": 30.0,
			"ip": "203.0.113.7", "userAgent": "Firefox " + xss,
		}
	case "cart":
		items := []any{
			map[string]any{"product": "sencha", "name": "Sencha " + xss, "qty": 2.0, "price": 590.0},
			map[string]any{"product": "assam", "name": "Assam Breakfast", "qty": 1.0, "price": 450.0},
		}
		if !full {
			items = []any{}
		}
		v["Record"] = map[string]any{
			"id": "crt0000000001", "customer": "usr0000000001", "items": items,
			"created": "2026-03-05 10:00:00.000Z", "updated": "2026-03-05 10:05:00.000Z",
		}
	case "digest":
		// A digest sees the triggering records, oldest first, and their
		// number; it is never sent for none.
		first, second := sampleOrder(full), sampleOrder(full)
		second["id"], second["number"], second["total"] = "ord0000000002", 1002.0, 590.0
		if full {
			second["address"] = "Kazan " + xss // a customer's words, escaped in HTML
		}
		items := []map[string]any{first, second}
		if !full {
			items = items[:1]
		}
		v["Record"] = second
		v["Items"] = items
		v["Count"] = len(items)
	case "user":
		v["Record"] = map[string]any{
			"id": "usr0000000001", "name": userName, "email": "anna@example.org",
			"phone": "+7 900 000-00-00", "locale": locale, "created": "2026-03-05 10:00:00.000Z",
		}
	}
	return v
}

// render parses and executes one section the way the plugin does.
func render(name, src string, data any) (string, error) {
	var b strings.Builder
	if htmlSections[name] {
		t, err := htmltemplate.New(name).Option("missingkey=error").Funcs(funcs(true)).Parse(src)
		if err != nil {
			return "", fmt.Errorf("parse: %w", err)
		}
		if err := t.Execute(&b, data); err != nil {
			return "", fmt.Errorf("execute: %w", err)
		}
		return b.String(), nil
	}
	t, err := texttemplate.New(name).Option("missingkey=error").Funcs(funcs(false)).Parse(src)
	if err != nil {
		return "", fmt.Errorf("parse: %w", err)
	}
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("execute: %w", err)
	}
	return b.String(), nil
}

func TestDefaultsComplete(t *testing.T) {
	defs, err := templates.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range defs {
		got[d.Locale+"/"+d.Key]++
	}
	for _, l := range wantLocales {
		for _, k := range wantKeys {
			switch n := got[l+"/"+k]; n {
			case 1:
			case 0:
				t.Errorf("missing template %s/%s", l, k)
			default:
				t.Errorf("template %s/%s appears %d times", l, k, n)
			}
			delete(got, l+"/"+k)
		}
	}
	for id := range got {
		t.Errorf("unexpected template %s", id)
	}
	if want := len(wantKeys) * len(wantLocales); len(defs) != want {
		t.Errorf("got %d templates, want %d", len(defs), want)
	}
}

func TestDefaultsRender(t *testing.T) {
	defs, err := templates.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		t.Run(d.Locale+"/"+d.Key, func(t *testing.T) {
			family, staff := family(d.Key)
			if !slices.Contains([]string{"order", "payment", "user", "auth", "cart", "digest"}, family) {
				t.Fatalf("unknown key family %q", family)
			}
			for name := range d.Fields {
				if !slices.Contains(sections, name) && !slices.Contains(optionalSections, name) {
					t.Errorf("unknown section %q", name)
				}
			}
			want := sections
			if slices.Contains(emailOnly, d.Key) {
				want = emailSections
				for name := range d.Fields {
					if !slices.Contains(emailSections, name) {
						t.Errorf("section %q: an email-only template carries its link or code by email alone", name)
					}
				}
			}
			for _, name := range want {
				if strings.TrimSpace(d.Fields[name]) == "" {
					t.Errorf("section %q is missing or empty", name)
				}
			}
			if t.Failed() {
				return
			}
			checkLanguage(t, d)
			for _, full := range []bool{true, false} {
				view := sampleView(family, d.Locale, full)
				out := map[string]string{}
				for _, name := range append(slices.Clone(want), optionalSections...) {
					if _, ok := d.Fields[name]; !ok && slices.Contains(optionalSections, name) {
						continue
					}
					s, err := render(name, d.Fields[name], view)
					if err != nil {
						t.Errorf("full=%v: %s: %v", full, name, err)
						continue
					}
					if strings.TrimSpace(s) == "" {
						t.Errorf("full=%v: %s renders empty", full, name)
					}
					if strings.Contains(s, "<no value>") {
						t.Errorf("full=%v: %s renders <no value>:\n%s", full, name, s)
					}
					out[name] = s
				}
				if t.Failed() {
					return
				}
				// An SMS is billed by the part: the defaults stay within
				// three even with a full order (a Russian part is 67 chars).
				if enc, n := sms.Segments(out["sms"]); out["sms"] != "" && n > 3 {
					t.Errorf("full=%v: sms is %d %s parts; want at most 3:\n%s", full, n, enc, out["sms"])
				}
				checkOutput(t, d, family, staff, full, out)
			}
		})
	}
}

func checkOutput(t *testing.T, d templates.Template, family string, staff, full bool, out map[string]string) {
	t.Helper()
	prefix := fmt.Sprintf("full=%v: ", full)

	for _, name := range []string{"subject", "preheader", "pushTitle", "pushBody", "pushUrl"} {
		if strings.ContainsAny(strings.TrimSpace(out[name]), "\r\n") {
			t.Errorf("%s%s spans several lines: %q", prefix, name, out[name])
		}
	}

	// Escaping: user data never reaches an HTML output as markup.
	for _, name := range []string{"html", "telegram"} {
		if strings.Contains(strings.ToLower(out[name]), "<script") {
			t.Errorf("%s%s contains an unescaped <script>:\n%s", prefix, name, out[name])
		}
		if strings.Contains(out[name], "ZgotmplZ") {
			t.Errorf("%s%s contains a value html/template rejected:\n%s", prefix, name, out[name])
		}
	}
	if full && !strings.Contains(out["html"], "&lt;script&gt;") {
		t.Errorf("%shtml does not show the (escaped) customer name:\n%s", prefix, out["html"])
	}
	if !full && strings.Contains(out["html"]+out["text"], ", !") {
		t.Errorf("%sgreeting with an empty name reads \", !\"", prefix)
	}

	// The html section is a body fragment with inline styles only.
	for _, bad := range []string{"<html", "<body", "<head", "<style", "<!doctype"} {
		if strings.Contains(strings.ToLower(out["html"]), bad) {
			t.Errorf("%shtml contains %s; the layout provides the document", prefix, bad)
		}
	}

	// Telegram HTML parse mode: only a few tags, properly nested.
	for _, m := range tagRE.FindAllStringSubmatch(out["telegram"], -1) {
		if !telegramTags[m[1]] {
			t.Errorf("%stelegram uses <%s>, which Telegram does not accept:\n%s", prefix, m[1], out["telegram"])
		}
	}
	var open []string
	for _, m := range fullTagRE.FindAllStringSubmatch(out["telegram"], -1) {
		if m[1] == "" {
			open = append(open, m[2])
			continue
		}
		if len(open) == 0 || open[len(open)-1] != m[2] {
			t.Errorf("%stelegram closes <%s> out of order:\n%s", prefix, m[2], out["telegram"])
			break
		}
		open = open[:len(open)-1]
	}
	if len(open) > 0 {
		t.Errorf("%stelegram leaves %v open", prefix, open)
	}

	if !full {
		return
	}
	// Facts every message of the family must carry.
	if family == "order" || family == "payment" {
		if !strings.Contains(out["subject"], orderNumber) {
			t.Errorf("subject %q does not name order %s", out["subject"], orderNumber)
		}
		for _, name := range []string{"html", "text", "telegram"} {
			if !strings.Contains(out[name], orderNumber) {
				t.Errorf("%s does not name order %s:\n%s", name, orderNumber, out[name])
			}
		}
		want := map[string]string{"html": link, "text": link}
		if staff {
			dashboard := "https://shop.example" + dashboardPath
			want = map[string]string{"html": strings.ReplaceAll(dashboard, "&", "&amp;"), "text": dashboard}
		}
		for name, l := range want {
			if !strings.Contains(out[name], l) {
				t.Errorf("%s does not link to the order %s:\n%s", name, l, out[name])
			}
		}
	} else {
		for _, name := range []string{"html", "text"} {
			if !strings.Contains(out[name], "https://shop.example") {
				t.Errorf("%s does not link to the shop:\n%s", name, out[name])
			}
		}
	}
	if slices.Contains(emailOnly, d.Key) {
		checkAccountEmail(t, d, out)
		return
	}
	wantURL := map[string]string{
		"order": "/#/orders/" + orderID, "payment": "/#/orders/" + orderID, "user": "/#/", "auth": "/#/settings",
		"cart": "/#/", "digest": "/#/today",
	}[family]
	if staff && family != "digest" {
		wantURL = dashboardPath
	}
	if got := strings.TrimSpace(out["pushUrl"]); got != wantURL {
		t.Errorf("pushUrl = %q, want %q", got, wantURL)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(out["pushTitle"])); n > 50 {
		t.Errorf("pushTitle is %d characters long (max 50): %q", n, out["pushTitle"])
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(out["pushBody"])); n > 120 {
		t.Errorf("pushBody is %d characters long (max 120): %q", n, out["pushBody"])
	}

	// Per-event facts.
	contains := func(name, want string) {
		t.Helper()
		if !strings.Contains(out[name], want) {
			t.Errorf("%s does not contain %q:\n%s", name, want, out[name])
		}
	}
	switch d.Key {
	case "auth.password-changed", "auth.email-changed":
		// What changed, when, and whom to tell if it was not them.
		for _, name := range []string{"html", "text", "telegram", "pushBody"} {
			contains(name, "2026-03-05") // the date stand-in prints its argument
		}
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "hello@shop.example")
		}
		if d.Key == "auth.email-changed" {
			for _, name := range []string{"html", "text"} {
				contains(name, "anna@example.org")
			}
			contains("text", "new"+xss+"@example.org")
			contains("html", "new&lt;script&gt;")
		}
	case "auth.login-alert":
		for _, name := range []string{"html", "text", "telegram", "pushBody", "sms"} {
			contains(name, "2026-03-05")
		}
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "203.0.113.7")
			contains(name, "hello@shop.example")
		}
		contains("text", "Firefox "+xss)
		contains("html", "Firefox &lt;script&gt;")
	case "order.created":
		// The email lists the items with line totals; Telegram is short:
		// the number, the status, the total (its button opens the order).
		for _, name := range []string{"html", "text"} {
			contains(name, "Green tea, 100 g")
			contains(name, "1730 RUB")
			contains(name, "1000 RUB") // the mug's line total: 2 × 500
			contains(name, "2730 RUB")
		}
		contains("telegram", "2730 RUB")
		contains("html", "<table")
	case "order.shipped":
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "RA123456789RU")
		}
		contains("html", `href="https://www.pochta.ru/tracking#RA123456789RU"`)
	case "payment.failed":
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "Insufficient funds")
		}
	case "staff.order-created":
		// "New order №1001 — 2 items, 2730 RUB, Anna, Moscow…"
		for _, name := range []string{"subject", "telegram", "pushTitle"} {
			contains(name, "№1001")
		}
		for _, name := range []string{"subject", "html", "text", "telegram", "pushTitle"} {
			contains(name, "2730 RUB")
		}
		for _, name := range []string{"subject", "html", "text", "telegram", "pushBody"} {
			contains(name, "Moscow, Tverskaya")
			contains(name, "Anna")
		}
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "Green tea, 100 g")
			contains(name, "7 900 000-00-00") // html/template writes the + as &#43;
		}
		contains("subject", map[string]string{"en": "2 items", "ru": "позиций: 2"}[d.Locale])
	case "staff.payment-failed":
		for _, name := range []string{"subject", "html", "text", "telegram", "pushBody"} {
			contains(name, "2730 RUB")
		}
		for _, name := range []string{"html", "text", "telegram", "pushBody"} {
			contains(name, "Insufficient funds")
		}
	case "cart.abandoned":
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "Assam Breakfast")
			contains(name, "× 2")
		}
		contains("html", "Sencha &lt;script&gt;")
		contains("html", `href="https://shop.example/#/"`)
	case "order.review-request":
		for _, name := range []string{"subject", "pushTitle", "sms"} {
			contains(name, orderNumber)
		}
	case "user.birthday-greeting":
		for _, name := range []string{"subject", "html", "text", "telegram"} {
			contains(name, "Anna")
		}
	case "staff.orders-digest":
		// "Orders in the last day: 2", each with its number and total.
		for _, name := range []string{"subject", "html", "text", "telegram", "pushTitle", "sms"} {
			contains(name, "2")
		}
		for _, name := range []string{"html", "text", "telegram", "pushBody"} {
			contains(name, "1001")
			contains(name, "1002")
		}
		for _, name := range []string{"html", "text", "telegram"} {
			contains(name, "2730 RUB")
			contains(name, "590 RUB")
		}
		for _, name := range []string{"html", "text"} {
			contains(name, "at 2026-03-05") // datetime, in the staff member's timezone
			contains(name, "https://shop.example/#/today")
		}
	case "payment.refunded":
		for _, name := range []string{"html", "text", "telegram", "pushBody"} {
			contains(name, "2730 RUB")
		}
	}
}

// checkLanguage makes sure each locale's file is written in its language.
func checkLanguage(t *testing.T, d templates.Template) {
	t.Helper()
	hasCyrillic := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) })
	}
	for name, src := range d.Fields {
		switch {
		case d.Locale == "en" && hasCyrillic(src):
			t.Errorf("en section %s contains Cyrillic text", name)
		case d.Locale == "ru" && name != "pushUrl" && !hasCyrillic(src):
			t.Errorf("ru section %s has no Russian text", name)
		}
	}
}

// checkAccountEmail checks what PocketBase's account emails must carry:
// the link (as a link and as text, for mail clients that drop buttons) or
// the code, and how long it works.
func checkAccountEmail(t *testing.T, d templates.Template, out map[string]string) {
	t.Helper()
	contains := func(name, want string) {
		t.Helper()
		if !strings.Contains(out[name], want) {
			t.Errorf("%s does not contain %q:\n%s", name, want, out[name])
		}
	}
	if d.Key == "auth.otp" {
		contains("html", "73914682")
		contains("text", "73914682")
	} else {
		escaped := strings.ReplaceAll(actionLink, "&", "&amp;")
		contains("html", `href="`+escaped+`"`)
		contains("html", escaped)
		contains("text", actionLink)
	}
	if d.Key != "auth.verification" {
		contains("html", "30")
		contains("text", "30")
	}
	if d.Key == "auth.email-change" {
		contains("text", "new"+xss+"@example.org")
		contains("html", "new&lt;script&gt;")
	}
	for _, name := range []string{"subject"} {
		if strings.Contains(out[name], "73914682") || strings.Contains(out[name], "tok.en-1") {
			t.Errorf("%s shows the secret, which lock screens show too: %q", name, out[name])
		}
	}
}
