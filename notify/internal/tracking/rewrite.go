package tracking

import (
	"html"
	"regexp"
	"strings"

	"github.com/pbnotify/pbnotify/channels"
)

// RedirectPath is where signed links point, on the shop's public URL:
// {public URL}/r/{token}.
const RedirectPath = "/r/"

// UnsubscribePath is the one-click unsubscribe address, on the shop's
// public URL: {public URL}/api/notify/unsubscribe/{token}.
const UnsubscribePath = "/api/notify/unsubscribe/"

// Tracker signs the links of one message.
type Tracker struct {
	Signer  *Signer
	Base    string // the shop's public URL, without a trailing slash
	Message string // the notifyMessages id

	links []string
	index map[string]int
}

// Links are the original addresses in index order: what a click token's
// index names. Store them with the message.
func (t *Tracker) Links() []string { return t.links }

// Rewrite replaces every http(s) link that channel shows in m with a
// signed link: email HTML (the href of every <a> and <area>) and text,
// Telegram text (hrefs and bare addresses) and buttons, the push url and
// the inbox link. Other channels (SMS, the webhook to the shop's own
// systems, an app's own) are left as they are.
func (t *Tracker) Rewrite(m *channels.Message, channel string) {
	switch channel {
	case channels.Email:
		m.HTML = t.anchors(m.HTML)
		m.Text = t.bare(m.Text, false)
	case channels.Telegram:
		m.Telegram = t.textNodes(t.anchors(m.Telegram))
		for i := range m.Buttons {
			m.Buttons[i].URL = t.sign(m.Buttons[i].URL)
		}
		m.PushURL = t.sign(m.PushURL)
	case channels.WebPush, channels.Inbox:
		m.PushURL = t.sign(m.PushURL)
	}
}

// URL is the shop address of a token.
func (t *Tracker) URL(path string, tok Token) string {
	return t.Base + path + t.Signer.Sign(tok)
}

// OpenURL is the address of the message's open pixel.
func (t *Tracker) OpenURL() string {
	return t.URL(RedirectPath, Token{Kind: KindOpen, Message: t.Message})
}

// UnsubscribeURL is the message's one-click unsubscribe address.
func (t *Tracker) UnsubscribeURL() string {
	return t.URL(UnsubscribePath, Token{Kind: KindUnsubscribe, Message: t.Message})
}

// sign returns the signed link for u, or u itself when it is not an
// http(s) address, is already the shop's own signed or unsubscribe
// address, or the message already has MaxLinks links. The same address
// twice gets the same index.
func (t *Tracker) sign(u string) string {
	if !isHTTP(u) || strings.HasPrefix(u, t.Base+RedirectPath) || strings.HasPrefix(u, t.Base+UnsubscribePath) {
		return u
	}
	i, ok := t.index[u]
	if !ok {
		if len(t.links) >= MaxLinks {
			return u
		}
		if t.index == nil {
			t.index = map[string]int{}
		}
		i = len(t.links)
		t.index[u] = i
		t.links = append(t.links, u)
	}
	return t.URL(RedirectPath, Token{Kind: KindClick, Message: t.Message, Link: i})
}

func isHTTP(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

var (
	// anchorTag is an <a> or <area> start tag: only those are links a
	// reader follows (a <link href> stylesheet is fetched by the client
	// and would count as a click).
	anchorTag = regexp.MustCompile(`(?i)<(?:a|area)\s[^>]*>`)
	hrefAttr  = regexp.MustCompile(`(?i)(\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')`)
	// bareURL is an address written out in text; trailing punctuation is
	// the sentence's, not the address's (trimmed in bare).
	bareURL = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'()\[\]{}]+`)
	htmlTag = regexp.MustCompile(`<[^>]*>`)
)

// anchors signs the href of every <a> and <area> in an HTML document.
// Attribute values are HTML: unescaped to find the address, escaped again
// around the signed one.
func (t *Tracker) anchors(doc string) string {
	return anchorTag.ReplaceAllStringFunc(doc, func(tag string) string {
		return hrefAttr.ReplaceAllStringFunc(tag, func(attr string) string {
			m := hrefAttr.FindStringSubmatch(attr)
			raw := m[2] + m[3]
			u := strings.TrimSpace(html.UnescapeString(raw))
			signed := t.sign(u)
			if signed == u {
				return attr
			}
			return m[1] + `"` + html.EscapeString(signed) + `"`
		})
	})
}

// textNodes signs bare addresses in the text between an HTML document's
// tags (Telegram shows them as links).
func (t *Tracker) textNodes(doc string) string {
	var b strings.Builder
	last := 0
	for _, loc := range htmlTag.FindAllStringIndex(doc, -1) {
		b.WriteString(t.bare(doc[last:loc[0]], true))
		b.WriteString(doc[loc[0]:loc[1]])
		last = loc[1]
	}
	b.WriteString(t.bare(doc[last:], true))
	return b.String()
}

// bare signs addresses written out in text; escaped says the text is
// HTML (entities in the address are unescaped first).
func (t *Tracker) bare(text string, escaped bool) string {
	return bareURL.ReplaceAllStringFunc(text, func(found string) string {
		trimmed := strings.TrimRight(found, ".,;:!?")
		if escaped && (strings.HasSuffix(trimmed, "&amp") || strings.HasSuffix(trimmed, "&lt") || strings.HasSuffix(trimmed, "&gt")) {
			trimmed = found // an entity, not punctuation
		}
		tail := found[len(trimmed):]
		u := trimmed
		if escaped {
			u = html.UnescapeString(trimmed)
		}
		signed := t.sign(u)
		if signed == u {
			return found
		}
		if escaped {
			signed = html.EscapeString(signed)
		}
		return signed + tail
	})
}

// AddOpenPixel puts the 1×1 open image at the end of an HTML document's
// body. Its alt is empty so a client that blocks images shows nothing.
func (t *Tracker) AddOpenPixel(doc string) string {
	img := `<img src="` + html.EscapeString(t.OpenURL()) + `" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`
	return beforeBodyEnd(doc, img)
}

// footerText is the unsubscribe line, by locale; English otherwise.
var footerText = map[string][2]string{
	"ru": {"Не хотите получать такие письма?", "Отписаться"},
	"en": {"Don't want these emails?", "Unsubscribe"},
}

// AddUnsubscribe gives an email the one-click unsubscribe of RFC 8058:
// the List-Unsubscribe and List-Unsubscribe-Post headers and a footer
// link to the same signed address, in HTML and text. The address is not a
// /r/ link: it is signed itself.
func (t *Tracker) AddUnsubscribe(m *channels.Message, locale string) {
	u := t.UnsubscribeURL()
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	m.Headers["List-Unsubscribe"] = "<" + u + ">"
	m.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	words, ok := footerText[locale]
	if !ok {
		words = footerText["en"]
	}
	if m.HTML != "" {
		m.HTML = beforeBodyEnd(m.HTML, `<p style="font-size:12px;color:#6b7280;text-align:center;margin:16px 0">`+
			html.EscapeString(words[0])+` <a href="`+html.EscapeString(u)+`" style="color:#6b7280">`+html.EscapeString(words[1])+`</a></p>`)
	}
	m.Text = strings.TrimRight(m.Text, "\n") + "\n\n--\n" + words[0] + " " + words[1] + ": " + u + "\n"
}

// beforeBodyEnd inserts s before the last </body>, or at the end of a
// document that has none.
func beforeBodyEnd(doc, s string) string {
	i := strings.LastIndex(strings.ToLower(doc), "</body>")
	if i < 0 {
		return doc + s
	}
	return doc[:i] + s + doc[i:]
}
