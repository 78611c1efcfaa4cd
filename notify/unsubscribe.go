package notify

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// handleUnsubscribe is the one-click unsubscribe of RFC 8058 at
// /api/notify/unsubscribe/{token}, the token naming one service or
// marketing email. POST (a mail client's one click, or the page's button)
// turns that category off on email in the customer's preferences; POST
// with undo=1 turns it back on. GET only shows the page, so a link
// scanner fetching it changes nothing. No sign-in: the signed token is the
// proof; one the shop did not sign is 404.
func (p *plugin) handleUnsubscribe(e *core.RequestEvent) error {
	tok, ok, err := p.parseToken(e)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if !ok || tok.Kind != tracking.KindUnsubscribe {
		return notFound(e)
	}
	var row struct {
		User     string `db:"user"`
		Category string `db:"category"`
	}
	err = p.app.DB().NewQuery("SELECT [[user]], [[category]] FROM {{" + MessagesCollection + "}} WHERE [[id]] = {:id}").
		Bind(dbx.Params{"id": tok.Message}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(e)
	}
	if err != nil {
		return fmt.Errorf("unsubscribe: reading the message: %w", err)
	}
	if row.User == "" || !unsubscribable(row.Category) {
		return notFound(e)
	}
	user, err := p.app.FindRecordById(p.cfg.UsersCollection, row.User)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(e)
	}
	if err != nil {
		return fmt.Errorf("unsubscribe: reading the customer: %w", err)
	}
	if user.Collection().Fields.GetByName(p.cfg.PreferencesField) == nil {
		return e.String(http.StatusNotImplemented, "This shop keeps no notification preferences.")
	}
	prefs := preferencesOf(user, p.cfg.PreferencesField)
	changed := false
	if e.Request.Method == http.MethodPost {
		// A mail client posts "List-Unsubscribe=One-Click"; the page's
		// undo button posts "undo=1".
		on := e.Request.PostFormValue("undo") != ""
		if prefs.Allows(channels.Email, row.Category) != on {
			if prefs == nil {
				prefs = Preferences{}
			}
			if prefs[channels.Email] == nil {
				prefs[channels.Email] = map[string]bool{}
			}
			prefs[channels.Email][row.Category] = on
			raw, err := json.Marshal(prefs)
			if err != nil {
				return fmt.Errorf("unsubscribe: %w", err)
			}
			user.Set(p.cfg.PreferencesField, string(raw))
			if err := p.app.Save(user); err != nil {
				return fmt.Errorf("unsubscribe: saving the preferences: %w", err)
			}
			changed = true
		}
	}
	page := unsubscribePage{
		Lang:     "en",
		Action:   e.Request.URL.Path,
		Category: row.Category,
		Off:      !prefs.Allows(channels.Email, row.Category),
		Changed:  changed,
		Shop:     p.shop().Name,
		ShopURL:  p.shop().URL,
	}
	if strings.HasPrefix(user.GetString("locale"), "ru") {
		page.Lang = "ru"
	}
	page.T = unsubscribeWords[page.Lang]
	var b strings.Builder
	if err := unsubscribeTemplate.Execute(&b, page); err != nil {
		return fmt.Errorf("unsubscribe: page: %w", err)
	}
	h := e.Response.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	return e.HTML(http.StatusOK, b.String())
}

type unsubscribePage struct {
	Lang, Action, Category, Shop, ShopURL string
	Off, Changed                          bool
	T                                     map[string]string
}

// unsubscribeWords are the page's texts; {cat} is the category's name.
var unsubscribeWords = map[string]map[string]string{
	"en": {
		"title": "Email preferences", "service": "service updates", "marketing": "news and offers",
		"off":     "You will no longer receive {cat} by email.",
		"on":      "You receive {cat} by email.",
		"stop":    "Unsubscribe",
		"undo":    "Subscribe again",
		"note":    "Order and account emails keep coming: they are about things you did.",
		"changed": "Saved.",
		"back":    "Back to the shop",
	},
	"ru": {
		"title": "Настройки писем", "service": "сервисные письма", "marketing": "новости и предложения",
		"off":     "Вы больше не будете получать {cat} по почте.",
		"on":      "Вы получаете {cat} по почте.",
		"stop":    "Отписаться",
		"undo":    "Подписаться снова",
		"note":    "Письма о заказах и аккаунте продолжат приходить: они о ваших действиях.",
		"changed": "Сохранено.",
		"back":    "Вернуться в магазин",
	},
}

var unsubscribeTemplate = template.Must(template.New("unsubscribe").Funcs(template.FuncMap{
	"say": func(t map[string]string, key, cat string) string {
		return strings.ReplaceAll(t[key], "{cat}", t[cat])
	},
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{index .T "title"}} · {{.Shop}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111827;line-height:1.5}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #d1d5db;background:#f9fafb;cursor:pointer}
.muted{color:#6b7280;font-size:.875rem}</style></head>
<body><main>
<h1>{{index .T "title"}}</h1>
{{if .Changed}}<p role="status"><strong>{{index .T "changed"}}</strong></p>{{end}}
{{if .Off}}<p data-state="off">{{say .T "off" .Category}}</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="undo" value="1"><button type="submit">{{index .T "undo"}}</button></form>
{{else}}<p data-state="on">{{say .T "on" .Category}}</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{index .T "stop"}}</button></form>
{{end}}
<p class="muted">{{index .T "note"}}</p>
{{if .ShopURL}}<p><a href="{{.ShopURL}}">{{index .T "back"}}</a></p>{{end}}
</main></body></html>
`))
