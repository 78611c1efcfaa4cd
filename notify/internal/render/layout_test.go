package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels"
	"golang.org/x/net/html"
)

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		locale string
		n      any
		want   string
	}{
		{"ru", 1, "товар"}, {"ru", 2, "товара"}, {"ru", 5, "товаров"}, {"ru", 11, "товаров"},
		{"ru", 12, "товаров"}, {"ru", 14, "товаров"}, {"ru", 21, "товар"}, {"ru", 22, "товара"},
		{"ru", 111, "товаров"}, {"ru", 0, "товаров"}, {"ru", 101, "товар"}, {"ru", 1.5, "товара"},
		{"ru", "3", "товара"},
		{"en", 1, "item"}, {"en", 2, "items"}, {"en", 5, "items"}, {"en", 11, "items"},
		{"en", 21, "items"}, {"en", 0, "items"}, {"en", 1.5, "items"},
	} {
		forms := []string{"товар", "товара", "товаров"}
		if tc.locale == "en" {
			forms = []string{"item", "items"}
		}
		got, err := sharedOrderFuncs(tc.locale)["plural"].(func(any, ...string) (string, error))(tc.n, forms...)
		if err != nil || got != tc.want {
			t.Errorf("plural(%s, %v) = %q, %v; want %q", tc.locale, tc.n, got, err, tc.want)
		}
	}
	// The function as a template calls it, with a number from JSON.
	tpl, err := Compile(Source{Locale: "ru", Text: `{{range .Record.ns}}{{.}} {{plural . "товар" "товара" "товаров"}}; {{end}}`})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render(&View{Record: map[string]any{"ns": []any{1.0, 2.0, 5.0, 11.0, 21.0}}}, "fax")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1 товар; 2 товара; 5 товаров; 11 товаров; 21 товар;"; strings.TrimSpace(r.Text) != want {
		t.Errorf("text = %q; want %q", r.Text, want)
	}
	if _, err := Compile(Source{Locale: "ru", HTML: `{{plural 1}}`}); err != nil {
		t.Fatal(err)
	}
	tpl, _ = Compile(Source{Locale: "ru", HTML: `{{plural 1}}`})
	if _, err := tpl.Render(&View{}, All); err == nil || !strings.Contains(err.Error(), "forms") {
		t.Errorf("plural without forms: %v; want an error asking for the forms", err)
	}
}

// orderView is an order as the layout tests render it.
func orderView() *View {
	return &View{
		Shop: Shop{Name: "Tea & Co", URL: "https://shop.example", Email: "hello@shop.example", Phone: "+7 (495) 123-45-67",
			Address: "Moscow, Tverskaya 1", Accent: "#0a7d33", SupportURL: "https://shop.example/help", ChatURL: "https://t.me/teashop"},
		User: Recipient{Name: "Anna", Locale: "en"},
		Record: map[string]any{"id": "o1", "number": "1001", "status": "assembling", "currency": "RUB", "total": 1430.0,
			"items": []any{map[string]any{"name": "Oolong", "qty": 3.0, "price": 400.5}, map[string]any{"name": "Mug", "qty": 1.0, "price": 228.5}}},
		Link:   "https://shop.example/#/orders/o1",
		Locale: "en",
	}
}

func TestLayout(t *testing.T) {
	tpl, err := Compile(Source{Locale: "en",
		Subject:   "Order {{.Record.number}}",
		Preheader: "We are packing {{itemCount .Record.items}} {{plural (itemCount .Record.items) \"item\" \"items\"}}",
		HTML: `{{progress .Record.status}}<table class="items">{{range .Record.items}}<tr><td class="item">{{.name}}</td><td class="num">{{money (mul .price .qty) $.Record.currency}}</td></tr>{{end}}</table>` +
			`{{button .Link "View order"}}`,
		Text: "{{progress .Record.status}}\n{{range .Record.items}}{{.name}} {{money (mul .price .qty) $.Record.currency}}\n{{end}}{{button .Link \"View order\"}}",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render(orderView(), channels.Email)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`class="preheader" style="display:none;`, "We are packing 4 items",
		"₽1,201.50", "₽228.50", // line totals: 3 × 400.50, 1 × 228.50
		`href="https://shop.example/#/orders/o1"`, "View order",
		"background-color:#0a7d33", // the accent, inlined
		`href="mailto:hello@shop.example"`, `href="tel:+74951234567"`, `href="https://shop.example/help"`, `href="https://t.me/teashop"`,
		"Moscow, Tverskaya 1", "Tea &amp; Co",
		"@media (prefers-color-scheme:dark)", `<meta name="color-scheme" content="light dark">`,
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, r.HTML)
		}
	}
	if strings.Contains(r.HTML, "Unsubscribe") {
		t.Errorf("HTML has an unsubscribe link without View.Unsubscribe")
	}
	// The wordmark: no logo, so no image, and the name as text.
	if strings.Contains(r.HTML, "<img") || !strings.Contains(r.HTML, `class="wordmark"`) {
		t.Errorf("without a logo the header should be the wordmark:\n%s", r.HTML)
	}
	for _, want := range []string{"✓ Placed → ✓ Paid → ● Packing → ○ On its way → ○ Delivered", "Oolong ₽1,201.50", "View order: https://shop.example/#/orders/o1",
		"-- \nTea & Co\n", "Questions? Write to us at hello@shop.example, call +7 (495) 123-45-67", "Help centre: https://shop.example/help", "Moscow, Tverskaya 1\nhttps://shop.example\n"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, r.Text)
		}
	}
	checkInlined(t, r.HTML)

	// A logo, an unsubscribe address, a bad accent.
	v := orderView()
	v.Shop.Logo = "https://shop.example/api/files/notifyBrand/b1/logo.png"
	v.Shop.Accent = "red;}body{display:none"
	v.Unsubscribe = "https://shop.example/api/notify/unsubscribe/tok"
	r, err = tpl.Render(v, channels.Email)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<img src="https://shop.example/api/files/notifyBrand/b1/logo.png" alt="Tea &amp; Co"`, `href="https://shop.example/api/notify/unsubscribe/tok"`,
		"Unsubscribe from these emails", "background-color:" + DefaultAccent} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, r.HTML)
		}
	}
	if strings.Contains(r.HTML, "display:none}") || strings.Contains(r.HTML, "red;") {
		t.Errorf("a malformed accent reached the CSS:\n%s", r.HTML)
	}
	if !strings.Contains(r.Text, "Unsubscribe from these emails: https://shop.example/api/notify/unsubscribe/tok") {
		t.Errorf("text lacks the unsubscribe line:\n%s", r.Text)
	}
}

// checkInlined strips <style> as a mail client may and checks that the
// structure still carries its look: every element with a layout class has
// an inline style, and the button and progress bars keep their colours.
func checkInlined(t *testing.T, doc string) {
	t.Helper()
	stripped := regexp.MustCompile(`(?is)<style.*?</style>`).ReplaceAllString(doc, "")
	n, err := html.Parse(strings.NewReader(stripped))
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]bool{}
	for _, r := range parseRules(shopCSS(Shop{})) {
		if r.class != "" {
			classes[r.class] = true
		}
	}
	seen := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			var class, style string
			for _, a := range n.Attr {
				switch a.Key {
				case "class":
					class = a.Val
				case "style":
					style = a.Val
				}
			}
			for _, c := range strings.Fields(class) {
				if classes[c] {
					seen[c] = true
					if style == "" {
						t.Errorf("<%s class=%q> has no inline style once <style> is gone", n.Data, class)
					}
				}
			}
			if n.Data == "img" {
				alt := false
				for _, a := range n.Attr {
					alt = alt || (a.Key == "alt" && strings.TrimSpace(a.Val) != "")
				}
				if !alt {
					t.Errorf("<img> without alt text")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	for _, c := range []string{"card", "content", "footer"} {
		if !seen[c] {
			t.Errorf("the layout's %q element is missing", c)
		}
	}
}

func TestInline(t *testing.T) {
	doc := `<html><head><style>
/* comment {} */
p{margin:0;color:#111}
.a{color:red;padding:1px}
p.a{color:blue}
.b, .c {font-weight:700}
div > p {color:green}
@media (max-width:480px){.a{color:pink !important}}
</style></head><body><p class="a" style="padding:2px">x</p><p class="c">y</p><span class="z">z</span><img class="a" src="i.png" alt="I"/></body></html>`
	got, err := Inline(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<p class="a" style="margin:0;color:blue;padding:2px;">x</p>`, // tag < class < tag.class; own style wins
		`<p class="c" style="margin:0;color:#111;font-weight:700;">y</p>`,
		`<span class="z">z</span>`, // unselected: byte for byte
		`<img class="a" src="i.png" alt="I" style="color:red;padding:1px;" />`,
		`@media (max-width:480px){.a{color:pink !important}}`, // media queries stay in <style>
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Inline lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "green") && !strings.Contains(got, "div > p {color:green}") {
		t.Errorf("a combinator rule was inlined:\n%s", got)
	}
}

func TestButtonRefusesUnsafeLinks(t *testing.T) {
	tpl, err := Compile(Source{Locale: "en", HTML: `{{button .Record.u .Record.l}}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ u, want string }{
		{"javascript:alert(1)", `href="#"`},
		{"//evil.example/x", `href="#"`},
		{"https://shop.example/a?b=1&c=2", `href="https://shop.example/a?b=1&amp;c=2"`},
		{`https://x.example/"><script>`, `href="https://x.example/&#34;&gt;&lt;script&gt;"`},
	} {
		r, err := tpl.Render(&View{Record: map[string]any{"u": tc.u, "l": "<b>Go</b>"}}, "fax")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.HTML, tc.want) || strings.Contains(r.HTML, "<b>Go") {
			t.Errorf("button(%q) = %s; want %s and the label escaped", tc.u, r.HTML, tc.want)
		}
	}
}

// BenchmarkRenderEmail renders an order email with the layout and the
// inliner, the per-message cost the layout adds.
func BenchmarkRenderEmail(b *testing.B) {
	tpl, err := Compile(Source{Locale: "en", Subject: "Order {{.Record.number}}",
		HTML: `{{progress .Record.status}}<table class="items">{{range .Record.items}}<tr><td class="item">{{.name}}</td><td class="num">{{money (mul .price .qty) $.Record.currency}}</td></tr>{{end}}</table>{{button .Link "View order"}}`,
		Text: "Order {{.Record.number}}"})
	if err != nil {
		b.Fatal(err)
	}
	v := orderView()
	for b.Loop() {
		if _, err := tpl.Render(v, channels.Email); err != nil {
			b.Fatal(err)
		}
	}
}
