package render

import (
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The email layout: one single-column document around every template's
// HTML, branded with the shop's logo (or its name as a wordmark), accent
// colour and contacts. Its look lives in layoutCSS, addressed by class;
// wrapHTML inlines every plain rule into style attributes (inline.go), so
// a client that strips <style> (Gmail's app for non-Google accounts, many
// webmails) still shows the same structure and colours. Only what cannot
// be inline stays in <style>: the phone-width and dark-mode media queries.

//go:embed layout.html
var layoutSource string

var layoutTemplate = htmltemplate.Must(htmltemplate.New("layout").Option("missingkey=error").Parse(layoutSource))

// DefaultAccent is the brand colour when the shop has none: PocketBase's
// own default accent.
const DefaultAccent = "#1055c9"

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// accentOf returns the shop's accent when it is a valid "#rrggbb" colour,
// else DefaultAccent: the value goes into CSS, so nothing else may pass.
func accentOf(s Shop) string {
	if hexColor.MatchString(s.Accent) {
		return strings.ToLower(s.Accent)
	}
	return DefaultAccent
}

// layoutCSS is the layout's style sheet. ACCENT, ON_ACCENT (the text colour
// readable on the accent) and ACCENT_DARK (the accent lightened for links
// on a dark background) are filled in per shop. Classes are the layout's
// vocabulary; templates may use them too (items, num, muted, total, note,
// btn via the button function, progress via the progress function), and
// they are inlined like the layout's own.
const layoutCSS = `
.body{margin:0;padding:0;width:100%;background-color:#f4f4f5;color:#18181b;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;-webkit-text-size-adjust:100%;text-size-adjust:100%}
.page{background-color:#f4f4f5;border-collapse:collapse}
.page-cell{padding:24px 12px}
.card{width:100%;max-width:600px;background-color:#ffffff;border-collapse:separate;border-top:4px solid ACCENT;border-radius:8px}
.header{padding:20px 28px 12px 28px;text-align:left}
.header-logo{background-color:#ffffff}
.logo{display:block;height:40px;width:auto;max-width:220px;border:0;outline:none;text-decoration:none}
.wordmark{font-size:22px;line-height:28px;font-weight:700;color:#18181b;text-decoration:none}
.plain{text-decoration:none;border:0}
.content{padding:12px 28px 24px 28px;font-size:16px;line-height:1.55;color:#18181b;word-wrap:break-word;overflow-wrap:break-word}
.help{padding:16px 28px;border-top:1px solid #e4e4e7;font-size:14px;line-height:1.5;color:#3f3f46}
.help-p{margin:0}
.footer{padding:16px 28px 24px 28px;border-top:1px solid #e4e4e7;font-size:12px;line-height:1.5;color:#71717a}
.footer-link{color:#71717a;text-decoration:underline}
.link{color:ACCENT;text-decoration:underline}
.nowrap{white-space:nowrap}
p{margin:0 0 14px 0}
a{color:ACCENT}
h1{margin:0 0 12px 0;font-size:22px;line-height:1.3;font-weight:700;color:#18181b}
.muted{color:#71717a}
.note{margin:16px 0;padding:12px 14px;background-color:#f4f4f5;border-radius:6px;font-size:15px;line-height:1.5}
.items{width:100%;border-collapse:collapse;margin:8px 0 16px 0;font-size:15px;line-height:1.4}
.item{padding:10px 0;border-bottom:1px solid #e4e4e7;vertical-align:top}
.item-meta{display:block;color:#71717a;font-size:13px}
.num{padding:10px 0 10px 12px;border-bottom:1px solid #e4e4e7;text-align:right;white-space:nowrap;vertical-align:top}
.sum{padding:6px 0;color:#3f3f46}
.sum-num{padding:6px 0 6px 12px;text-align:right;white-space:nowrap;color:#3f3f46}
.total{padding:10px 0;font-weight:700;font-size:17px;border-top:2px solid #18181b}
.total-num{padding:10px 0 10px 12px;text-align:right;white-space:nowrap;font-weight:700;font-size:17px;border-top:2px solid #18181b}
.btn-table{margin:20px 0;border-collapse:separate}
.btn-cell{background-color:ACCENT;border-radius:6px;text-align:center}
.btn{display:inline-block;padding:13px 26px;font-size:16px;line-height:20px;font-weight:600;color:ON_ACCENT;background-color:ACCENT;border:1px solid ACCENT;border-radius:6px;text-decoration:none}
.progress{width:100%;border-collapse:separate;border-spacing:3px 0;margin:4px 0 18px 0;table-layout:fixed}
.pbar{height:6px;font-size:0;line-height:0;border-radius:3px;background-color:#e4e4e7}
.pbar-done{background-color:ACCENT}
.plabel{padding:6px 1px 0 1px;font-size:11px;line-height:1.3;color:#71717a;text-align:center;vertical-align:top;word-wrap:break-word;overflow-wrap:break-word}
.plabel-now{color:#18181b;font-weight:700}
@media only screen and (max-width:480px){
.page-cell{padding:0 !important}
.card{border-radius:0 !important}
.header,.content,.help,.footer{padding-left:16px !important;padding-right:16px !important}
.btn-table{width:100% !important}
.btn{display:block !important}
}
@media (prefers-color-scheme:dark){
.body,.page{background-color:#0f0f11 !important;color:#e4e4e7 !important}
.card{background-color:#1c1c1f !important}
.header{background-color:#1c1c1f !important}
.header-logo{background-color:#ffffff !important}
.wordmark,.content,h1,.plabel-now{color:#f4f4f5 !important}
.help{color:#d4d4d8 !important;border-color:#3f3f46 !important}
.footer,.footer-link,.muted,.item-meta,.plabel{color:#a1a1aa !important}
.footer{border-color:#3f3f46 !important}
.item,.num{border-color:#3f3f46 !important}
.sum,.sum-num{color:#d4d4d8 !important}
.total,.total-num{border-color:#e4e4e7 !important}
.note{background-color:#27272a !important}
.pbar{background-color:#3f3f46 !important}
.pbar-done{background-color:ACCENT !important}
.link,a:not(.btn):not(.footer-link):not(.wordmark){color:ACCENT_DARK !important}
}
`

// layoutData is what layout.html sees.
type layoutData struct {
	*View
	Subject      string
	Preheader    string
	PreheaderPad htmltemplate.HTML
	Content      htmltemplate.HTML
	CSS          htmltemplate.CSS
	Phone        string // Shop.Phone for a tel: link
	L            layoutLabels
}

// preheaderPad follows the preheader so that an inbox's preview line
// stops there instead of running on into the email's first words.
var preheaderPad = htmltemplate.HTML(strings.Repeat("&#847;&zwnj;&nbsp;", 60))

// wrapHTML puts content (already escaped by html/template) into the
// layout and inlines the layout's CSS.
func wrapHTML(v *View, subject, preheader, content string) (string, error) {
	var b strings.Builder
	err := layoutTemplate.Execute(&b, layoutData{
		View: v, Subject: subject, Preheader: preheader, PreheaderPad: preheaderPad,
		Content: htmltemplate.HTML(content),
		CSS:     htmltemplate.CSS(shopCSS(v.Shop)),
		Phone:   telDigits(v.Shop.Phone),
		L:       labelsFor(v.Locale),
	})
	if err != nil {
		return "", err
	}
	return Inline(b.String())
}

// shopCSS fills the layout's style sheet with the shop's colours.
func shopCSS(s Shop) string {
	accent := accentOf(s)
	return strings.NewReplacer(
		"ACCENT_DARK", mix(accent, "#ffffff", 0.45),
		"ON_ACCENT", onColor(accent),
		"ACCENT", accent,
	).Replace(layoutCSS)
}

func rgb(hex string) (r, g, b float64) {
	n, _ := strconv.ParseUint(hex[1:], 16, 32)
	return float64(n >> 16 & 0xff), float64(n >> 8 & 0xff), float64(n & 0xff)
}

// onColor is white or near-black, whichever reads better on hex (WCAG
// relative luminance), so a light accent still gets a legible button.
func onColor(hex string) string {
	r, g, b := rgb(hex)
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
	if (1.05)/(l+0.05) >= (l+0.05)/0.05 {
		return "#ffffff"
	}
	return "#18181b"
}

// mix blends a toward b by t (0..1).
func mix(a, b string, t float64) string {
	ar, ag, ab := rgb(a)
	br, bg, bb := rgb(b)
	m := func(x, y float64) int { return int(x + (y-x)*t + 0.5) }
	return fmt.Sprintf("#%02x%02x%02x", m(ar, br), m(ag, bg), m(ab, bb))
}

// telDigits keeps the characters a tel: URL may carry.
func telDigits(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r == '+' || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// wrapText ends the plain-text part with the shop's signature and
// contacts: the text-only reader gets the same way to reach the shop as
// the HTML footer gives.
func wrapText(v *View, text string) string {
	l := labelsFor(v.Locale)
	s := v.Shop
	var b strings.Builder
	b.WriteString(strings.TrimRight(text, "\n \t"))
	b.WriteString("\n\n-- \n")
	if s.Name != "" {
		b.WriteString(s.Name + "\n")
	}
	switch {
	case s.Email != "" && s.Phone != "":
		fmt.Fprintf(&b, "%s %s %s, %s %s\n", l.Questions, l.WriteTo, s.Email, l.Call, s.Phone)
	case s.Email != "":
		fmt.Fprintf(&b, "%s %s %s\n", l.Questions, l.WriteTo, s.Email)
	case s.Phone != "":
		fmt.Fprintf(&b, "%s %s %s\n", l.Questions, l.Call, s.Phone)
	}
	if s.SupportURL != "" {
		fmt.Fprintf(&b, "%s: %s\n", l.Help, s.SupportURL)
	}
	if s.ChatURL != "" {
		fmt.Fprintf(&b, "%s: %s\n", l.Chat, s.ChatURL)
	}
	if s.Address != "" {
		b.WriteString(s.Address + "\n")
	}
	if s.URL != "" {
		b.WriteString(s.URL + "\n")
	}
	if v.Unsubscribe != "" {
		fmt.Fprintf(&b, "%s: %s\n", l.Unsubscribe, v.Unsubscribe)
	}
	return b.String()
}

// layoutLabels are the layout's own words.
type layoutLabels struct {
	Questions, WriteTo, Or, Call, Help, Chat, Unsubscribe string
}

var labels = map[string]layoutLabels{
	"ru": {Questions: "Есть вопросы?", WriteTo: "Напишите нам на", Or: "или", Call: "позвоните", Help: "Помощь", Chat: "Чат с магазином", Unsubscribe: "Отписаться от таких писем"},
	"en": {Questions: "Questions?", WriteTo: "Write to us at", Or: "or", Call: "call", Help: "Help centre", Chat: "Chat with us", Unsubscribe: "Unsubscribe from these emails"},
}

func labelsFor(locale string) layoutLabels {
	if l, ok := labels[locale]; ok {
		return l
	}
	return labels["en"]
}
