package notify

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// Rule delivery modes, persisted in notifyRules.mode.
const (
	ModeAll   = rules.ModeAll   // one message on every listed channel
	ModeFirst = rules.ModeFirst // the first listed channel available to the user
	// ModeEscalate sends on the first listed channel available to the user,
	// then on the next when a step is not read within the rule's
	// escalateAfter.
	ModeEscalate = rules.ModeEscalate
)

// Staff recipients: a rule whose recipient is StaffRecipient sends one
// message to every user whose bool field StaffField is true at the time of
// the write (the shop's own people).
const (
	StaffRecipient = rules.StaffRecipient
	StaffField     = rules.StaffField
)

func (p *plugin) reloadRules(app core.App) error {
	set, skipped, err := rules.Load(app)
	if err != nil {
		return fmt.Errorf("reloadRules: %w", err)
	}
	for id, err := range skipped {
		app.Logger().Warn("notify: rule ignored", "rule", id, "error", err)
	}
	p.rules.Store(set)
	return nil
}

// channelNames are the channels a rule or a preference may name: the
// built-in ones (a built-in channel that is not configured still takes
// messages, which it marks skipped) and every registered one.
func (p *plugin) channelNames() []string {
	names := slices.Clone(allChannels)
	for name := range p.senders {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names[len(allChannels):])
	return names
}

// evaluateWrite runs the rules that watch a write on txApp, the write's
// transaction, and returns what to enqueue: run it after the write for
// create and update, before it for delete. A rule that cannot be evaluated
// never fails the write (see enqueueWrite); a database error does, as a
// server error.
func (p *plugin) evaluateWrite(txApp core.App, rec *core.Record, event string, candidates []*rules.Rule) (evaluated, error) {
	matches, unevaluable, err := rules.Evaluate(txApp, rec, event, candidates, p.cfg.UsersCollection)
	if err != nil {
		return evaluated{}, serverError(fmt.Errorf("notify: %w", err))
	}
	return evaluated{matches: matches, unevaluable: unevaluable}, nil
}

// evaluated is the outcome of the rules for one write.
type evaluated struct {
	matches     []rules.Match
	unevaluable []rules.Unevaluable
}

// enqueueWrite writes the outbox rows of a write's matches and records its
// rules that could not be evaluated, on txApp, after the write (a deleted
// user's messages must not be cascade-deleted with it).
//
// It leaves, for the write's after-commit hook, which lanes got messages
// and when they are due (see wakeAfterCommit).
func (p *plugin) enqueueWrite(txApp core.App, rec *core.Record, ev evaluated) error {
	msgs, err := p.enqueue(txApp, rec, ev.matches)
	if err != nil {
		return serverError(fmt.Errorf("notify: %w", err))
	}
	if err := p.recordUnevaluable(txApp, rec, ev.unevaluable); err != nil {
		return serverError(fmt.Errorf("notify: %w", err))
	}
	if len(msgs) > 0 {
		due := map[string]time.Time{}
		for _, m := range msgs {
			if at, ok := due[m.Channel]; !ok || m.RunAt.Before(at) {
				due[m.Channel] = m.RunAt
			}
		}
		p.committing.Store(rec, due)
	}
	return nil
}

// wakeAfterCommit tells the dispatcher, once a write committed, which lanes
// got messages and when they are due; a write whose part was not recorded
// (another process's hooks, a batch that wrote the record twice) wakes
// every lane.
func (p *plugin) wakeAfterCommit(rec *core.Record) {
	if due, ok := p.committing.LoadAndDelete(rec); ok {
		p.disp.Notify(due.(map[string]time.Time))
		return
	}
	p.disp.Wake()
}

// writeError is a failure of the plugin's part of a record write. It reads
// as the underlying error to Go callers, and as a 500 to PocketBase's REST
// handlers, which keep the status of an *router.ApiError found in the
// chain (otherwise they answer 400, blaming the client).
type writeError struct{ err error }

func serverError(err error) error { return &writeError{err: err} }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() []error {
	return []error{e.err, router.NewInternalServerError("", e.err)}
}

// enqueue writes one outbox row per (match, channel) through txApp, so the
// rows commit or roll back with the record write. A row whose dedupe key
// already exists is silently dropped: the same rule, record, trigger value,
// channel and recipient never produce a second message.
//
// Under mode "all" a channel the recipient cannot receive now (no address,
// Telegram not linked, no push device) or has turned off gets no row: a
// row would only be skipped. Under mode "first" the one row starts on the
// first listed channel the recipient can receive.
func (p *plugin) enqueue(txApp core.App, rec *core.Record, matches []rules.Match) ([]outbox.Message, error) {
	if len(matches) == 0 {
		return nil, nil
	}
	snapshot, err := json.Marshal(exportRecord(rec))
	if err != nil {
		return nil, fmt.Errorf("record snapshot: %w", err)
	}
	now := p.cfg.Now().UTC()
	var msgs []outbox.Message
	for _, m := range matches {
		user, err := txApp.FindRecordById(p.cfg.UsersCollection, m.UserID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("reading the recipient: %w", err)
		}
		var chans []string
		note := "" // why a "first available" rule passed over channels
		for _, ch := range m.Rule.Channels {
			if user != nil {
				if reason := p.unreachable(user, ch, m.Rule.Category); reason != "" {
					if m.Rule.Mode != ModeAll {
						note = addNote(note, ch+": "+reason)
					}
					continue
				}
			}
			chans = append(chans, ch)
			if m.Rule.Mode != ModeAll {
				break // one message; the dispatcher falls through at send time
			}
		}
		if m.Rule.Mode != ModeAll && len(chans) == 0 {
			// Nobody home on any channel: one row shows the owner why.
			chans, note = []string{m.Rule.FirstChannel()}, ""
		}
		runAt := now.Add(m.Rule.Delay)
		if !m.RunAt.IsZero() {
			runAt = m.RunAt // a date rule's moment
		}
		for _, ch := range chans {
			msgs = append(msgs, outbox.Message{
				Rule:             m.Rule.ID,
				Template:         m.Rule.Template,
				Channel:          ch,
				Category:         m.Rule.Category,
				User:             m.UserID,
				SourceCollection: rec.Collection().Name,
				SourceRecord:     rec.Id,
				Data:             snapshot,
				RunAt:            runAt,
				DedupeKey:        rules.DedupeKey(m.Rule.ID, rec.Id, m.Trigger, ch, m.UserID),
				Error:            note,
			})
		}
	}
	// Debounce, digest and throttle (time.go).
	msgs, err = p.shapeTimed(txApp, msgs, now)
	if err != nil {
		return nil, err
	}
	if _, err := outbox.Insert(txApp, msgs, now); err != nil {
		return nil, err
	}
	return msgs, nil
}

// unreachable is why user cannot get category on ch now, or "": the
// customer turned it off, or has no address there (no email, Telegram not
// linked, no push device). A channel that is not configured is not
// unreachable: its messages are rendered, kept and marked skipped with the
// reason, so the owner sees what would have gone out. A lookup that fails
// is not either: the dispatcher decides, and retries, at send time.
func (p *plugin) unreachable(user *core.Record, ch, category string) string {
	if reason := p.turnedOff(user, ch, category); reason != "" {
		return reason
	}
	if p.senders[ch] == nil {
		return ""
	}
	if ch == channels.WebPush {
		n, err := p.app.CountRecords(PushSubscriptionsCollection, dbx.HashExp{"user": user.Id})
		if err == nil && n == 0 {
			return "user has no web push subscription"
		}
		return ""
	}
	addr := p.addresses[ch]
	if addr == nil {
		return ""
	}
	if to, err := addr(user); err != nil || to != "" {
		return ""
	}
	switch ch {
	case channels.Email:
		return "recipient has no email address"
	case channels.Telegram:
		return "user has not linked Telegram"
	case sms.Name:
		return "user has no phone number"
	}
	return "the recipient has no " + ch + " address"
}

// recordUnevaluable keeps, for each rule that could not be evaluated, one
// failed message with the reason (deduplicated like any message, so a rule
// broken for a week leaves one row per write, not one per retry) and flags
// the rule with the reason in notifyRules.problem. Both are plain SQL on
// txApp: they commit with the write and do not re-enter record hooks.
func (p *plugin) recordUnevaluable(txApp core.App, rec *core.Record, broken []rules.Unevaluable) error {
	now := p.cfg.Now()
	for _, u := range broken {
		reason := fmt.Sprintf("rule %q cannot be evaluated: %s", u.Rule.Name, u.Reason)
		txApp.Logger().Warn("notify: "+reason, "rule", u.Rule.ID, "record", rec.Id)
		ch := u.Rule.FirstChannel()
		_, err := outbox.Insert(txApp, []outbox.Message{{
			Rule: u.Rule.ID, Template: u.Rule.Template, Channel: ch, Category: u.Rule.Category,
			User: u.UserID, SourceCollection: rec.Collection().Name, SourceRecord: rec.Id,
			RunAt: now, Status: StatusFailed, Error: reason,
			DedupeKey: rules.DedupeKey(u.Rule.ID, rec.Id, u.Trigger, ch, u.UserID),
		}}, now)
		if err != nil {
			return fmt.Errorf("recording rule %q as failed: %w", u.Rule.Name, err)
		}
		_, err = txApp.NonconcurrentDB().NewQuery(`UPDATE {{notifyRules}} SET [[problem]] = {:problem}
			WHERE [[id]] = {:id} AND [[problem]] IS NOT {:problem}`).Bind(dbx.Params{
			"id": u.Rule.ID, "problem": outbox.Truncate(u.Reason, problemMax),
		}).Execute()
		if err != nil {
			return fmt.Errorf("flagging rule %q: %w", u.Rule.Name, err)
		}
	}
	return nil
}

// exportRecord returns the record's fields that a template may use, as
// the message's snapshot: the same export the templates' view makes.
func exportRecord(rec *core.Record) map[string]any { return render.Export(rec) }

// validateRule refuses a rule that would fail at send time, and clears the
// rule's problem flag once it validates again as an active rule.
func (p *plugin) validateRule(app core.App, rec *core.Record) error {
	rule, err := rules.Validate(app, rec, p.channelNames(), p.cfg.UsersCollection)
	if err != nil {
		return err
	}
	n, err := app.CountRecords(TemplatesCollection, dbx.HashExp{"key": rule.Template})
	if err != nil {
		return fmt.Errorf("validateRule: %w", err)
	}
	if n == 0 {
		return fieldError("template", fmt.Sprintf("there is no template with key %q; create it in %s first", rule.Template, TemplatesCollection))
	}
	// The template was checked when it was saved, but perhaps against
	// another collection or none: check it against this rule's records,
	// so that a rule whose template names fields its collection lacks is
	// refused now rather than failing at send time.
	// An inactive rule sends nothing: switching a broken one off is always
	// allowed.
	if rule.Active {
		if err := p.checkRuleTemplate(app, rule); err != nil {
			return err
		}
	}
	if rule.Active {
		rec.Set("problem", "")
	}
	return nil
}

// checkRuleTemplate renders every locale of the rule's template against a
// sample record of the rule's collection; a failure is the rule's
// validation error on its template field, naming the template's.
func (p *plugin) checkRuleTemplate(app core.App, rule *rules.Rule) error {
	coll, err := app.FindCachedCollectionByNameOrId(rule.Collection)
	if err != nil {
		return nil // rules.Validate has refused a missing collection already
	}
	tpls, err := app.FindAllRecords(TemplatesCollection, dbx.HashExp{"key": rule.Template})
	if err != nil {
		return fmt.Errorf("checkRuleTemplate: %w", err)
	}
	for _, tpl := range tpls {
		src := render.SourceFromRecord(tpl)
		err := render.Validate(app, src, []*core.Collection{coll}, p.shop())
		var verr validation.Errors
		if errors.As(err, &verr) {
			for field, msg := range verr {
				return fieldError("template", fmt.Sprintf("template %q (%s), field %s, does not work with %s records: %v",
					rule.Template, src.Locale, field, coll.Name, msg))
			}
		}
		if err != nil {
			return fmt.Errorf("checkRuleTemplate: %w", err)
		}
	}
	return nil
}

// bindSchemaGuard refuses to delete or change a collection, or a field of
// one, that an active rule uses: the rule would stop working silently.
// Dashboard, REST API and app.Save alike get a validation error naming the
// rule (400 through the API).
func (p *plugin) bindSchemaGuard() {
	check := func(app core.App, old, next *core.Collection) error {
		if _, err := app.FindCachedCollectionByNameOrId(RulesCollection); err != nil {
			return nil // not installed yet: no rules to break
		}
		records, err := app.FindAllRecords(RulesCollection, dbx.HashExp{"active": true})
		if err != nil {
			return fmt.Errorf("notify: reading the active rules: %w", err)
		}
		active := make([]*rules.Rule, 0, len(records))
		for _, rec := range records {
			if rule, err := rules.FromRecord(rec); err == nil {
				active = append(active, rule)
			}
		}
		return rules.CheckSchemaChange(app, active, old, next, p.cfg.UsersCollection)
	}
	p.app.OnCollectionValidate().Bind(&hook.Handler[*core.CollectionEvent]{
		Id: HookSchemaGuard,
		Func: func(e *core.CollectionEvent) error {
			if e.Collection.IsNew() {
				return e.Next()
			}
			old, err := e.App.FindCollectionByNameOrId(e.Collection.Id)
			if err != nil {
				return e.Next() // PocketBase reports it
			}
			if err := check(e.App, old, e.Collection); err != nil {
				return inUse("fields", err)
			}
			return e.Next()
		},
	})
	p.app.OnCollectionDeleteExecute().Bind(&hook.Handler[*core.CollectionEvent]{
		Id: HookSchemaGuard,
		Func: func(e *core.CollectionEvent) error {
			if err := check(e.App, e.Collection, nil); err != nil {
				return inUse("collection", err)
			}
			return e.Next()
		},
	})
}

// inUse turns a refusal into a validation error, which PocketBase's API
// shows (a plain error would be answered with a generic message).
func inUse(field string, err error) error {
	var ve validation.Errors
	if errors.As(err, &ve) {
		return err
	}
	return validation.Errors{field: validation.NewError("validation_notify_rule_in_use", err.Error())}
}

// syncChannelValues makes the select fields that hold channel names
// (notifyRules.channels, notifyMessages.channel) offer every channel this
// process knows, keeping values already there: rows may use them.
func (p *plugin) syncChannelValues(app core.App) error {
	names := p.channelNames()
	for _, target := range []struct{ collection, field string }{
		{RulesCollection, "channels"},
		{MessagesCollection, "channel"},
	} {
		coll, err := app.FindCollectionByNameOrId(target.collection)
		if err != nil {
			continue // not installed (yet)
		}
		sel, ok := coll.Fields.GetByName(target.field).(*core.SelectField)
		if !ok {
			continue
		}
		values := slices.Clone(sel.Values)
		for _, n := range names {
			if !slices.Contains(values, n) {
				values = append(values, n)
			}
		}
		if len(values) == len(sel.Values) {
			continue
		}
		sel.Values = values
		if sel.MaxSelect > 1 {
			sel.MaxSelect = len(values)
		}
		if err := app.Save(coll); err != nil {
			return fmt.Errorf("syncChannelValues: %s.%s: %w", target.collection, target.field, err)
		}
	}
	return nil
}
