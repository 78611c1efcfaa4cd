package notify

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pbnotify/pbnotify/channels"
	"github.com/pbnotify/pbnotify/channels/sms"
	"github.com/pbnotify/pbnotify/channels/webhook"
	"github.com/pbnotify/pbnotify/notify/internal/console"
	"github.com/pbnotify/pbnotify/notify/internal/rules"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// bindConsole adds the Notifications page to the PocketBase dashboard
// (package console) with what it needs to know of the plugin.
func (p *plugin) bindConsole() {
	console.Register(p.app, console.Config{
		Now:      p.cfg.Now,
		Channels: p.consoleChannels,
		Validate: p.validateTemplate,
		Preview: func(e *core.RequestEvent, tpl *core.Record, recordID string) (any, error) {
			tpl, rendered, recordID, err := p.renderRecordForAdmin(e, tpl, recordID, "")
			if err != nil {
				return nil, err
			}
			return previewOf(tpl, rendered, recordID, ""), nil
		},
		Simulate: p.simulate,
	})
}

// consoleChannels says, for every channel a rule may name, whether it is
// set up, and where to set it up when it is not.
func (p *plugin) consoleChannels(app core.App) []console.Channel {
	var out []console.Channel
	for _, name := range p.channelNames() {
		ch := console.Channel{Name: name, Configured: true}
		sender := p.senders[name]
		switch {
		case name == channels.Email:
			if s := p.settings.get().SMTP; !s.Enabled || s.Host == "" {
				ch.Configured, ch.Setup = false, "Settings → Mail settings → SMTP"
			}
		case name == channels.Telegram:
			ch.Configured, ch.Setup = p.cfg.TelegramToken != "", "NOTIFY_TELEGRAM_TOKEN"
		case name == channels.WebPush:
			ch.Configured, ch.Setup = p.cfg.VAPIDSubject != "", "NOTIFY_VAPID_SUBJECT"
		case sender == nil:
			ch.Configured, ch.Setup = false, "no channel of this name is registered"
		default:
			if _, builtin := sender.(*sms.Channel); builtin {
				ch.Configured, ch.Setup = p.cfg.SMSProvider != "", "NOTIFY_SMS_PROVIDER"
			} else if hook, builtin := sender.(*webhook.Channel); builtin {
				ch.Configured, ch.Setup = hook.Configured(), "NOTIFY_WEBHOOK_URL"
			}
		}
		if ch.Configured {
			ch.Setup = ""
		}
		out = append(out, ch)
	}
	return out
}

// errSimulated rolls back a simulation's transaction.
var errSimulated = errors.New("simulation rolled back")

// simulate runs the rules of a record's collection against a write of it,
// as the enqueue hook would, inside a transaction that is rolled back: an
// update's changes are written with plain SQL (no record hooks, so nothing
// is enqueued, broadcast or sent) so that conditions see them, and nothing
// of it stays.
func (p *plugin) simulate(app core.App, req console.SimulateRequest) (*console.Simulation, error) {
	set := p.rules.Load()
	sim := &console.Simulation{Collection: req.Collection, Record: req.Record, Event: req.Event, Rules: []console.Verdict{}}
	var apiErr error
	err := app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindRecordById(req.Collection, req.Record)
		if errors.Is(err, sql.ErrNoRows) {
			apiErr = apis.NewNotFoundError(fmt.Sprintf("No record %q in collection %q.", req.Record, req.Collection), nil)
			return errSimulated
		}
		if err != nil {
			if _, cerr := tx.FindCachedCollectionByNameOrId(req.Collection); cerr != nil {
				apiErr = apis.NewNotFoundError(fmt.Sprintf("No collection %q.", req.Collection), nil)
				return errSimulated
			}
			return err
		}
		if len(req.Changes) > 0 {
			params := dbx.Params{}
			for name, v := range req.Changes {
				f := rec.Collection().Fields.GetByName(name)
				if f == nil || name == "id" {
					apiErr = apis.NewBadRequestError(fmt.Sprintf("Collection %q has no field %q to change.", req.Collection, name), nil)
					return errSimulated
				}
				rec.Set(name, v)
				var stored any = rec.GetRaw(name)
				if dv, ok := f.(core.DriverValuer); ok {
					if stored, err = dv.DriverValue(rec); err != nil {
						apiErr = apis.NewBadRequestError(fmt.Sprintf("Field %q: %v", name, err), nil)
						return errSimulated
					}
				}
				params[name] = stored
			}
			if _, err := tx.DB().Update(rec.Collection().Name, params, dbx.HashExp{"id": rec.Id}).Execute(); err != nil {
				return fmt.Errorf("applying the changes: %w", err)
			}
		}
		for _, rule := range set.All() {
			if rule.Collection != rec.Collection().Name {
				continue
			}
			v, err := p.verdict(tx, rec, req.Event, rule)
			if err != nil {
				return err
			}
			sim.Rules = append(sim.Rules, v)
		}
		return errSimulated
	})
	if apiErr != nil {
		return nil, apiErr
	}
	if err != nil && !errors.Is(err, errSimulated) {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	slices.SortStableFunc(sim.Rules, func(a, b console.Verdict) int {
		if a.Fires != b.Fires {
			if a.Fires {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return sim, nil
}

// verdict is what one rule does with the write: why it does not fire, or
// to whom on which channels it writes.
func (p *plugin) verdict(tx core.App, rec *core.Record, event string, rule *rules.Rule) (console.Verdict, error) {
	v := console.Verdict{Rule: rule.ID, Name: rule.Name, Template: rule.Template, Event: rule.Event, Recipients: []console.Recipient{}}
	switch {
	case !rule.Active:
		v.Reason = "the rule is not active"
		return v, nil
	case rule.Event != event:
		v.Reason = fmt.Sprintf("it fires on %s, not %s", rule.Event, event)
		return v, nil
	}
	matches, broken, err := rules.Evaluate(tx, rec, event, []*rules.Rule{rule}, p.cfg.UsersCollection)
	if err != nil {
		return v, err
	}
	if len(broken) > 0 {
		v.Reason = "it cannot be evaluated (its message would be recorded failed): " + broken[0].Reason
		return v, nil
	}
	if len(matches) == 0 {
		v.Reason, err = whyNot(tx, rec, event, rule)
		return v, err
	}
	v.Fires = true
	if rule.Delay > 0 {
		v.Note = "sent " + rule.Delay.String() + " after the write"
	}
	if rule.Guard != "" {
		holds, err := rule.GuardHolds(tx, rec)
		if err != nil && !errors.Is(err, rules.ErrBroken) {
			return v, err
		}
		if !holds {
			v.Note = strings.TrimSpace(v.Note + fmt.Sprintf("; its guard (%s) does not hold now: unless it does by then, the message is cancelled", rule.Guard))
			v.Note = strings.TrimPrefix(v.Note, "; ")
		}
	}
	for _, m := range matches {
		r := console.Recipient{User: m.UserID, Label: m.UserID}
		user, err := tx.FindRecordById(p.cfg.UsersCollection, m.UserID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return v, err
		}
		if user != nil {
			r.Label = strings.TrimSpace(user.GetString("name") + " <" + user.Email() + ">")
		}
		chosen := false
		configured := map[string]bool{}
		for _, ch := range p.consoleChannels(tx) {
			configured[ch.Name] = ch.Configured
		}
		for _, ch := range rule.Channels {
			cv := console.ChannelVerdict{Channel: ch}
			reason := ""
			if user != nil {
				reason = p.unreachable(user, ch, rule.Category)
			}
			switch {
			case rule.OneAtATime() && chosen:
				cv.Reason = "not used: the rule sends on the first channel the customer can receive"
			case reason != "":
				cv.Reason = "no message: " + reason
			case !configured[ch]:
				cv.Queued, cv.Reason = true, "queued, then skipped: the channel is not configured"
				chosen = true
			default:
				cv.Queued, chosen = true, true
			}
			r.Channels = append(r.Channels, cv)
		}
		v.Recipients = append(v.Recipients, r)
	}
	return v, nil
}

// whyNot says why a rule that watches this event did not fire.
func whyNot(tx core.App, rec *core.Record, event string, rule *rules.Rule) (string, error) {
	if rule.Changed != "" {
		now := rec.Get(rule.Changed)
		if event == rules.EventUpdate && fmt.Sprint(now) == fmt.Sprint(rec.Original().Get(rule.Changed)) {
			return fmt.Sprintf("%s does not change", rule.Changed), nil
		}
		if event == rules.EventCreate && rules.IsZero(now) {
			return fmt.Sprintf("%s is empty on create", rule.Changed), nil
		}
	} else if event == rules.EventUpdate && sameStored(rec) {
		return "the update changes nothing", nil
	}
	if rule.Condition != "" {
		ok, err := rules.MatchesFilter(tx, rec, rule.Condition)
		if err != nil && !errors.Is(err, rules.ErrBroken) {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("its condition (%s) does not hold", rule.Condition), nil
		}
	}
	if rule.ToStaff() {
		return "no user is marked staff", nil
	}
	return fmt.Sprintf("the recipient %s is empty", strings.Join(rule.Recipient, ".")), nil
}

// sameStored reports whether no field of rec differs from its original.
func sameStored(rec *core.Record) bool {
	orig := rec.Original()
	for _, f := range rec.Collection().Fields {
		if f.Type() == core.FieldTypeAutodate {
			continue
		}
		if fmt.Sprint(rec.Get(f.GetName())) != fmt.Sprint(orig.Get(f.GetName())) {
			return false
		}
	}
	return true
}
