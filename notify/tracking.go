package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/types"
)

// StatsCollection is the notifyStats view: messages counted per day, rule,
// template, channel and variant. Superusers only.
const StatsCollection = tracking.StatsCollection

// track signs what a rendered message carries before it goes out: its
// links become {public URL}/r/{token} (unless Config.NoClickTracking), a
// service or marketing email gets the one-click unsubscribe headers and
// footer, and, with Config.TrackOpens, an HTML email gets the open pixel.
// It returns the original links, to keep with the message. Without a
// public URL there is no address to sign for, and nothing changes.
func (p *plugin) track(msg *channels.Message, job outbox.Job, locale string) ([]string, error) {
	base := strings.TrimRight(p.shop().URL, "/")
	if base == "" || job.ID == "" {
		return nil, nil
	}
	email := job.Channel == channels.Email
	unsubscribe := email && job.User != "" && unsubscribable(job.Category)
	if p.cfg.NoClickTracking && !unsubscribe && !(email && p.cfg.TrackOpens) {
		return nil, nil
	}
	signer, err := p.trackKeys.Signer(p.app)
	if err != nil {
		return nil, err
	}
	t := &tracking.Tracker{Signer: signer, Base: base, Message: job.ID}
	if !p.cfg.NoClickTracking {
		t.Rewrite(msg, job.Channel)
	}
	// After the rewriting: the unsubscribe address is signed itself and
	// never becomes a /r/ link, and the pixel is no link at all.
	if unsubscribe {
		t.AddUnsubscribe(msg, locale)
	}
	if email && p.cfg.TrackOpens && msg.HTML != "" {
		msg.HTML = t.AddOpenPixel(msg.HTML)
	}
	return t.Links(), nil
}

// unsubscribable says whether a category's emails carry one-click
// unsubscribe: service and marketing do; security and transactional,
// which a customer cannot turn off, do not.
func unsubscribable(category string) bool {
	return category == CategoryService || category == CategoryMarketing
}

func (p *plugin) bindTrackingRoutes() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookTrackingRoutes,
		Func: func(se *core.ServeEvent) error {
			se.Router.GET(tracking.RedirectPath+"{token}", p.handleRedirect)
			se.Router.GET(tracking.UnsubscribePath+"{token}", p.handleUnsubscribe)
			se.Router.POST(tracking.UnsubscribePath+"{token}", p.handleUnsubscribe)
			return se.Next()
		},
	})
}

// notFound answers a token that is not the shop's: 404, and no Location.
func notFound(e *core.RequestEvent) error {
	e.Response.Header().Set("Cache-Control", "no-store")
	return e.String(http.StatusNotFound, "Not found")
}

// parseToken checks a token from the path; ok is false for anything the
// shop did not sign.
func (p *plugin) parseToken(e *core.RequestEvent) (tracking.Token, bool, error) {
	signer, err := p.trackKeys.Signer(p.app)
	if err != nil {
		return tracking.Token{}, false, err
	}
	tok, err := signer.Parse(e.Request.PathValue("token"))
	return tok, err == nil, nil
}

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")

// handleRedirect is GET /r/{token}: a signed link answers 302 to the
// address the message contained and records the first click; the open
// pixel answers the image and records the first open. Anything else is
// 404.
func (p *plugin) handleRedirect(e *core.RequestEvent) error {
	tok, ok, err := p.parseToken(e)
	if err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	if !ok {
		return notFound(e)
	}
	switch tok.Kind {
	case tracking.KindClick:
		links, err := p.messageLinks(e.Request.Context(), tok.Message)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(e) // signed, but the message was deleted
		}
		if err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		if tok.Link >= len(links) {
			return notFound(e) // not recorded yet (the send is being finalized), or erased
		}
		if err := p.stamp(tok.Message, "clickedAt"); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		h := e.Response.Header()
		h.Set("Cache-Control", "no-store")
		// The token stays on the shop: the destination sees no referrer.
		h.Set("Referrer-Policy", "no-referrer")
		return e.Redirect(http.StatusFound, links[tok.Link])
	case tracking.KindOpen:
		if err := p.stamp(tok.Message, "openedAt"); err != nil {
			return fmt.Errorf("open: %w", err)
		}
		e.Response.Header().Set("Cache-Control", "no-store, private")
		return e.Blob(http.StatusOK, "image/gif", pixel)
	}
	return notFound(e)
}

// stamp sets a message's date field (clickedAt, openedAt) the first time.
// It reads first, so that a link clicked again and again (or a mail
// client fetching the pixel on every view) costs a read on the
// concurrent pool, not a turn on SQLite's single writer.
func (p *plugin) stamp(id, field string) error {
	var have string
	err := p.app.DB().NewQuery("SELECT COALESCE([[" + field + "]], '') FROM {{" + MessagesCollection + "}} WHERE [[id]] = {:id}").
		Bind(dbx.Params{"id": id}).Row(&have)
	if errors.Is(err, sql.ErrNoRows) || err == nil && have != "" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", field, err)
	}
	_, err = p.app.NonconcurrentDB().NewQuery("UPDATE {{" + MessagesCollection + "}} SET [[" + field + "]] = {:now}" +
		" WHERE [[id]] = {:id} AND ([[" + field + "]] = '' OR [[" + field + "]] IS NULL)").
		Bind(dbx.Params{"id": id, "now": outbox.DBTime(p.cfg.Now())}).Execute()
	if err != nil {
		return fmt.Errorf("recording %s: %w", field, err)
	}
	return nil
}

// pickVariant chooses the A/B variant of a template for a message:
// weighted, and sticky per recipient and template key, so a customer sees
// the same variant every time. A message to an address without a user
// sticks to the address.
func (p *plugin) pickVariant(variants []*render.Template, job outbox.Job) *render.Template {
	if len(variants) == 1 {
		return variants[0]
	}
	who := job.User
	if who == "" {
		who = "to:" + job.To
	}
	weights := make([]float64, len(variants))
	for i, v := range variants {
		weights[i] = v.Weight()
	}
	return variants[tracking.Pick(weights, who+"\x00"+job.Template)]
}

// linksWait bounds how long a click waits for its message's send to be
// recorded: the links are stored with the outcome, a moment after the
// provider accepted the message, and a Telegram button can be tapped
// within that moment.
const linksWait = 3 * time.Second

// messageLinks reads the original addresses of a message's signed links,
// waiting up to linksWait while the message is still being sent.
func (p *plugin) messageLinks(ctx context.Context, id string) ([]string, error) {
	deadline := time.Now().Add(linksWait)
	for {
		var row struct {
			Links  types.JSONRaw `db:"links"`
			Status string        `db:"status"`
		}
		err := p.app.DB().NewQuery("SELECT [[links]], [[status]] FROM {{" + MessagesCollection + "}} WHERE [[id]] = {:id}").
			Bind(dbx.Params{"id": id}).One(&row)
		if err != nil {
			return nil, fmt.Errorf("reading the message: %w", err)
		}
		var links []string
		if len(row.Links) > 0 {
			if err := json.Unmarshal(row.Links, &links); err != nil {
				return nil, fmt.Errorf("the message's links: %w", err)
			}
		}
		if len(links) > 0 || row.Status != StatusSending || time.Now().After(deadline) {
			return links, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
