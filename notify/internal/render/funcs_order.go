package render

import (
	"fmt"
	htmltemplate "html/template"
	"math"
	"strings"
)

// The functions a message about an order needs: words that agree with a
// number, line totals, the order's progress and the main action's button.
// They come in an HTML and a text flavour where the output differs, under
// the same names, so the html and text fields of a template read alike.

// orderSteps are the statuses an order passes through, in order; the
// progress line shows where an order is among them. A cancelled or
// returned order has left the line and shows none.
var orderSteps = []string{"new", "paid", "assembling", "shipped", "delivered"}

var stepLabels = map[string][]string{
	"ru": {"Оформлен", "Оплачен", "Собираем", "В пути", "Доставлен"},
	"en": {"Placed", "Paid", "Packing", "On its way", "Delivered"},
}

func stepsFor(locale string) []string {
	if l, ok := stepLabels[locale]; ok {
		return l
	}
	return stepLabels["en"]
}

// sharedOrderFuncs are the same for HTML and text.
func sharedOrderFuncs(locale string) map[string]any {
	return map[string]any{
		// plural picks the form of a word that agrees with n:
		// {{plural 5 "товар" "товара" "товаров"}} is "товаров"; in English
		// {{plural 1 "item" "items"}} is "item". Russian takes the forms
		// for one, few and many; English for one and other (given three
		// forms, it uses the first and the last).
		"plural": func(n any, forms ...string) (string, error) {
			if len(forms) == 0 {
				return "", fmt.Errorf("plural: give the word's forms, e.g. plural .n \"item\" \"items\"")
			}
			return forms[pluralIndex(locale, toFloat(n), len(forms))], nil
		},
		// mul multiplies, e.g. a line total: {{money (mul .price .qty) $.Record.currency}}.
		"mul": func(a, b any) float64 { return roundCents(toFloat(a) * toFloat(b)) },
		// sub subtracts: {{sub .Record.total (subtotal .Record.items)}}.
		"sub": func(a, b any) float64 { return roundCents(toFloat(a) - toFloat(b)) },
		// subtotal is the sum of qty × price over order items.
		"subtotal": func(items any) float64 {
			var s float64
			for _, it := range itemList(items) {
				s += toFloat(it["qty"]) * toFloat(it["price"])
			}
			return roundCents(s)
		},
		// itemCount is the number of pieces in order items (the sum of qty).
		"itemCount": func(items any) float64 {
			var n float64
			for _, it := range itemList(items) {
				n += toFloat(it["qty"])
			}
			return n
		},
	}
}

// pluralIndex is the index of the form (of n forms) that agrees with n:
// CLDR's one/few/many for Russian, one/other for the rest.
func pluralIndex(locale string, n float64, forms int) int {
	last := forms - 1
	if n != math.Trunc(n) { // 1,5 товара; 1.5 items
		if locale == "ru" {
			return min(1, last)
		}
		return last
	}
	i := int64(math.Abs(n))
	if locale == "ru" {
		switch {
		case i%10 == 1 && i%100 != 11:
			return 0
		case i%10 >= 2 && i%10 <= 4 && (i%100 < 12 || i%100 > 14):
			return min(1, last)
		default:
			return last
		}
	}
	if i == 1 {
		return 0
	}
	return last
}

func roundCents(f float64) float64 { return math.Round(f*100) / 100 }

// itemList reads orders.items as the template sees it: a JSON list of
// objects. Anything else is an empty list.
func itemList(items any) []map[string]any {
	list, _ := items.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// stepIndex is the position of status on the progress line, -1 off it.
func stepIndex(status any) int {
	s, _ := status.(string)
	for i, st := range orderSteps {
		if st == s {
			return i
		}
	}
	return -1
}

// htmlFuncs are the functions of html/template fields (html, telegram).
func htmlFuncs(locale string) map[string]any {
	m := sharedOrderFuncs(locale)
	// button is the bulletproof button of the main action: a table cell
	// painted in the accent colour around a padded link, so it shows as a
	// button in clients that ignore padding on links (Outlook) or drop
	// <style>. Only http(s), mailto and relative links are allowed.
	m["button"] = func(href any, label string) htmltemplate.HTML {
		u := safeURL(fmt.Sprint(href))
		l := htmltemplate.HTMLEscapeString(label)
		return htmltemplate.HTML(`<table role="presentation" class="btn-table" cellspacing="0" cellpadding="0" border="0"><tr><td class="btn-cell" align="center">` +
			`<a href="` + htmltemplate.HTMLEscapeString(u) + `" class="btn" target="_blank">` + l + `</a></td></tr></table>`)
	}
	// progress is the order's progress line: placed → paid → packing → on
	// its way → delivered, done steps in the accent colour. Empty for a
	// status off the line (cancelled, returned).
	m["progress"] = func(status any) htmltemplate.HTML {
		at := stepIndex(status)
		if at < 0 {
			return ""
		}
		labels := stepsFor(locale)
		var bars, names strings.Builder
		for i, name := range labels {
			bar, label := "pbar", "plabel"
			if i <= at {
				bar += " pbar-done"
			}
			if i == at {
				label += " plabel-now"
			}
			fmt.Fprintf(&bars, `<td class="%s" height="6">&nbsp;</td>`, bar)
			fmt.Fprintf(&names, `<td class="%s" width="20%%">%s</td>`, label, htmltemplate.HTMLEscapeString(name))
		}
		return htmltemplate.HTML(`<table role="presentation" class="progress" width="100%" cellspacing="0" cellpadding="0" border="0"><tr>` +
			bars.String() + `</tr><tr>` + names.String() + `</tr></table>`)
	}
	return m
}

// textFuncs are the plain-text flavour of htmlFuncs.
func textFuncs(locale string) map[string]any {
	m := sharedOrderFuncs(locale)
	// button prints the action and its address on one line.
	m["button"] = func(href any, label string) string { return label + ": " + fmt.Sprint(href) }
	// progress prints the line as words: ✓ done, ● now, ○ to come.
	m["progress"] = func(status any) string {
		at := stepIndex(status)
		if at < 0 {
			return ""
		}
		parts := make([]string, len(orderSteps))
		for i, name := range stepsFor(locale) {
			mark := "○"
			switch {
			case i < at:
				mark = "✓"
			case i == at:
				mark = "●"
			}
			parts[i] = mark + " " + name
		}
		return strings.Join(parts, " → ")
	}
	return m
}

// safeURL lets through the links a button may carry and replaces any
// other (javascript:, data:) with "#", as html/template would.
func safeURL(u string) string {
	u = strings.TrimSpace(u)
	lower := strings.ToLower(u)
	for _, ok := range []string{"https://", "http://", "mailto:", "/", "#"} {
		if strings.HasPrefix(lower, ok) && !strings.HasPrefix(lower, "//") {
			return u
		}
	}
	return "#"
}
