package notify_test

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/dbx"
	"golang.org/x/net/html"
)

// money formats an amount as the templates' money function should, written
// out independently: "1 900,50 ₽" (with no-break spaces) and "₽1,900.50".
func money(locale string, amount float64) string {
	cents := int64(math.Round(amount * 100))
	whole := fmt.Sprint(cents / 100)
	sep, dec := ",", "."
	if locale == "ru" {
		sep, dec = "\u00a0", ","
	}
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	num := b.String()
	if cents%100 != 0 {
		num += dec + fmt.Sprintf("%02d", cents%100)
	}
	if locale == "ru" {
		return num + "\u00a0₽"
	}
	return "₽" + num
}

// pieces says "N items" as the order summary must, in each language.
var pieces = map[string]map[int]string{
	"ru": {1: "1 товар", 2: "2 товара", 5: "5 товаров", 11: "11 товаров", 12: "12 товаров", 21: "21 товар", 111: "111 товаров"},
	"en": {1: "1 item", 2: "2 items", 5: "5 items", 11: "11 items", 12: "12 items", 21: "21 items", 111: "111 items"},
}

var orderKeys = []string{"order.created", "order.paid", "order.assembling", "order.shipped", "order.delivered", "order.cancelled", "order.returned"}

type preview struct {
	Subject, Preheader, HTML, Text, Telegram, PushTitle, PushBody string
}

func previewOf(t *testing.T, shop *shoptest.Shop, admin, key, locale, record string) preview {
	t.Helper()
	tpl, err := shop.App.FindFirstRecordByFilter(notify.TemplatesCollection, "key = {:k} && locale = {:l}", dbx.Params{"k": key, "l": locale})
	if err != nil {
		t.Fatalf("template %s/%s: %v", locale, key, err)
	}
	res := shop.MustDo(200, "GET", "/api/notify/templates/"+tpl.Id+"/preview?record="+record, admin, nil)
	return preview{res.String("subject"), res.String("preheader"), res.String("html"), res.String("text"), res.String("telegram"), res.String("pushTitle"), res.String("pushBody")}
}

// TestOrderMessagesExplainTheOrder renders every default order template
// against real orders, in both languages, with 1, 2, 5, 11, 12, 21 and 111
// pieces: the email and its text part carry the same facts (number, line
// totals, delivery, total, the pieces in the right plural form, tracking),
// and the HTML keeps its structure once <style> is stripped.
func TestOrderMessagesExplainTheOrder(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	labels := map[string]map[string]string{
		"ru": {"goods": "Товары", "delivery": "Доставка", "free": "бесплатно", "total": "Итого", "track": "Отследить посылку", "view": "Посмотреть заказ", "now": "● В пути"},
		"en": {"goods": "Items", "delivery": "Delivery", "free": "free", "total": "Total", "track": "Track parcel", "view": "View your order", "now": "● On its way"},
	}
	for _, locale := range []string{"ru", "en"} {
		user := shop.SignUp("Анна", locale+"@example.org", locale)
		for _, n := range []int{1, 2, 5, 11, 12, 21, 111} {
			items := []map[string]any{{"name": "Улун Да Хун Пао 50 г", "qty": n, "price": 1900.5}}
			lines, prices := []float64{1900.5 * float64(n)}, []float64{1900.5}
			if n > 1 {
				items = []map[string]any{{"name": "Улун Да Хун Пао 50 г", "qty": n - 1, "price": 1900.5}, {"name": "Mug <b>", "qty": 1, "price": 250}}
				lines, prices = []float64{1900.5 * float64(n-1), 250}, []float64{1900.5, 250}
			}
			total := 0.0
			for _, l := range lines {
				total += l
			}
			order := shop.MustDo(200, "POST", "/api/collections/orders/records", admin, map[string]any{
				"customer": user.ID, "items": items, "status": "shipped", "address": "Москва, Тверская 1",
				"trackingNumber": "RA123456789RU", "trackingUrl": "https://www.pochta.ru/tracking#RA123456789RU",
			})
			number := order.String("number")
			if got := order.JSON()["total"].(float64); math.Abs(got-total) > 0.001 {
				t.Fatalf("order total = %v; want %v", got, total)
			}
			l := labels[locale]
			for _, key := range orderKeys {
				name := fmt.Sprintf("%s/%s with %d", locale, key, n)
				p := previewOf(t, shop, admin, key, locale, order.String("id"))
				facts := []string{number, money(locale, total), l["goods"] + ", " + pieces[locale][n]}
				for i, line := range lines {
					facts = append(facts, money(locale, line), money(locale, prices[i]))
				}
				for _, f := range facts {
					if !strings.Contains(p.HTML, f) {
						t.Errorf("%s: the email lacks %q", name, f)
					}
					if !strings.Contains(p.Text, f) {
						t.Errorf("%s: the text part lacks %q:\n%s", name, f, p.Text)
					}
				}
				// The summary in the right order: goods, delivery, total.
				if !regexp.MustCompile(regexp.QuoteMeta(l["goods"]+", "+pieces[locale][n]) + `(</td>|:)`).MatchString(p.HTML + p.Text) {
					t.Errorf("%s: %q is not followed by the end of its cell or a colon", name, pieces[locale][n])
				}
				for _, s := range []string{p.Text, p.HTML} {
					if !strings.Contains(s, l["delivery"]) || !strings.Contains(s, l["free"]) || !strings.Contains(s, l["total"]) {
						t.Errorf("%s: delivery or total line missing", name)
					}
				}
				if strings.Contains(p.HTML, "Mug <b>") {
					t.Errorf("%s: an item name reached the HTML unescaped", name)
				}
				// The inbox line says what the email is about, not its first words.
				if key == "order.created" && (!strings.Contains(p.Preheader, pieces[locale][n]) || !strings.Contains(p.Preheader, money(locale, total))) {
					t.Errorf("%s: preheader = %q; want the pieces and the total", name, p.Preheader)
				}
				if p.Preheader == "" || !strings.Contains(p.HTML, strings.ReplaceAll(p.Preheader, "&", "&amp;")) {
					t.Errorf("%s: preheader %q is not in the email", name, p.Preheader)
				}
				if key == "order.shipped" {
					for _, s := range []string{p.HTML, p.Text, p.Telegram, p.Preheader} {
						if !strings.Contains(s, "RA123456789RU") {
							t.Errorf("%s: the tracking number is missing", name)
						}
					}
					if !regexp.MustCompile(`<a href="https://www.pochta.ru/tracking#RA123456789RU" class="btn"[^>]*style="[^"]*background-color:#[0-9a-f]{6}`).MatchString(p.HTML) ||
						!strings.Contains(p.HTML, l["track"]) {
						t.Errorf("%s: no %q button to the tracking page", name, l["track"])
					}
					if !strings.Contains(p.Text, l["track"]+": https://www.pochta.ru/tracking#RA123456789RU") {
						t.Errorf("%s: the text part lacks the tracking link", name)
					}
				}
				if key != "order.cancelled" && key != "order.returned" && !strings.Contains(p.Text, l["now"]) {
					t.Errorf("%s: the text part does not say where the order is (%q):\n%s", name, l["now"], p.Text)
				}
				if n == 1 { // once per template: the rest does not depend on the count
					checkEmailStructure(t, name, p.HTML)
					checkShortTexts(t, name, p, number)
				}
			}
		}
	}
}

// checkEmailStructure strips <style> as some mail clients do and checks
// what is left still carries its look inline: the card, the content, the
// items table and its cells, the button, the progress line.
func checkEmailStructure(t *testing.T, name, doc string) {
	t.Helper()
	stripped := regexp.MustCompile(`(?is)<style.*?</style>`).ReplaceAllString(doc, "")
	root, err := html.Parse(strings.NewReader(stripped))
	if err != nil {
		t.Fatal(err)
	}
	styled := map[string]int{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			for _, c := range strings.Fields(attr["class"]) {
				if attr["style"] == "" {
					t.Errorf("%s: <%s class=%q> has no inline style without <style>", name, n.Data, attr["class"])
				}
				styled[c]++
			}
			if n.Data == "img" && strings.TrimSpace(attr["alt"]) == "" {
				t.Errorf("%s: an image has no alt text", name)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	want := []string{"card", "content", "footer", "items", "item", "num", "total", "total-num"}
	if !strings.Contains(name, "cancelled") && !strings.Contains(name, "returned") {
		want = append(want, "progress", "pbar-done", "plabel-now")
	}
	for _, c := range want {
		if styled[c] == 0 {
			t.Errorf("%s: no element of class %q", name, c)
		}
	}
	if !strings.Contains(doc, `class="preheader"`) {
		t.Errorf("%s: no preheader", name)
	}
}

// checkShortTexts: Telegram names the order and its status in a few lines;
// push texts fit a lock screen.
func checkShortTexts(t *testing.T, name string, p preview, number string) {
	t.Helper()
	if !strings.Contains(p.Telegram, number) || strings.Count(p.Telegram, "\n") > 2 {
		t.Errorf("%s: telegram = %q; want at most three lines naming order %s", name, p.Telegram, number)
	}
	if n := len([]rune(p.PushTitle)); n == 0 || n > 50 {
		t.Errorf("%s: push title %q is %d characters; want 1–50", name, p.PushTitle, n)
	}
	if n := len([]rune(p.PushBody)); n == 0 || n > 120 {
		t.Errorf("%s: push body %q is %d characters; want 1–120", name, p.PushBody, n)
	}
}

// TestPaymentFailedSaysWhatToDo: the email has a "Pay again" button to
// the order's page and the reason, in both languages.
func TestPaymentFailedSaysWhatToDo(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	want := map[string]string{"ru": "Оплатить заказ", "en": "Pay again"}
	for _, locale := range []string{"ru", "en"} {
		user := shop.SignUp("Anna", locale+"@example.org", locale)
		order := shop.MustDo(200, "POST", "/api/collections/orders/records", admin, map[string]any{
			"customer": user.ID, "items": []map[string]any{{"name": "Tea", "qty": 2, "price": 300}},
		})
		payment := shop.MustDo(200, "POST", "/api/collections/payments/records", admin, map[string]any{
			"order": order.String("id"), "amount": 600, "currency": "RUB", "status": "failed", "failureReason": "Insufficient funds",
		})
		p := previewOf(t, shop, admin, "payment.failed", locale, payment.String("id"))
		link := regexp.QuoteMeta(`/#/orders/` + order.String("id"))
		if !regexp.MustCompile(`<a href="https?://[^"]+` + link + `" class="btn"[^>]*>` + want[locale] + `</a>`).MatchString(p.HTML) {
			t.Errorf("%s: no %q button to the order page:\n%s", locale, want[locale], p.HTML)
		}
		if !regexp.MustCompile(want[locale] + `: https?://\S+` + link).MatchString(p.Text) {
			t.Errorf("%s: the text part lacks %q with the order link:\n%s", locale, want[locale], p.Text)
		}
		for _, s := range []string{p.HTML, p.Text, p.Telegram} {
			if !strings.Contains(s, "Insufficient funds") || !strings.Contains(s, order.String("number")) {
				t.Errorf("%s: the reason or the order number is missing in %q", locale, s)
			}
		}
		checkShortTexts(t, locale+"/payment.failed", p, order.String("number"))
	}
}
