package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

func (p *plugin) bindRoutes() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookRoutes,
		Func: func(se *core.ServeEvent) error {
			g := se.Router.Group("/api/notify/templates")
			g.GET("/{id}/preview", p.handlePreview).Bind(apis.RequireSuperuserAuth())
			g.POST("/{id}/test", p.handleTestSend).Bind(apis.RequireSuperuserAuth())
			return se.Next()
		},
	})
}

// previewResponse is what the preview route returns. Fields of other
// channels are left empty when a channel is asked for.
type previewResponse struct {
	Template  string `json:"template"`
	Locale    string `json:"locale"`
	Record    string `json:"record,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Preheader string `json:"preheader,omitempty"` // the inbox preview line of the email
	HTML      string `json:"html,omitempty"`
	Text      string `json:"text,omitempty"`
	Telegram  string `json:"telegram,omitempty"`
	PushTitle string `json:"pushTitle,omitempty"`
	PushBody  string `json:"pushBody,omitempty"`
	PushURL   string `json:"pushUrl,omitempty"`
	SMS       string `json:"sms,omitempty"`
	// SMSEncoding and SMSSegments say how the SMS goes out: GSM-7 holds 160
	// characters (153 a part when split), UCS-2 — any Cyrillic letter —
	// 70 (67); each part is billed.
	SMSEncoding string `json:"smsEncoding,omitempty"`
	SMSSegments int    `json:"smsSegments,omitempty"`
}

func (p *plugin) handlePreview(e *core.RequestEvent) error {
	channel := e.Request.URL.Query().Get("channel")
	if names := p.channelNames(); channel != "" && !slices.Contains(names, channel) {
		return e.BadRequestError(fmt.Sprintf("Unknown channel %q; use one of %s.", channel, strings.Join(names, ", ")), nil)
	}
	tpl, rendered, recordID, err := p.renderForAdmin(e, e.Request.URL.Query().Get("record"), channel)
	if err != nil {
		return err
	}
	if format := e.Request.URL.Query().Get("format"); format == "html" {
		return previewHTML(e, rendered)
	} else if format != "" && format != "json" {
		return e.BadRequestError(fmt.Sprintf("Unknown format %q; use json (the default) or html.", format), nil)
	}
	res := previewOf(tpl, rendered, recordID, channel)
	return e.JSON(http.StatusOK, res)
}

// previewOf is the preview of a template as rendered for channel (every
// channel for ""): the preview route's answer and the dashboard editor's.
func previewOf(tpl *core.Record, rendered *render.Rendered, recordID, channel string) previewResponse {
	res := previewResponse{Template: tpl.GetString("key"), Locale: tpl.GetString("locale"), Record: recordID}
	if channel == "" || channel == channels.Email {
		res.Subject, res.HTML, res.Text = rendered.Subject, rendered.HTML, rendered.Text
		res.Preheader = rendered.Preheader
	}
	if channel == "" || channel == channels.Telegram {
		res.Telegram = rendered.Telegram
	}
	if channel == "" || channel == channels.WebPush || channel == channels.Inbox {
		res.PushTitle, res.PushBody, res.PushURL = rendered.PushTitle, rendered.PushBody, rendered.PushURL
	}
	if (channel == "" || channel == sms.Name) && rendered.SMS != "" {
		res.SMS = rendered.SMS
		res.SMSEncoding, res.SMSSegments = sms.Segments(rendered.SMS)
	}
	return res
}

// renderForAdmin renders template {id} for channel (every field for "")
// against the record with recordID (searched in the collections the
// template is used with), or against sample data when recordID is empty.
func (p *plugin) renderForAdmin(e *core.RequestEvent, recordID, channel string) (*core.Record, *render.Rendered, string, error) {
	tplRec, err := e.App.FindRecordById(TemplatesCollection, e.Request.PathValue("id"))
	if err != nil {
		return nil, nil, "", e.NotFoundError("Template not found.", err)
	}
	return p.renderRecordForAdmin(e, tplRec, recordID, channel)
}

// renderRecordForAdmin is renderForAdmin for a template record in hand,
// saved or not (the dashboard's editor previews unsaved drafts).
func (p *plugin) renderRecordForAdmin(e *core.RequestEvent, tplRec *core.Record, recordID, channel string) (*core.Record, *render.Rendered, string, error) {
	tpl, err := render.Compile(render.SourceFromRecord(tplRec))
	if err != nil {
		return nil, nil, "", e.BadRequestError("The template does not parse: "+err.Error(), nil)
	}
	colls, err := p.collectionsForTemplate(e.App, tpl.Key())
	if err != nil {
		return nil, nil, "", e.InternalServerError("", err)
	}
	var view *View
	if recordID == "" {
		if len(colls) == 0 {
			return nil, nil, "", e.BadRequestError(fmt.Sprintf("No rule uses template %q, so there is no sample record; pass ?record=<id>.", tpl.Key()), nil)
		}
		view = render.Sample(e.App, colls[0], p.shopIn(tpl.Locale()), tpl.Locale())
	} else {
		var src *core.Record
		for _, c := range colls {
			if src, err = e.App.FindRecordById(c, recordID); err == nil {
				break
			}
		}
		if src == nil {
			return nil, nil, "", e.NotFoundError(fmt.Sprintf("No record %q in the collections template %q is used with.", recordID, tpl.Key()), nil)
		}
		user := p.recipientForPreview(e.App, src, tpl.Key())
		if view, err = p.view(user, src.Collection().Name, src.Id, render.Export(src), tpl.Locale()); err != nil {
			return nil, nil, "", e.InternalServerError("", err)
		}
	}
	rendered, err := tpl.Render(view, channel)
	if err != nil {
		return nil, nil, "", e.BadRequestError("The template does not render: "+err.Error(), nil)
	}
	return tplRec, rendered, recordID, nil
}

// recipientForPreview finds the user a rule using key would address for
// src; a made-up user when there is none.
func (p *plugin) recipientForPreview(app core.App, src *core.Record, key string) *core.Record {
	if set := p.rules.Load(); set != nil {
		for _, r := range set.All() {
			if r.Template != key || r.Collection != src.Collection().Name {
				continue
			}
			if id, err := rules.Recipient(app, src, r.Recipient); err == nil && id != "" {
				if u, err := app.FindRecordById(p.cfg.UsersCollection, id); err == nil {
					return u
				}
			}
		}
	}
	users, _ := app.FindCachedCollectionByNameOrId(p.cfg.UsersCollection)
	u := core.NewRecord(users)
	u.Id = "previewuser0001"
	u.Set("name", "Anna Petrova")
	u.SetEmail("anna@example.org")
	return u
}

// testSendTimeout bounds a test send from the dashboard.
const testSendTimeout = time.Minute

type testSendRequest struct {
	Channel string `json:"channel"`
	To      string `json:"to"`
	Record  string `json:"record"`
}

// handleTestSend sends one rendered message right away and logs it in
// notifyMessages like any other, so the admin sees the provider's answer.
func (p *plugin) handleTestSend(e *core.RequestEvent) error {
	var body testSendRequest
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("The body must be JSON: {\"channel\": \"email\", \"to\": \"you@example.org\", \"record\": \"<optional record id>\"}.", err)
	}
	if names := p.channelNames(); !slices.Contains(names, body.Channel) {
		return e.BadRequestError(fmt.Sprintf("Unknown channel %q; use one of %s.", body.Channel, strings.Join(names, ", ")), nil)
	}
	if body.To == "" {
		return e.BadRequestError("\"to\" is required: an email address, a Telegram chat id, a phone number for sms, or a user id for webpush and inbox.", nil)
	}
	tpl, rendered, _, err := p.renderForAdmin(e, body.Record, body.Channel)
	if err != nil {
		return err
	}
	sender := p.senders[body.Channel]
	msg := &channels.Message{
		ID: core.GenerateDefaultRandomId(), To: body.To, UserID: body.To, Category: CategoryTransactional,
		Subject: rendered.Subject, Text: rendered.Text, HTML: rendered.HTML, Telegram: rendered.Telegram,
		PushTitle: rendered.PushTitle, PushBody: rendered.PushBody, PushURL: rendered.PushURL,
		PushTag: "test", SMS: rendered.SMS, Key: tpl.GetString("key"),
	}
	var provider string
	if sender == nil {
		err = channels.Skip(fmt.Sprintf("the %s channel is not configured", body.Channel))
	} else {
		// An admin waits for this answer: a minute at most, not the queue's
		// SendTimeout, which waits out a slow SMTP server for 10 minutes.
		ctx, cancel := context.WithTimeout(e.Request.Context(), min(p.cfg.SendTimeout, testSendTimeout))
		provider, err = sendWaitingForTurns(ctx, sender, msg)
		cancel()
	}

	status, code, errText := StatusSent, http.StatusOK, ""
	if reason, ok := channels.SkipReason(err); ok {
		status, code, errText = StatusSkipped, http.StatusConflict, reason
	} else if err != nil {
		status, code, errText = StatusFailed, http.StatusBadGateway, err.Error()
	}
	logged, logErr := p.logTestSend(e.App, tpl, body, msg, status, provider, errText)
	if logErr != nil {
		return e.InternalServerError("The message was processed but could not be logged.", logErr)
	}
	return e.JSON(code, map[string]any{"status": status, "providerId": provider, "error": errText, "message": logged})
}

func (p *plugin) logTestSend(app core.App, tpl *core.Record, body testSendRequest, msg *channels.Message, status, provider, errText string) (string, error) {
	coll, err := app.FindCachedCollectionByNameOrId(MessagesCollection)
	if err != nil {
		return "", err
	}
	rec := core.NewRecord(coll)
	rec.Id = msg.ID
	rec.Set("template", tpl.GetString("key"))
	rec.Set("channel", body.Channel)
	rec.Set("category", msg.Category)
	rec.Set("to", body.To)
	c := contentFor(msg, body.Channel)
	rec.Set("subject", c.Subject)
	rec.Set("body", c.Body)
	rec.Set("html", c.HTML)
	rec.Set("link", c.Link)
	rec.Set("status", status)
	rec.Set("attempts", 1)
	rec.Set("error", errText)
	rec.Set("providerId", provider)
	now := outbox.DBTime(p.cfg.Now())
	rec.Set("runAt", now)
	if status == StatusSent {
		rec.Set("sentAt", now)
	}
	rec.Set("dedupeKey", "test:"+msg.ID)
	if body.Record != "" {
		rec.Set("sourceRecord", body.Record)
	}
	if err := app.SaveNoValidate(rec); err != nil {
		return "", errors.Join(errors.New("logTestSend"), err)
	}
	return rec.Id, nil
}

// sendWaitingForTurns sends m now, waiting out the turns a rate-limited
// channel asks for (the queue would put the message back instead; an admin
// waiting for a test send wants the answer), until ctx ends.
func sendWaitingForTurns(ctx context.Context, sender channels.Channel, m *channels.Message) (string, error) {
	for {
		provider, err := sender.Send(ctx, m)
		wait, ok := channels.RetryAfterDelay(err)
		if !ok {
			return provider, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", err
		}
	}
}
