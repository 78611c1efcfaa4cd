package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // customers' timezones work on a host without a zoneinfo database

	"github.com/pbnotify/pbnotify/notify/internal/audience"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pbnotify/pbnotify/notify/internal/schedule"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Time: date rules, send windows, throttles, debounce and digests (the
// README's "Time"). The decisions live in internal/schedule and
// internal/audience; this file wires them into the write path and the
// pipeline.

// setupTime loads Config.Timezone and validates users.timezone on save.
func (p *plugin) setupTime() error {
	if p.cfg.Timezone != "" {
		loc, err := audience.LoadTimezone(p.cfg.Timezone)
		if err != nil {
			return fmt.Errorf("Timezone (NOTIFY_TIMEZONE): %w", err)
		}
		p.zone = loc
	}
	p.bindDateBackfill()
	p.app.OnRecordValidate(p.cfg.UsersCollection).Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookTimezone,
		Func: func(e *core.RecordEvent) error {
			if e.Record.Collection().Fields.GetByName(audience.TimezoneField) == nil {
				return e.Next()
			}
			tz := e.Record.GetString(audience.TimezoneField)
			if tz != "" && tz != e.Record.Original().GetString(audience.TimezoneField) {
				if _, err := audience.LoadTimezone(tz); err != nil {
					return fieldError(audience.TimezoneField, err.Error()+"; leave it empty for the shop's default")
				}
			}
			return e.Next()
		},
	})
	return nil
}

// timezoneOf is the recipient's timezone: theirs, else the shop's, else UTC.
func (p *plugin) timezoneOf(user *core.Record) *time.Location {
	return audience.Timezone(user, p.zone)
}

// scheduleWrite keeps the date rules of rec's collection in step with the
// write, on txApp, the write's transaction: for each rule and recipient
// exactly one queued message at the rule's moment, moved (with the newer
// record snapshot) when the date changes, cancelled when the record is
// deleted, its date is emptied or passed, or it no longer matches the
// condition. It returns the matches to enqueue (recipients with no
// message yet) and when the messages it moved are due.
func (p *plugin) scheduleWrite(txApp core.App, rec *core.Record, event string, dated []*rules.Rule) (fresh []rules.Match, due map[string]time.Time, err error) {
	if len(dated) == 0 {
		return nil, nil, nil
	}
	now := p.cfg.Now().UTC()
	due = map[string]time.Time{}
	var snapshot []byte
	for _, rule := range dated {
		var pending []schedule.Pending
		if event != rules.EventCreate { // a new record has nothing queued yet
			if pending, err = schedule.PendingOf(txApp, rule.ID, rec.Collection().Name, rec.Id); err != nil {
				return nil, nil, err
			}
		}
		if event == rules.EventDelete {
			if err := schedule.Cancel(txApp, ids(pending), fmt.Sprintf("the %s record was deleted", rec.Collection().Name), now); err != nil {
				return nil, nil, err
			}
			continue
		}
		// Who gets it, and when; why not, for the messages that go.
		moments, why, unevaluable, err := p.momentsOf(txApp, rec, rule, now)
		if err != nil {
			return nil, nil, err
		}
		if unevaluable != nil {
			if err := p.recordUnevaluable(txApp, rec, []rules.Unevaluable{*unevaluable}); err != nil {
				return nil, nil, err
			}
		}
		if snapshot == nil && len(moments) > 0 && len(pending) > 0 {
			if snapshot, err = json.Marshal(exportRecord(rec)); err != nil {
				return nil, nil, fmt.Errorf("record snapshot: %w", err)
			}
		}
		var cancel []string
		moved := map[string]bool{}
		for _, m := range pending {
			at, ok := moments[m.User]
			if !ok {
				cancel = append(cancel, m.ID)
				continue
			}
			key := rules.DedupeKey(rule.ID, rec.Id, dateTrigger(at), m.Channel, m.User)
			ok, err := schedule.Move(txApp, m.ID, at, snapshot, key, now)
			if err != nil {
				return nil, nil, err
			}
			if !ok { // that moment went out already
				if err := schedule.Cancel(txApp, []string{m.ID}, "a message for "+at.UTC().Format(time.RFC3339)+" was already handled", now); err != nil {
					return nil, nil, err
				}
				continue
			}
			moved[m.User] = true
			due[m.Channel] = earlier(due[m.Channel], at)
		}
		if err := schedule.Cancel(txApp, cancel, why, now); err != nil {
			return nil, nil, err
		}
		for user, at := range moments {
			if !moved[user] {
				fresh = append(fresh, rules.Match{Rule: rule, UserID: user, Trigger: dateTrigger(at), RunAt: at})
			}
		}
	}
	return fresh, due, nil
}

// momentsOf is, for a date rule and a written record, when each recipient
// gets the rule's message (user id → moment); none, with why, when the
// rule does not fire for the record now. A rule that cannot be evaluated
// comes back in unevaluable, and fires for nobody.
func (p *plugin) momentsOf(txApp core.App, rec *core.Record, rule *rules.Rule, now time.Time) (moments map[string]time.Time, why string, unevaluable *rules.Unevaluable, err error) {
	broken := func(field string, err error) (map[string]time.Time, string, *rules.Unevaluable, error) {
		u := &rules.Unevaluable{Rule: rule, Trigger: "date:broken", Reason: field + ": " + err.Error()}
		return nil, fmt.Sprintf("rule %q cannot be evaluated: %s", rule.Name, u.Reason), u, nil
	}
	if rule.Condition != "" {
		ok, err := rules.MatchesFilter(txApp, rec, rule.Condition)
		switch {
		case errors.Is(err, rules.ErrBroken):
			return broken("condition", err)
		case err != nil:
			return nil, "", nil, serverError(fmt.Errorf("notify: rule %q: condition: %w", rule.Name, err))
		case !ok:
			return nil, "the record no longer matches the condition: " + rule.Condition, nil, nil
		}
	}
	if _, ok := rec.Collection().Fields.GetByName(rule.DateField).(*core.DateField); !ok {
		if _, ok := rec.Collection().Fields.GetByName(rule.DateField).(*core.AutodateField); !ok {
			return broken("dateField", fmt.Errorf("%s has no date field %q any more", rec.Collection().Name, rule.DateField))
		}
	}
	date := rec.GetDateTime(rule.DateField).Time()
	if date.IsZero() {
		return nil, rule.DateField + " is empty", nil, nil
	}
	var users []string
	if rule.ToStaff() {
		users, err = rules.StaffIDs(txApp, p.cfg.UsersCollection)
	} else {
		var id string
		id, err = rules.Recipient(txApp, rec, rule.Recipient)
		if id != "" {
			users = []string{id}
		}
	}
	switch {
	case errors.Is(err, rules.ErrBroken):
		return broken("recipient", err)
	case err != nil:
		return nil, "", nil, serverError(fmt.Errorf("notify: rule %q: recipient: %w", rule.Name, err))
	}
	moments = map[string]time.Time{}
	why = "the recipient changed"
	for _, id := range users {
		user, err := txApp.FindRecordById(p.cfg.UsersCollection, id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, "", nil, serverError(fmt.Errorf("notify: reading the recipient: %w", err))
		}
		at, ok := rule.When.Next(date, p.timezoneOf(user), now)
		if !ok {
			why = fmt.Sprintf("its moment %s has passed", at.UTC().Format(time.RFC3339))
			continue
		}
		moments[id] = at
	}
	return moments, why, nil, nil
}

// dateTrigger tells one occurrence of a date rule from another, for the
// dedupe key: one message per rule, record, moment, channel and recipient.
func dateTrigger(at time.Time) string { return "date:" + at.UTC().Format(time.RFC3339) }

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func ids(pending []schedule.Pending) []string {
	out := make([]string, len(pending))
	for i, m := range pending {
		out[i] = m.ID
	}
	return out
}

// noteDue adds the lanes and due times of a write's scheduled messages to
// what its after-commit hook wakes the dispatcher for.
func (p *plugin) noteDue(rec *core.Record, due map[string]time.Time) {
	if len(due) == 0 {
		return
	}
	if old, ok := p.committing.Load(rec); ok {
		for ch, at := range old.(map[string]time.Time) {
			due[ch] = earlier(due[ch], at)
		}
	}
	p.committing.Store(rec, due)
}

// shapeTimed applies the rules' debounce, digest and throttle to messages
// about to be inserted by a write, on its transaction: a debounced one
// moves its queued predecessor instead, a digested one joins the open
// digest or opens one, and one over its throttle is recorded skipped with
// the reason. It returns what is left to insert.
func (p *plugin) shapeTimed(txApp core.App, msgs []outbox.Message, now time.Time) ([]outbox.Message, error) {
	set := p.rules.Load()
	out := msgs[:0:0]
	for _, m := range msgs {
		rule := set.ByID(m.Rule)
		if rule == nil || m.Status != "" {
			out = append(out, m)
			continue
		}
		if rule.Debounce {
			moved, err := schedule.Debounce(txApp, m, now)
			if err != nil {
				return nil, err
			}
			if moved {
				continue
			}
		}
		if rule.Digest > 0 {
			joined, err := schedule.AppendToDigest(txApp, m, now)
			if err != nil {
				return nil, err
			}
			if joined {
				continue
			}
			key := rules.DedupeKey(rule.ID, "", "digest:"+now.Format(time.RFC3339Nano)+":"+m.SourceRecord, m.Channel, m.User)
			if m, err = schedule.OpenDigest(m, rule.Digest, key); err != nil {
				return nil, err
			}
		}
		if !rule.Throttle.IsZero() {
			n, err := rule.Throttle.Count(txApp, rule.ID, m.User, m.Channel, m.RunAt)
			if err != nil {
				return nil, err
			}
			if n >= rule.Throttle.N {
				m.Status, m.Error = StatusSkipped, rule.Throttle.Reason(rule.Name)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// holdForWindow keeps a message due outside its rule's send window queued
// until the window next opens in the recipient's timezone, using no
// attempt. Security messages never wait.
func (p *plugin) holdForWindow(rule *rules.Rule, job outbox.Job, user *core.Record) (outbox.Outcome, bool) {
	if rule == nil || rule.Window.IsZero() || job.Category == CategorySecurity {
		return outbox.Outcome{}, false
	}
	loc := p.timezoneOf(user)
	now := p.cfg.Now()
	if rule.Window.Open(now, loc) {
		return outbox.Outcome{}, false
	}
	opens := rule.Window.NextOpening(now, loc)
	return outbox.Outcome{
		Status: StatusQueued, RunAt: opens, Refund: true, Note: priorNote(rule, job),
		Reason: fmt.Sprintf("waiting for the send window %s (%s): goes out at %s", rule.Window, loc, opens.In(loc).Format("2006-01-02 15:04 MST")),
	}, true
}

// deliverTimed is deliver, and after a yearly date rule's occurrence has
// been dealt with (sent, skipped or failed) the next year's occurrence,
// queued with the outcome.
func (p *plugin) deliverTimed(ctx context.Context, job outbox.Job) outbox.Outcome {
	out := p.deliver(ctx, job)
	switch out.Status {
	case StatusSent, StatusSkipped, StatusFailed:
		if out.Then == nil {
			out.Then = p.nextOccurrence(job)
		}
	}
	return out
}

// nextOccurrence is the next year's message of a yearly date rule, from
// the record and recipient as they are now; nil for any other message, or
// when the record is gone (a lookup error is logged: the next write of the
// record schedules it again).
func (p *plugin) nextOccurrence(job outbox.Job) *outbox.Message {
	rule := p.rules.Load().ByID(job.Rule)
	if rule == nil || rule.Event != rules.EventDate || !rule.When.Yearly || job.SourceRecord == "" {
		return nil
	}
	src, err := p.app.FindRecordById(job.SourceCollection, job.SourceRecord)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			p.app.Logger().Warn("notify: next yearly occurrence not scheduled", "rule", rule.Name, "error", err)
		}
		return nil
	}
	user, err := p.app.FindRecordById(p.cfg.UsersCollection, job.User)
	if err != nil {
		return nil
	}
	at, ok := rule.When.Next(src.GetDateTime(rule.DateField).Time(), p.timezoneOf(user), p.cfg.Now())
	if !ok {
		return nil
	}
	snapshot, err := json.Marshal(exportRecord(src))
	if err != nil {
		return nil
	}
	return &outbox.Message{
		Rule: job.Rule, Template: job.Template, Channel: job.Channel, Category: job.Category, User: job.User,
		SourceCollection: job.SourceCollection, SourceRecord: job.SourceRecord, Data: snapshot, RunAt: at,
		DedupeKey: rules.DedupeKey(job.Rule, job.SourceRecord, dateTrigger(at), job.Channel, job.User),
	}
}

// scheduleDates is scheduleWrite for the enqueue hook: it adds the new
// messages to the write's, ev, so they are inserted with them in one
// statement, and returns when the moved ones are due. Its errors are the
// write's server errors.
func (p *plugin) scheduleDates(txApp core.App, rec *core.Record, event string, dated []*rules.Rule, ev *evaluated) (map[string]time.Time, error) {
	fresh, moved, err := p.scheduleWrite(txApp, rec, event, dated)
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return nil, err
		}
		return nil, serverError(fmt.Errorf("notify: date rules: %w", err))
	}
	ev.matches = append(ev.matches, fresh...)
	return moved, nil
}

// bindDateBackfill schedules a date rule for the records already there
// when it is saved active (created, activated, or its timing changed), in
// the rule save's transaction: a birthday rule added to a shop with
// customers greets them too, and a changed offset moves what is queued.
// Large collections make the save take a while (a few thousand records a
// second); it runs once per save.
func (p *plugin) bindDateBackfill() {
	backfill := func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		rule, err := rules.FromRecord(e.Record)
		if err != nil || !rule.Active || rule.Event != rules.EventDate {
			return nil // refused by validation, or nothing to schedule
		}
		if err := p.backfill(e.App, rule); err != nil {
			return fmt.Errorf("notify: scheduling rule %q for the existing records: %w", rule.Name, err)
		}
		return nil
	}
	// After the system handler (99), which opened the transaction and set
	// e.App to it.
	p.app.OnRecordCreateExecute(RulesCollection).Bind(&hook.Handler[*core.RecordEvent]{Id: HookDateBackfill, Priority: 100, Func: backfill})
	p.app.OnRecordUpdateExecute(RulesCollection).Bind(&hook.Handler[*core.RecordEvent]{Id: HookDateBackfill, Priority: 100, Func: backfill})
}

// backfillBatch is how many records backfill reads at a time.
const backfillBatch = 500

// backfill runs scheduleWrite for rule on every record of its collection
// whose date field is set, on txApp.
func (p *plugin) backfill(txApp core.App, rule *rules.Rule) error {
	coll, err := txApp.FindCollectionByNameOrId(rule.Collection)
	if err != nil {
		return err
	}
	if coll.Fields.GetByName(rule.DateField) == nil {
		return nil // Check refuses it; an inactive rule is not checked
	}
	last := ""
	for {
		var batch []*core.Record
		err := txApp.RecordQuery(coll).
			AndWhere(dbx.NewExp("[[" + rule.DateField + "]] != ''")).
			AndWhere(dbx.NewExp("[[id]] > {:last}", dbx.Params{"last": last})).
			OrderBy("id").Limit(backfillBatch).All(&batch)
		if err != nil {
			return err
		}
		for _, rec := range batch {
			fresh, _, err := p.scheduleWrite(txApp, rec, rules.EventUpdate, []*rules.Rule{rule})
			if err != nil {
				return err
			}
			if _, err := p.enqueue(txApp, rec, fresh); err != nil {
				return err
			}
		}
		if len(batch) < backfillBatch {
			return nil
		}
		last = batch[len(batch)-1].Id
	}
}
