package notify

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Message is a message sent from code with Send: a template, rendered for
// one user on each of the listed channels.
type Message struct {
	// User is the id of the recipient in the users collection
	// (Config.UsersCollection). Required.
	User string

	// Template is the key of an active notifyTemplates record, e.g.
	// "booking.reminder". The user's locale picks the version, as for
	// rule-made messages. Required.
	Template string

	// Channels are the channels to send on, e.g. email and inbox: one
	// message on each that the user can receive now. Required.
	Channels []string

	// Data is what the template sees as .Data, e.g. {{.Data.code}}. It is
	// stored with the message as JSON, so it must marshal to JSON; numbers
	// come back as float64. .Record stays empty: a sent message is about no
	// record. Default: empty.
	Data map[string]any

	// To sends to this address instead of the user's; Channels must then
	// be email alone (e.g. an alert to the address the user just changed
	// away from). The user's preferences still apply, and the address is
	// kept with the message, so a retry goes to it too. Default: empty (the
	// user's address, looked up at send time, so a retry uses a corrected
	// one).
	To string

	// Category decides which of the user's preferences apply: security,
	// transactional, service or marketing. Default: transactional.
	Category string

	// Delay postpones the message: it is due Delay after Send. Default: 0
	// (due at once).
	Delay time.Duration

	// DedupeKey makes Send idempotent: a second Send with the same key, to
	// the same user on the same channel, queues nothing, whatever state the
	// first message is in. Use it for a retried request or a hook that may
	// run twice. Default: empty (every Send queues).
	DedupeKey string

	// requested marks PocketBase's own account emails (sysmail.go): the
	// answer to the customer's own request for a link or code, which
	// their preferences do not silence.
	requested bool
}

// pluginStoreKey is where Register keeps the plugin in app.Store(), so
// that Send finds it from any app: the app itself or a transaction of it
// (a transaction's app shares the store).
const pluginStoreKey = "pbnotify.plugin"

// sendDataKey is the key of the row's data JSON under which a sent message
// keeps Message.Data. A record snapshot can never have it: PocketBase field
// names are letters, digits and underscores, so "$data" tells the two apart.
const sendDataKey = "$data"

// sendToKey is the key of the row's data JSON that holds Message.To: its
// presence marks a message whose explicit address wins over the user's,
// which the pipeline otherwise looks up at send time.
const sendToKey = "$to"

// ErrNotRegistered is returned by Send when the notify plugin was not
// registered on the app.
var ErrNotRegistered = errors.New("notify: the plugin is not registered on this app (call notify.Register first)")

// Send queues m for delivery, one outbox message per listed channel, with
// the same checks and log as messages made by rules: a channel the user
// turned off for the category, or cannot receive now (no email address,
// Telegram not linked, no push device), gets no message.
//
// Send writes through app. When app is a transaction (a record hook's
// e.App, or the txApp of app.RunInTransaction), the messages commit or roll
// back with it, and the dispatcher is woken only once it committed; pass
// that transaction's app, never the outer one, which would deadlock waiting
// for the transaction to end.
//
// It returns an error, and queues nothing, when the plugin is not
// registered, the user or the active template does not exist, a channel is
// unknown or none is listed, To is set for other channels than email alone,
// the category is unknown, the delay is negative, or Data does not marshal
// to JSON.
func Send(app core.App, m Message) error {
	p, ok := app.Store().Get(pluginStoreKey).(*plugin)
	if !ok {
		return ErrNotRegistered
	}
	msgs, err := p.sendMessages(app, m)
	if err != nil {
		return fmt.Errorf("notify.Send: %w", err)
	}
	if len(msgs) == 0 {
		return nil
	}
	if _, err := outbox.Insert(app, msgs, p.cfg.Now().UTC()); err != nil {
		return fmt.Errorf("notify.Send: %w", err)
	}
	due := map[string]time.Time{}
	for _, msg := range msgs {
		due[msg.Channel] = msg.RunAt
	}
	if app.IsTransactional() {
		// The rows are visible to the dispatcher only after the commit; a
		// rolled-back transaction leaves nothing to wake for.
		app.TxInfo().OnComplete(func(txErr error) error {
			if txErr == nil {
				p.disp.Notify(due)
			}
			return nil
		})
	} else {
		p.disp.Notify(due)
	}
	return nil
}

// sendMessages checks m and returns its outbox rows: one per listed channel
// the user can receive now, none if there is no such channel.
func (p *plugin) sendMessages(app core.App, m Message) ([]outbox.Message, error) {
	if m.User == "" {
		return nil, errors.New("no user: Message.User is the recipient's id")
	}
	if m.Template == "" {
		return nil, errors.New("no template: Message.Template is a notifyTemplates key")
	}
	if len(m.Channels) == 0 {
		return nil, fmt.Errorf("no channels: list one or more of %s", strings.Join(p.channelNames(), ", "))
	}
	known := p.channelNames()
	for _, ch := range m.Channels {
		if !slices.Contains(known, ch) {
			return nil, fmt.Errorf("unknown channel %q; use %s", ch, strings.Join(known, ", "))
		}
	}
	category := m.Category
	if category == "" {
		category = CategoryTransactional
	}
	if !slices.Contains(allCategories, category) {
		return nil, fmt.Errorf("unknown category %q; use %s", category, strings.Join(allCategories, ", "))
	}
	if m.Delay < 0 {
		return nil, fmt.Errorf("negative delay %s", m.Delay)
	}
	data := m.Data
	if data == nil {
		data = map[string]any{}
	}
	stored := map[string]any{sendDataKey: data}
	if m.To != "" {
		if len(m.Channels) != 1 || m.Channels[0] != channels.Email {
			return nil, errors.New("an explicit address (Message.To) is for the email channel only")
		}
		stored[sendToKey] = m.To
	}
	snapshot, err := json.Marshal(stored)
	if err != nil {
		return nil, fmt.Errorf("Data does not marshal to JSON: %w", err)
	}

	user, err := app.FindRecordById(p.cfg.UsersCollection, m.User)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("there is no user %q in %s", m.User, p.cfg.UsersCollection)
	case err != nil:
		return nil, fmt.Errorf("reading the user: %w", err)
	}
	n, err := app.CountRecords(TemplatesCollection, dbx.HashExp{"key": m.Template, "active": true})
	if err != nil {
		return nil, fmt.Errorf("reading the templates: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("there is no active template with key %q in %s", m.Template, TemplatesCollection)
	}

	now := p.cfg.Now().UTC()
	key := m.DedupeKey
	if key == "" {
		key = "once:" + core.GenerateDefaultRandomId() // never repeats: no dedupe
	}
	if m.To != "" {
		// Another recipient: the same key sent to the user's own address
		// is another message.
		key += "\x00to:" + m.To
	}
	var msgs []outbox.Message
	for _, ch := range m.Channels {
		if !m.requested && p.unreachable(user, ch, category) != "" {
			continue // a row would only be skipped, as under a rule's mode "all"
		}
		msgs = append(msgs, outbox.Message{
			Template:  m.Template,
			Channel:   ch,
			Category:  category,
			User:      user.Id,
			To:        m.To,
			Data:      snapshot,
			RunAt:     now.Add(m.Delay),
			DedupeKey: sendDedupeKey(key, ch, user.Id),
		})
	}
	return msgs, nil
}

// sendDedupeKey is the dedupe key of a sent message. Its empty rule id
// keeps it apart from every rule-made message's key.
func sendDedupeKey(key, channel, userID string) string {
	return rules.DedupeKey("", "send", key, channel, userID)
}
