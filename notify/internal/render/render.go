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
	// Unsubscribe, when set before Render, is the one-click unsubscribe
	// address the email layout links in its footer (service and marketing
	// email); empty for everything else.
	Unsubscribe string

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
	// Logo is the absolute URL of the shop's logo image; empty shows the
	// shop's name as a wordmark.
	Logo string
	// Accent is the brand colour, "#rrggbb": the button, the progress
	// line, links. Empty or malformed: DefaultAccent.
	Accent string
	// SupportURL is a help page, ChatURL a chat with the shop (e.g. a
	// t.me link); each is linked in every email's footer when set.
	SupportURL string
	ChatURL    string

	// RecordLink is where a message's .Link points: the page about the
	// record the message is about, with {collection} and {id} replaced,
	// relative to URL unless it is absolute. A storefront that routes in
	// the fragment uses "/#/{collection}/{id}". Default: "/{collection}/{id}".
	RecordLink string
}

// DefaultRecordLink is Shop.RecordLink when it is empty.
const DefaultRecordLink = "/{collection}/{id}"

// Link is the address of the page about a record of collection, built from
// RecordLink; "" when the shop has no URL to make it absolute on.
func (s Shop) Link(collection, id string) string {
	pattern := s.RecordLink
	if pattern == "" {
		pattern = DefaultRecordLink
	}
	link := strings.NewReplacer("{collection}", url.PathEscape(collection), "{id}", url.PathEscape(id)).Replace(pattern)
	if strings.HasPrefix(link, "/") && s.URL == "" {
		return ""
	}
	return s.Absolute(link)
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
	Preheader string // the inbox preview line, hidden in the email itself
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
	FieldPreheader = "preheader"
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
	channels.Email:    {FieldSubject, FieldPreheader, FieldHTML, FieldText},
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
	Preheader                                                        string
	// Variant names an A/B alternative ("" for the original); Weight is
	// its relative share (0 counts as 1).
	Variant string
	Weight  float64
}

// SourceFromRecord reads a notifyTemplates record.
func SourceFromRecord(r *core.Record) Source {
	return Source{
		ID: r.Id, Key: r.GetString("key"), Locale: r.GetString("locale"),
		Subject: r.GetString(FieldSubject), HTML: r.GetString(FieldHTML), Text: r.GetString(FieldText),
		Telegram: r.GetString(FieldTelegram), PushTitle: r.GetString(FieldPushTitle),
		PushBody: r.GetString(FieldPushBody), PushURL: r.GetString(FieldPushURL),
		SMS: r.GetString(FieldSMS), Preheader: r.GetString(FieldPreheader),
		Variant: r.GetString("variant"), Weight: r.GetFloat("weight"),
	}
}

// executor is what html/template and text/template templates have in common.
type executor interface {
	Execute(io.Writer, any) error
}

// Template is one template record, compiled. It is safe for concurrent use.
type Template struct {
	key, locale string
	variant     string
	weight      float64
	fields      map[string]executor
	src         Source
	// zones holds the fields compiled for other timezones than UTC, by
	// zone name: datetime is bound at compile time, and a compiled
	// template cannot be given other functions safely while others run it.
	zones sync.Map // string → map[string]executor
}

// Variant is the template's A/B variant, "" for the original.
func (t *Template) Variant() string { return t.variant }

// Weight is the variant's relative share of customers, at least 1 when
// the record leaves it empty or 0.
func (t *Template) Weight() float64 {
	if t.weight <= 0 {
		return 1
	}
	return t.weight
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
	return &Template{key: src.Key, locale: src.Locale, variant: src.Variant, weight: src.Weight, fields: fields, src: src}, nil
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
		{FieldPreheader, src.Preheader, false},
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
			ex, err = htmltemplate.New(f.name).Option("missingkey=error").Funcs(funcs).Funcs(htmlFuncs(src.Locale)).Parse(f.body)
		} else {
			ex, err = texttemplate.New(f.name).Option("missingkey=error").Funcs(funcs).Funcs(textFuncs(src.Locale)).Parse(f.body)
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
		Preheader: oneLine(exec(FieldPreheader)),
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
		html, err := wrapHTML(v, r.Subject, r.Preheader, r.HTML) // the content was escaped by html/template
		if err != nil {
			return nil, &FieldError{FieldHTML, fmt.Errorf("layout: %w", err)}
		}
		r.HTML = html
	}
	if r.Text != "" && (channel == channels.Email || channel == All) {
		r.Text = wrapText(v, r.Text)
	}
	return r, nil
}

// oneLine folds CR/LF so that user data in a subject can never start a header.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
}
