package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
)

// templateFuncs is deliberately small: formatting helpers only, nothing that
// reaches the environment, the network or the database.
func templateFuncs(locale string, loc *time.Location) map[string]any {
	return map[string]any{
		"datetime": func(v any) string { return formatDateTime(locale, loc, v) },
		"money": func(amount any, currency any) string {
			return formatMoney(locale, toFloat(amount), fmt.Sprint(currency))
		},
		"date": func(v any) string { return formatDate(locale, v) },
		"default": func(def, v any) any {
			if isZero(v) {
				return def
			}
			return v
		},
	}
}

// isZero says whether a template value counts as unset for "default".
func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case int:
		return x == 0
	case []string:
		return len(x) == 0
	}
	return fmt.Sprint(v) == ""
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

var currencySymbols = map[string]string{"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "BYN": "Br"}

// formatMoney renders 1234.5 RUB as "1 234,50 ₽" in Russian and "₽1,234.50"
// in English.
func formatMoney(locale string, amount float64, currency string) string {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	sym := currencySymbols[currency]
	if sym == "" {
		sym = currency
	}
	neg := amount < 0
	cents := int64(math.Round(math.Abs(amount) * 100))
	whole, frac := cents/100, cents%100
	digits := strconv.FormatInt(whole, 10)
	group, dec := ",", "."
	if locale == "ru" {
		group, dec = "\u00a0", ","
	}
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(d)
	}
	num := b.String()
	if frac != 0 {
		num += dec + fmt.Sprintf("%02d", frac)
	}
	if neg {
		num = "-" + num
	}
	if locale == "ru" {
		return num + "\u00a0" + sym
	}
	if len(sym) == 3 && sym == currency {
		return sym + "\u00a0" + num
	}
	return sym + num
}

var monthsRU = []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}

func formatDate(locale string, v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case types.DateTime:
		t = x.Time()
	case string:
		dt, err := types.ParseDateTime(x)
		if err != nil || dt.IsZero() {
			return x
		}
		t = dt.Time()
	default:
		return fmt.Sprint(v)
	}
	if locale == "ru" {
		return fmt.Sprintf("%d %s %d", t.Day(), monthsRU[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

// formatDateTime renders a moment as the recipient reads it: in their
// timezone loc and their language, "14 мая 2026, 15:30" or
// "May 14, 2026, 3:30 PM". A value that is not a time is printed as it is.
func formatDateTime(locale string, loc *time.Location, v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case types.DateTime:
		t = x.Time()
	case string:
		dt, err := types.ParseDateTime(x)
		if err != nil || dt.IsZero() {
			return x
		}
		t = dt.Time()
	default:
		return fmt.Sprint(v)
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if locale == "ru" {
		return fmt.Sprintf("%d %s %d, %s", t.Day(), monthsRU[t.Month()-1], t.Year(), t.Format("15:04"))
	}
	return t.Format("January 2, 2006, 3:04 PM")
}
