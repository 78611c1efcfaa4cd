// Package render turns a notifyTemplates record into the text of one
// message: it compiles templates (html/template for the email HTML and
// Telegram, text/template for the rest, missingkey=error, a small function
// set), caches the compiled versions, builds the View a template sees,
// wraps email HTML in the shop's layout, makes sample data, and checks a
// template when it is saved.
//
// It knows nothing of the outbox, rules or how channels deliver; it knows
// channel names only to render the fields a channel uses.
//
// Errors say who decides. A *FieldError (from Compile, Template.Render or
// Validate) and ErrNoTemplate (from Cache.Lookup) are the template's own
// verdict: retrying will not change them. Any other error (a database read
// in Cache.Lookup or Viewer.View) is transient, and the message should be
// retried.
package render

import (
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pocketbase/pocketbase/core"
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
	// Data is what the code that sent the message passed (notify.Send),
	// e.g. {{.Data.code}}; nil for messages made by rules. Its keys are
	// free-form: a template is not refused on save for naming one the
	// sample lacks (see Validate).
	Data map[string]any
	// Items are, in a digest, the triggering records oldest first (Record
	// is then the newest), and Count how many triggered (it may exceed
	// len(Items), which is capped); nil and 0 for other messages.
	Items []map[string]any
	Count int

	// loc is the recipient's timezone, for datetime; nil is UTC.
	loc *time.Location
}

// SetLocation sets the timezone the templates' datetime prints in and
// .User.Timezone names.
func (v *View) SetLocation(loc *time.Location) {
	v.loc = loc
	if loc != nil {
		v.User.Timezone = loc.String()
	}
}

// Shop is the sender's identity, shown in every email's layout.
type Shop struct {
	Name    string
	URL     string
	Email   string
	Phone   string
	Address string
}

// Absolute makes a template's relative link ("/#/orders/x") absolute on
// the shop's URL; other links are returned as they are.
func (s Shop) Absolute(u string) string {
	if strings.HasPrefix(u, "/") {
		return s.URL + u
	}
	return u
}

// Recipient is the user a message goes to.
type Recipient struct {
	ID     string
	Name   string
	Email  string
	Locale string
	// Timezone is the IANA timezone the message is written for: the
	// user's own, else the shop's default, else "UTC".
	Timezone string
}

// Rendered is a message rendered for a channel. Fields the channel does
// not use are empty.
type Rendered struct {
	Subject   string
	HTML      string // wrapped in the layout for email
	Text      string
	Telegram  string
	PushTitle string
	PushBody  string
	PushURL   string // absolute when the shop has a URL
	SMS       string // plain text, one line per line
}

// FieldError names the template field and the problem, with the line number
// from the template parser or executor. It is the template's own verdict.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Template field names, as in the notifyTemplates collection.
const (
	FieldSubject   = "subject"
	FieldHTML      = "html"
	FieldText      = "text"
	FieldTelegram  = "telegram"
	FieldPushTitle = "pushTitle"
	FieldPushBody  = "pushBody"
	FieldPushURL   = "pushUrl"
	FieldSMS       = "sms"
)

// All renders every field, the email layout included: the preview and the
// check on save use it.
const All = ""

// channelFields says which template fields a channel uses, so a push or
// an inbox message never pays for the email HTML. A channel missing here
// (one an app registers, e.g. "sms") renders every field; giving it its
// own fields is one line.
var channelFields = map[string][]string{
	channels.Email:    {FieldSubject, FieldHTML, FieldText},
	channels.Telegram: {FieldSubject, FieldTelegram, FieldPushURL},
	channels.WebPush:  {FieldPushTitle, FieldPushBody, FieldPushURL},
	channels.Inbox:    {FieldPushTitle, FieldPushBody, FieldPushURL},
	"sms":             {FieldSMS},
	"webhook":         {FieldSubject, FieldText, FieldPushURL},
}

// Source is the editable content of one template record.
type Source struct {
	ID, Key, Locale                                                  string
	Subject, HTML, Text, Telegram, PushTitle, PushBody, PushURL, SMS string
}

// SourceFromRecord reads a notifyTemplates record.
func SourceFromRecord(r *core.Record) Source {
	return Source{
		ID: r.Id, Key: r.GetString("key"), Locale: r.GetString("locale"),
		Subject: r.GetString(FieldSubject), HTML: r.GetString(FieldHTML), Text: r.GetString(FieldText),
		Telegram: r.GetString(FieldTelegram), PushTitle: r.GetString(FieldPushTitle),
		PushBody: r.GetString(FieldPushBody), PushURL: r.GetString(FieldPushURL),
		SMS: r.GetString(FieldSMS),
	}
}

// executor is what html/template and text/template templates have in common.
type executor interface {
	Execute(io.Writer, any) error
}

// Template is one template record, compiled. It is safe for concurrent use.
type Template struct {
	key, locale string
	fields      map[string]executor
	src         Source
	// zones holds the fields compiled for other timezones than UTC, by
	// zone name: datetime is bound at compile time, and a compiled
	// template cannot be given other functions safely while others run it.
	zones sync.Map // string → map[string]executor
}

// Key is the template's key, e.g. "order.shipped".
func (t *Template) Key() string { return t.key }

// Locale is the language of this version of the template.
func (t *Template) Locale() string { return t.locale }

// Compile parses every field of src. A field that does not parse is
// reported as a *FieldError.
func Compile(src Source) (*Template, error) {
	fields, err := compileFields(src, time.UTC)
	if err != nil {
		return nil, err
	}
	return &Template{key: src.Key, locale: src.Locale, fields: fields, src: src}, nil
}

// fieldsIn returns the fields compiled for loc, compiling them on first use.
func (t *Template) fieldsIn(loc *time.Location) (map[string]executor, error) {
	if loc == nil || loc == time.UTC {
		return t.fields, nil
	}
	if f, ok := t.zones.Load(loc.String()); ok {
		return f.(map[string]executor), nil
	}
	f, err := compileFields(t.src, loc)
	if err != nil {
		return nil, err
	}
	t.zones.Store(loc.String(), f)
	return f, nil
}

func compileFields(src Source, loc *time.Location) (map[string]executor, error) {
	funcs := templateFuncs(src.Locale, loc)
	out := map[string]executor{}
	for _, f := range []struct {
		name, body string
		html       bool
	}{
		{FieldSubject, src.Subject, false},
		{FieldHTML, src.HTML, true},
		{FieldText, src.Text, false},
		{FieldTelegram, src.Telegram, true},
		{FieldPushTitle, src.PushTitle, false},
		{FieldPushBody, src.PushBody, false},
		{FieldPushURL, src.PushURL, false},
		{FieldSMS, src.SMS, false},
	} {
		var (
			ex  executor
			err error
		)
		if f.html {
			ex, err = htmltemplate.New(f.name).Option("missingkey=error").Funcs(funcs).Parse(f.body)
		} else {
			ex, err = texttemplate.New(f.name).Option("missingkey=error").Funcs(funcs).Parse(f.body)
		}
		if err != nil {
			return nil, &FieldError{f.name, err}
		}
		out[f.name] = ex
	}
	return out, nil
}

// Render executes the fields channel uses (every field for All or a
// channel without its own list) against v. The email layout wraps the
// HTML only for email and All. The first failing field is reported as a
// *FieldError with the executor's line information.
func (t *Template) Render(v *View, channel string) (*Rendered, error) {
	compiled, err := t.fieldsIn(v.loc)
	if err != nil {
		return nil, err
	}
	fields, listed := channelFields[channel]
	var firstErr error
	exec := func(field string) string {
		if (listed && !slices.Contains(fields, field)) || firstErr != nil {
			return ""
		}
		var b strings.Builder
		if err := compiled[field].Execute(&b, v); err != nil {
			firstErr = &FieldError{field, err}
		}
		return b.String()
	}
	r := &Rendered{
		Subject:   oneLine(exec(FieldSubject)),
		HTML:      exec(FieldHTML),
		Text:      exec(FieldText),
		Telegram:  strings.TrimSpace(exec(FieldTelegram)),
		PushTitle: oneLine(exec(FieldPushTitle)),
		PushBody:  strings.TrimSpace(exec(FieldPushBody)),
		PushURL:   strings.TrimSpace(exec(FieldPushURL)),
		SMS:       strings.TrimSpace(exec(FieldSMS)),
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if r.PushURL != "" {
		if u, err := url.Parse(r.PushURL); err != nil || (u.Scheme != "https" && u.Scheme != "http" && !strings.HasPrefix(r.PushURL, "/")) {
			return nil, &FieldError{FieldPushURL, fmt.Errorf("%q is not an http(s) URL or a path", r.PushURL)}
		}
		r.PushURL = v.Shop.Absolute(r.PushURL)
	}
	if strings.TrimSpace(r.HTML) == "" {
		r.HTML = ""
	} else if channel == channels.Email || channel == All {
		var b strings.Builder
		err := layoutTemplate.Execute(&b, struct {
			*View
			Subject string
			Content htmltemplate.HTML
		}{v, r.Subject, htmltemplate.HTML(r.HTML)}) // the content was escaped by html/template
		if err != nil {
			return nil, &FieldError{FieldHTML, fmt.Errorf("layout: %w", err)}
		}
		r.HTML = b.String()
	}
	return r, nil
}

// oneLine folds CR/LF so that user data in a subject can never start a header.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
}
