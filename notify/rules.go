package notify

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Rule delivery modes, persisted in notifyRules.mode.
const (
	ModeAll   = "all"   // one message on every listed channel
	ModeFirst = "first" // the first listed channel available to the user
)

// Rule is a parsed notifyRules record.
type Rule struct {
	ID         string
	Name       string
	Collection string
	Event      string
	Changed    string
	Condition  string
	Recipient  []string // field path, e.g. ["order", "customer"]
	Template   string
	Channels   []string
	Mode       string
	Delay      time.Duration
	Guard      string
	Category   string
	Active     bool
}

func ruleFromRecord(r *core.Record) (*Rule, error) {
	rule := &Rule{
		ID:         r.Id,
		Name:       r.GetString("name"),
		Collection: r.GetString("collection"),
		Event:      r.GetString("event"),
		Changed:    strings.TrimSpace(r.GetString("changed")),
		Condition:  strings.TrimSpace(r.GetString("condition")),
		Recipient:  strings.Split(strings.TrimSpace(r.GetString("recipient")), "."),
		Template:   r.GetString("template"),
		Channels:   r.GetStringSlice("channels"),
		Mode:       r.GetString("mode"),
		Guard:      strings.TrimSpace(r.GetString("guard")),
		Category:   r.GetString("category"),
		Active:     r.GetBool("active"),
	}
	if rule.Mode == "" {
		rule.Mode = ModeAll
	}
	if d := strings.TrimSpace(r.GetString("delay")); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil || delay < 0 {
			return nil, fmt.Errorf("delay %q is not a duration like 30m or 72h", d)
		}
		rule.Delay = delay
	}
	return rule, nil
}

// ruleSet is an immutable snapshot of the rules: active ones by collection
// name, all of them by id.
// It is replaced as a whole when any rule changes, so the write path reads it
// without locks.
type ruleSet struct {
	byCollection map[string][]*Rule
	byID         map[string]*Rule
}

func (s *ruleSet) match(collection, event string) []*Rule {
	if s == nil {
		return nil
	}
	var out []*Rule
	for _, r := range s.byCollection[collection] {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

func (p *plugin) reloadRules(app core.App) error {
	records, err := app.FindAllRecords(RulesCollection)
	if err != nil {
		return fmt.Errorf("reloadRules: %w", err)
	}
	set := &ruleSet{byCollection: map[string][]*Rule{}, byID: map[string]*Rule{}}
	for _, rec := range records {
		rule, err := ruleFromRecord(rec)
		if err != nil {
			app.Logger().Warn("notify: rule ignored", "rule", rec.Id, "error", err)
			continue
		}
		// Inactive rules stay known by id, so their queued messages can be
		// cancelled with a reason instead of sent.
		set.byID[rule.ID] = rule
		if rule.Active {
			set.byCollection[rule.Collection] = append(set.byCollection[rule.Collection], rule)
		}
	}
	p.rules.Store(set)
	return nil
}

// pending is one outbox row waiting to be inserted with the triggering write.
type pending struct {
	rule    *Rule
	userID  string
	trigger string
	data    []byte
}

// collectMatches evaluates the rules against the record as stored in txApp
// (after the write for create/update, before it for delete).
func (p *plugin) collectMatches(txApp core.App, rec *core.Record, event string, rules []*Rule) ([]pending, error) {
	var out []pending
	var snapshot []byte
	for _, rule := range rules {
		trigger := event
		switch {
		case rule.Changed != "":
			now := rec.Get(rule.Changed)
			if event == "update" && fmt.Sprint(now) == fmt.Sprint(rec.Original().Get(rule.Changed)) {
				continue
			}
			if event == "create" && isZero(now) {
				continue
			}
			trigger = event + ":" + rule.Changed + "=" + fmt.Sprint(now)
		case event == "update":
			// Without a watched field every distinct update notifies once.
			trigger = "update:" + rec.GetDateTime("updated").String()
		}
		if rule.Condition != "" {
			ok, err := matchesFilter(txApp, rec, rule.Condition)
			if err != nil {
				return nil, fmt.Errorf("rule %q: condition: %w", rule.Name, err)
			}
			if !ok {
				continue
			}
		}
		userID, err := resolveRecipient(txApp, rec, rule.Recipient)
		if err != nil {
			return nil, fmt.Errorf("rule %q: recipient %q: %w", rule.Name, strings.Join(rule.Recipient, "."), err)
		}
		if userID == "" {
			txApp.Logger().Warn("notify: rule matched but the recipient is empty", "rule", rule.Name, "record", rec.Id)
			continue
		}
		if snapshot == nil {
			if snapshot, err = json.Marshal(exportRecord(rec)); err != nil {
				return nil, err
			}
		}
		out = append(out, pending{rule: rule, userID: userID, trigger: trigger, data: snapshot})
	}
	return out, nil
}

// matchesFilter reports whether the stored record matches a PocketBase filter.
// It runs on txApp, so it sees the write that is being made.
func matchesFilter(app core.App, rec *core.Record, filter string) (bool, error) {
	coll := rec.Collection()
	query := app.RecordQuery(coll).Select("(1)").AndWhere(dbx.HashExp{coll.Name + ".id": rec.Id})
	resolver := core.NewRecordFieldResolver(app, coll, &core.RequestInfo{}, true)
	expr, err := search.FilterData(filter).BuildExpr(resolver)
	if err != nil {
		return false, err
	}
	if err := resolver.UpdateQuery(query); err != nil {
		return false, err
	}
	var one int
	err = query.AndWhere(expr).Limit(1).Row(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return one == 1, err
}

// resolveRecipient follows a field path (customer, order.customer, id) from
// rec to a user id. Every segment but the last must be a relation.
func resolveRecipient(app core.App, rec *core.Record, path []string) (string, error) {
	cur := rec
	for i, field := range path {
		if i == len(path)-1 {
			if field == "id" {
				return cur.Id, nil
			}
			return cur.GetString(field), nil
		}
		rel, ok := cur.Collection().Fields.GetByName(field).(*core.RelationField)
		if !ok {
			return "", fmt.Errorf("%q is not a relation field of %s", field, cur.Collection().Name)
		}
		id := cur.GetString(field)
		if id == "" {
			return "", nil
		}
		next, err := app.FindRecordById(rel.CollectionId, id)
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", field, id, err)
		}
		cur = next
	}
	return "", errors.New("empty path")
}

// exportRecord returns the record's fields that a template may use: every
// non-hidden field, never password hashes or token keys.
func exportRecord(rec *core.Record) map[string]any {
	out := map[string]any{"id": rec.Id, "collectionName": rec.Collection().Name}
	for _, f := range rec.Collection().Fields {
		if f.GetHidden() {
			continue
		}
		switch f.Type() {
		case core.FieldTypePassword:
			continue
		case core.FieldTypeJSON:
			var v any
			raw, _ := rec.Get(f.GetName()).(types.JSONRaw)
			if len(raw) > 0 {
				_ = json.Unmarshal(raw, &v)
			}
			out[f.GetName()] = v
		default:
			v := rec.Get(f.GetName())
			if dt, ok := v.(types.DateTime); ok {
				v = dt.String()
			}
			out[f.GetName()] = v
		}
	}
	return out
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case int:
		return x == 0
	case []string:
		return len(x) == 0
	}
	return fmt.Sprint(v) == ""
}

// enqueue writes one outbox row per (match, channel) through txApp, so the
// rows commit or roll back with the record write. A row whose dedupe key
// already exists is silently dropped: the same rule, record, trigger value,
// channel and recipient never produce a second message.
func (p *plugin) enqueue(txApp core.App, rec *core.Record, matches []pending) (int, error) {
	now := p.cfg.Now().UTC()
	var rows []outboxRow
	for _, m := range matches {
		chans := m.rule.Channels
		if m.rule.Mode == ModeFirst && len(chans) > 0 {
			// One message; the dispatcher walks the list at send time.
			chans = chans[:1]
		}
		var prefs Preferences
		if user, err := txApp.FindRecordById(p.cfg.UsersCollection, m.userID); err == nil {
			prefs = preferencesOf(user, p.cfg.PreferencesField)
		}
		for _, ch := range chans {
			if m.rule.Mode != ModeFirst && !prefs.Allows(ch, m.rule.Category) {
				continue // the customer turned this off; nothing to keep
			}
			rows = append(rows, outboxRow{
				RuleID:           m.rule.ID,
				Template:         m.rule.Template,
				Channel:          ch,
				Category:         m.rule.Category,
				UserID:           m.userID,
				SourceCollection: rec.Collection().Name,
				SourceRecord:     rec.Id,
				Data:             m.data,
				RunAt:            now.Add(m.rule.Delay),
				DedupeKey:        dedupeKey(m.rule.ID, rec.Id, m.trigger, ch, m.userID),
			})
		}
	}
	n, err := insertOutboxRows(txApp, rows, now)
	if err != nil {
		return 0, fmt.Errorf("outbox insert: %w", err)
	}
	return n, nil
}

func dedupeKey(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}
