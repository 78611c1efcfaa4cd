package notify

import (
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

//go:embed layout.html
var layoutSource string

var layoutTemplate = htmltemplate.Must(htmltemplate.New("layout").Option("missingkey=error").Parse(layoutSource))

// View is the data every template sees. It is a typed struct on purpose:
// templates never receive a raw dump of a user record (password hashes,
// token keys).
type View struct {
	Shop   Shop
	User   Recipient
	Record map[string]any            // the triggering record's public fields, as of the event
	Expand map[string]map[string]any // related records by relation field name, e.g. .Expand.order.number
	Link   string                    // the shop page about the record, e.g. the order page
	Locale string
}

// Shop is the sender's identity, shown in every email's layout.
type Shop struct {
	Name    string
	URL     string
	Email   string
	Phone   string
	Address string
}

// Recipient is the user a message goes to.
type Recipient struct {
	ID     string
	Name   string
	Email  string
	Locale string
}

// Rendered is a message rendered for every channel.
type Rendered struct {
	Subject   string
	HTML      string // wrapped in the layout
	Text      string
	Telegram  string
	PushTitle string
	PushBody  string
	PushURL   string
}

// compiled holds one notifyTemplates record, parsed.
type compiled struct {
	id, key, locale string
	subject         *texttemplate.Template
	html            *htmltemplate.Template
	text            *texttemplate.Template
	telegram        *htmltemplate.Template
	pushTitle       *texttemplate.Template
	pushBody        *texttemplate.Template
	pushURL         *texttemplate.Template
}

// FieldError names the template field and the problem, with the line number
// from the template parser or executor.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// templateSource is the editable content of a template.
type templateSource struct {
	ID, Key, Locale                                             string
	Subject, HTML, Text, Telegram, PushTitle, PushBody, PushURL string
}

func sourceFromRecord(r *core.Record) templateSource {
	return templateSource{
		ID: r.Id, Key: r.GetString("key"), Locale: r.GetString("locale"),
		Subject: r.GetString("subject"), HTML: r.GetString("html"), Text: r.GetString("text"),
		Telegram: r.GetString("telegram"), PushTitle: r.GetString("pushTitle"),
		PushBody: r.GetString("pushBody"), PushURL: r.GetString("pushUrl"),
	}
}

func compile(src templateSource) (*compiled, error) {
	funcs := templateFuncs(src.Locale)
	c := &compiled{id: src.ID, key: src.Key, locale: src.Locale}
	var err error
	text := func(field, body string) *texttemplate.Template {
		if err != nil {
			return nil
		}
		var t *texttemplate.Template
		t, err = texttemplate.New(field).Option("missingkey=error").Funcs(funcs).Parse(body)
		if err != nil {
			err = &FieldError{field, err}
		}
		return t
	}
	html := func(field, body string) *htmltemplate.Template {
		if err != nil {
			return nil
		}
		var t *htmltemplate.Template
		t, err = htmltemplate.New(field).Option("missingkey=error").Funcs(funcs).Parse(body)
		if err != nil {
			err = &FieldError{field, err}
		}
		return t
	}
	c.subject = text("subject", src.Subject)
	c.html = html("html", src.HTML)
	c.text = text("text", src.Text)
	c.telegram = html("telegram", src.Telegram)
	c.pushTitle = text("pushTitle", src.PushTitle)
	c.pushBody = text("pushBody", src.PushBody)
	c.pushURL = text("pushUrl", src.PushURL)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// channelFields says which template fields a channel uses; rendering only
// those keeps the HTML layout off the path of push, inbox and Telegram
// messages. The empty channel (preview, validation) renders everything.
var channelFields = map[string][]string{
	channels.Email:    {"subject", "html", "text"},
	channels.Telegram: {"subject", "telegram", "pushUrl"},
	channels.WebPush:  {"pushTitle", "pushBody", "pushUrl"},
	channels.Inbox:    {"pushTitle", "pushBody", "pushUrl"},
}

// render executes the fields channel uses (all of them for channel "")
// against v. The first failing field is reported with its name and the
// executor's line information.
func (c *compiled) render(v *View, channel string) (*Rendered, error) {
	want := func(field string) bool {
		fields, ok := channelFields[channel]
		return !ok || slices.Contains(fields, field)
	}
	var firstErr error
	exec := func(field string, t interface {
		Execute(io.Writer, any) error
	}) string {
		if !want(field) || firstErr != nil {
			return ""
		}
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			firstErr = &FieldError{field, err}
		}
		return b.String()
	}
	r := &Rendered{
		Subject:   oneLine(exec("subject", c.subject)),
		Text:      exec("text", c.text),
		Telegram:  strings.TrimSpace(exec("telegram", c.telegram)),
		PushTitle: oneLine(exec("pushTitle", c.pushTitle)),
		PushBody:  strings.TrimSpace(exec("pushBody", c.pushBody)),
		PushURL:   strings.TrimSpace(exec("pushUrl", c.pushURL)),
	}
	content := exec("html", c.html)
	if firstErr != nil {
		return nil, firstErr
	}
	if r.PushURL != "" {
		if u, err := url.Parse(r.PushURL); err != nil || (u.Scheme != "https" && u.Scheme != "http" && !strings.HasPrefix(r.PushURL, "/")) {
			return nil, &FieldError{"pushUrl", fmt.Errorf("%q is not an http(s) URL or a path", r.PushURL)}
		}
	}
	if strings.TrimSpace(content) != "" {
		var b strings.Builder
		err := layoutTemplate.Execute(&b, struct {
			*View
			Subject string
			Content htmltemplate.HTML
		}{v, r.Subject, htmltemplate.HTML(content)}) // content was escaped by html/template
		if err != nil {
			return nil, &FieldError{"html", fmt.Errorf("layout: %w", err)}
		}
		r.HTML = b.String()
	}
	return r, nil
}

// oneLine folds CR/LF so that user data in a subject can never start a header.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
}

// templateCache keeps compiled templates by key and locale until any
// template changes.
type templateCache struct {
	mu    sync.RWMutex
	byKey map[string]map[string]*compiled // key -> locale -> template
}

func (c *templateCache) reset() {
	c.mu.Lock()
	c.byKey = nil
	c.mu.Unlock()
}

// lookup returns the active template for key in the first locale that has
// one: the recipient's, then the default, then any.
func (c *templateCache) lookup(app core.App, key string, locales ...string) (*compiled, error) {
	c.mu.RLock()
	byLocale, ok := c.byKey[key]
	c.mu.RUnlock()
	if !ok {
		recs, err := app.FindAllRecords(TemplatesCollection, dbx.HashExp{"key": key, "active": true})
		if err != nil {
			return nil, err
		}
		byLocale = map[string]*compiled{}
		for _, r := range recs {
			ct, err := compile(sourceFromRecord(r))
			if err != nil {
				app.Logger().Warn("notify: stored template does not compile", "template", key, "locale", r.GetString("locale"), "error", err)
				continue
			}
			byLocale[ct.locale] = ct
		}
		c.mu.Lock()
		if c.byKey == nil {
			c.byKey = map[string]map[string]*compiled{}
		}
		c.byKey[key] = byLocale
		c.mu.Unlock()
	}
	for _, l := range locales {
		if ct := byLocale[l]; ct != nil {
			return ct, nil
		}
	}
	for _, ct := range byLocale {
		return ct, nil
	}
	return nil, fmt.Errorf("no active template %q (looked for locales %s)", key, strings.Join(locales, ", "))
}

// templateFuncs is deliberately small: formatting helpers only, nothing that
// reaches the environment, the network or the database.
func templateFuncs(locale string) map[string]any {
	return map[string]any{
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
