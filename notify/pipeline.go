package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pbnotify/pbnotify/notify/internal/sysmail"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// deliver is what happens to one claimed message, top to bottom:
// rule → guard → audience → render → address → send. It is the outbox
// dispatcher's Deliver: it owns the work, and its outcome says what happens
// next. Only a channel's, a rule's or a template's own verdict ends a
// message; a database error on the way is returned as a plain error, which
// the outbox retries with backoff.
func (p *plugin) deliver(ctx context.Context, job outbox.Job) outbox.Outcome {
	// Rule: still there and active? (Messages sent from code have none.)
	rule := p.rules.Load().ByID(job.Rule)
	if job.Rule != "" {
		switch {
		case rule == nil:
			return outbox.Cancelled("the rule was deleted")
		case !rule.Active:
			return outbox.Cancelled(fmt.Sprintf("rule %q is disabled", rule.Name))
		}
	}

	// Guard: re-checked on the record as it is now.
	if rule != nil && rule.Guard != "" {
		src, err := p.app.FindRecordById(job.SourceCollection, job.SourceRecord)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return outbox.Cancelled(fmt.Sprintf("the %s record %s no longer exists", job.SourceCollection, job.SourceRecord))
		case err != nil:
			return outbox.Retry(fmt.Errorf("reading the %s record: %w", job.SourceCollection, err))
		}
		holds, err := rule.GuardHolds(p.app, src)
		switch {
		case errors.Is(err, rules.ErrBroken):
			return outbox.Failed(fmt.Errorf("guard %q cannot be evaluated: %w", rule.Guard, err))
		case err != nil:
			return outbox.Retry(fmt.Errorf("guard: %w", err))
		case !holds:
			return outbox.Cancelled("guard no longer holds: " + rule.Guard)
		}
	}

	// Escalation: a later step goes out only while no step was read.
	if rule != nil && rule.Mode == ModeEscalate && job.Chain != "" {
		read, err := p.chainRead(job.Chain)
		switch {
		case err != nil:
			return outbox.Retry(fmt.Errorf("reading the earlier steps: %w", err))
		case read:
			return outbox.Cancelled("the customer read an earlier step; no need to escalate")
		}
	}

	// Audience: the recipient, and whether they take this category here.
	var user *core.Record
	if job.User != "" {
		var err error
		user, err = p.app.FindRecordById(p.cfg.UsersCollection, job.User)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return outbox.Cancelled("the recipient no longer exists")
		case err != nil:
			return outbox.Retry(fmt.Errorf("reading the recipient: %w", err))
		}
		// A link or code the customer asked for (sysmail) goes out whatever
		// their preferences say.
		if reason := p.turnedOff(user, job.Channel, job.Category); reason != "" && !sysmail.Requested(job.Data) {
			return p.passOver(rule, job, reason)
		}
	}
	// Window: a message due at the recipient's night waits for the morning.
	if out, wait := p.holdForWindow(rule, job, user); wait {
		return out
	}
	sender := p.senders[job.Channel]

	// Render: only the fields this channel uses.
	locale := p.cfg.DefaultLocale
	if user != nil && user.GetString("locale") != "" {
		locale = user.GetString("locale")
	}
	variants, err := p.templates.Variants(p.app, job.Template, locale, p.cfg.DefaultLocale)
	switch {
	case errors.Is(err, render.ErrNoTemplate):
		return p.finish(rule, job, outbox.Failed(err))
	case err != nil:
		return outbox.Retry(fmt.Errorf("template %q: %w", job.Template, err))
	}
	tpl := p.pickVariant(variants, job)
	var data map[string]any
	if err := decodeData(job.Data, &data); err != nil {
		return p.finish(rule, job, outbox.Failed(fmt.Errorf("the message's record snapshot: %w", err)))
	}
	// PocketBase's account emails keep their token or code apart from the
	// row (sysmail); without it the link would be dead.
	sent, _ := data[sendDataKey].(map[string]any)
	secret, err := sysmail.Reveal(p.app, sent, p.cfg.Now())
	switch {
	case errors.Is(err, sysmail.ErrGone):
		return p.finish(rule, job, outbox.Cancelled(err.Error()))
	case err != nil:
		return outbox.Retry(err)
	}
	view, err := p.view(user, job.SourceCollection, job.SourceRecord, data, tpl.Locale())
	if err != nil {
		return outbox.Retry(fmt.Errorf("template data: %w", err))
	}
	rendered, err := tpl.Render(view, job.Channel)
	if err != nil {
		return p.finish(rule, job, outbox.Failed(fmt.Errorf("template %q (%s): %w", tpl.Key(), tpl.Locale(), err)))
	}
	msg := &channels.Message{
		ID: job.ID, UserID: job.User, Category: job.Category, Key: job.Template, Record: view.Record,
		Subject: rendered.Subject, Text: rendered.Text, HTML: rendered.HTML,
		Telegram:  rendered.Telegram,
		PushTitle: rendered.PushTitle, PushBody: rendered.PushBody, PushURL: rendered.PushURL,
		PushTag: pushTag(job),
		SMS:     rendered.SMS,
	}
	if msg.PushURL != "" && job.Channel == channels.Telegram {
		msg.Buttons = []channels.Button{{Text: buttonLabel(tpl.Locale()), URL: msg.PushURL}}
	}
	// An account email's links carry its token (sysmail): signing them
	// would keep the token in the row's links, out of the masking's reach,
	// and the customer follows them once anyway.
	var links []string
	if secret == nil {
		if links, err = p.track(msg, job, tpl.Locale()); err != nil {
			return outbox.Retry(fmt.Errorf("signing the links: %w", err))
		}
	}
	content := contentFor(msg, job.Channel)
	secret.Mask(&content.Subject, &content.Body, &content.HTML, &content.Link)
	content.Variant, content.Links = tpl.Variant(), links
	if sender == nil {
		// Rendered and kept, so the owner sees what would have gone out.
		return p.passOver(rule, job, fmt.Sprintf("the %s channel is not configured", job.Channel), content)
	}

	// Address: a user's is looked up now, so a corrected address is used
	// by every retry; a message without a user carries its own, and so
	// does one sent with an explicit address (Message.To).
	msg.To = job.To
	if to, ok := data[sendToKey].(string); ok {
		msg.To = to
	} else if user != nil {
		msg.To = ""
		if addr := p.addresses[job.Channel]; addr != nil {
			if msg.To, err = addr(user); err != nil {
				return outbox.Retry(fmt.Errorf("the recipient's %s address: %w", job.Channel, err))
			}
		}
	}
	content.To = msg.To
	// Audience, by address: an unverified one is capped.
	if reason, err := p.addressCapped(job, user, msg.To); err != nil {
		return outbox.Retry(err)
	} else if reason != "" {
		return p.passOver(rule, job, reason, content)
	}

	// Send.
	sendCtx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
	defer cancel()
	provider, err := sender.Send(sendCtx, msg)
	if reason, ok := channels.SkipReason(err); ok {
		return p.passOver(rule, job, reason, content)
	}
	if channels.IsPermanent(err) {
		// The provider refused it for good (Telegram: the customer blocked
		// the bot): a "first available channel" rule tries the next one
		// at once; otherwise the message has failed.
		if rule != nil && rule.OneAtATime() {
			if next := nextChannel(rule.Channels, job.Channel); next != "" {
				return outbox.Move(next, addNote(priorNote(rule, job), job.Channel+" failed: "+err.Error()))
			}
		}
		out := outbox.Failed(err)
		out.Content = content // what the provider refused
		return p.finish(rule, job, out)
	}
	if err != nil {
		return p.finish(rule, job, outbox.Retry(err))
	}
	out := outbox.Sent(provider, content)
	out.Then = p.nextStep(rule, job)
	return p.finish(rule, job, out)
}

// nextStep is, for an escalating rule, the message on the next channel,
// due when this step has gone unread for the rule's escalateAfter; nil
// when there is none.
func (p *plugin) nextStep(rule *rules.Rule, job outbox.Job) *outbox.Message {
	if rule == nil || rule.Mode != ModeEscalate {
		return nil
	}
	next := nextChannel(rule.Channels, job.Channel)
	if next == "" {
		return nil
	}
	chain := job.Chain
	if chain == "" {
		chain = job.ID
	}
	return &outbox.Message{
		Rule: job.Rule, Template: job.Template, Channel: next, Category: job.Category, User: job.User,
		SourceCollection: job.SourceCollection, SourceRecord: job.SourceRecord, Data: []byte(job.Data),
		RunAt: p.cfg.Now().Add(rule.EscalateAfter), Chain: chain,
		DedupeKey: rules.DedupeKey(job.Rule, job.SourceRecord, "escalate:"+chain, next, job.User),
	}
}

// chainRead reports whether the customer read any step of an escalation
// so far (an inbox message's readAt).
func (p *plugin) chainRead(chain string) (bool, error) {
	var n int
	err := p.app.DB().NewQuery(`SELECT COUNT(*) FROM {{notifyMessages}}
		WHERE ([[id]] = {:chain} OR [[chain]] = {:chain})
		AND ([[readAt]] != '' OR [[openedAt]] != '' OR [[clickedAt]] != '')`).
		Bind(dbx.Params{"chain": chain}).Row(&n)
	return n > 0, err
}

// passOver ends a message that cannot go out on its channel: skipped, or,
// for a "first available channel" rule, moved to the next listed channel.
func (p *plugin) passOver(rule *rules.Rule, job outbox.Job, reason string, content ...*outbox.Content) outbox.Outcome {
	if rule != nil && rule.OneAtATime() {
		if next := nextChannel(rule.Channels, job.Channel); next != "" {
			return outbox.Move(next, addNote(priorNote(rule, job), job.Channel+": "+reason))
		}
	}
	out := outbox.Skipped(reason)
	if len(content) > 0 {
		out.Content = content[0]
	}
	return p.finish(rule, job, out)
}

// finish keeps, on the final channel of a "first available channel" rule,
// the note of why the earlier ones were passed over.
func (p *plugin) finish(rule *rules.Rule, job outbox.Job, out outbox.Outcome) outbox.Outcome {
	out.Note = priorNote(rule, job)
	return out
}

// notePrefix starts the note a Move leaves in the error field.
const notePrefix = "skipped "

// priorNote is the note earlier channels left, when job was moved to its
// channel by a "first available channel" rule.
func priorNote(rule *rules.Rule, job outbox.Job) string {
	if rule == nil || !rule.OneAtATime() || job.Channel == rule.FirstChannel() || !strings.HasPrefix(job.Error, notePrefix) {
		return ""
	}
	return job.Error
}

func addNote(prior, note string) string {
	if prior == "" {
		return notePrefix + note
	}
	return prior + "; " + note
}

// nextChannel is the channel listed after ch, or "".
func nextChannel(all []string, ch string) string {
	for i, c := range all {
		if c == ch && i+1 < len(all) {
			return all[i+1]
		}
	}
	return ""
}

// contentFor picks what the log (and the inbox) keeps for a channel: the
// subject, the body and, for email, the HTML.
func contentFor(m *channels.Message, ch string) *outbox.Content {
	c := &outbox.Content{Link: m.PushURL}
	switch ch {
	case channels.Telegram:
		c.Subject, c.Body = m.Subject, m.Telegram
	case channels.WebPush, channels.Inbox:
		c.Subject, c.Body = m.PushTitle, m.PushBody
	case "sms":
		c.Body = m.SMS
	default:
		c.Subject, c.Body, c.HTML = m.Subject, m.Text, m.HTML
	}
	return c
}

func buttonLabel(locale string) string {
	if locale == "ru" {
		return "Открыть"
	}
	return "Open"
}

// Backoff is the default retry policy: attempt⁴ seconds with ±10% jitter.
func Backoff(attempt int) time.Duration { return outbox.Backoff(attempt) }

// decodeData reads a message's record snapshot; a message without one
// renders with an empty .Record.
func decodeData(raw string, into *map[string]any) error {
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), into); err != nil {
			return err
		}
	}
	if *into == nil {
		*into = map[string]any{}
	}
	return nil
}

// pushTag groups a message's pushes on the device: a newer message about
// the same record replaces the older one; a message about no record (sent
// from code) stands alone.
func pushTag(job outbox.Job) string {
	if job.SourceRecord == "" {
		return job.ID
	}
	return job.SourceCollection + "-" + job.SourceRecord
}
