package rules

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
)

// ErrBroken is matched (errors.Is) by every error that comes from a rule
// rather than from the database: a filter that no longer builds, a watched
// or recipient field that is gone or is no longer a relation. Such a rule
// cannot be evaluated until an admin fixes it; retrying does not help.
// Any other error from this package is the database's and may pass.
var ErrBroken = errors.New("the rule cannot be evaluated")

type brokenError struct{ reason string }

func (e *brokenError) Error() string        { return e.reason }
func (e *brokenError) Is(target error) bool { return target == ErrBroken }

func broken(format string, args ...any) error {
	return &brokenError{reason: fmt.Sprintf(format, args...)}
}

// Match is a rule that fires for a write: who gets its messages and the
// trigger that tells this firing apart from others of the same rule and
// record (see DedupeKey).
type Match struct {
	Rule    *Rule
	UserID  string
	Trigger string
	// RunAt, when set, is when the message is due (a date rule's moment)
	// rather than the rule's delay after the write.
	RunAt time.Time
}

// Unevaluable is a rule that could not be evaluated against a write. The
// write must still commit; the caller records the rule's message as failed
// with Reason and flags the rule.
type Unevaluable struct {
	Rule    *Rule
	UserID  string // "" when the recipient could not be found either
	Trigger string
	Reason  string
}

// Evaluate checks candidates (from Set.Match) against rec as stored in
// app, which should be the write's transaction: after the write for create
// and update, before it for delete. For each rule it applies the changed
// check, the condition filter and the recipient, in that order.
//
// A rule to "@staff" fires once per staff user of usersCollection, as the
// transaction sees them, each match with the same trigger (DedupeKey tells
// them apart by user); with no staff it fires for nobody.
//
// Rules that fire are returned in matches, rules that cannot be evaluated
// (ErrBroken) in unevaluable; neither fails the write. err is a database
// error, and then the write should fail.
func Evaluate(app core.App, rec *core.Record, event string, candidates []*Rule, usersCollection string) (matches []Match, unevaluable []Unevaluable, err error) {
	for _, rule := range candidates {
		trigger, fires, err := triggerOf(rule, rec, event)
		if err != nil {
			if !fires {
				continue // nothing happened that the rule could be about
			}
			unevaluable = append(unevaluable, unevaluableOf(app, rec, rule, trigger, "changed", err))
			continue
		}
		if !fires {
			continue
		}
		if rule.Condition != "" {
			ok, err := MatchesFilter(app, rec, rule.Condition)
			if errors.Is(err, ErrBroken) {
				unevaluable = append(unevaluable, unevaluableOf(app, rec, rule, trigger, "condition", err))
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("rule %q: condition: %w", rule.Name, err)
			}
			if !ok {
				continue
			}
		}
		if rule.ToStaff() {
			staff, err := StaffIDs(app, usersCollection)
			if errors.Is(err, ErrBroken) {
				unevaluable = append(unevaluable, Unevaluable{Rule: rule, Trigger: trigger, Reason: reason("recipient", err)})
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("rule %q: recipient %s: %w", rule.Name, StaffRecipient, err)
			}
			for _, id := range staff {
				matches = append(matches, Match{Rule: rule, UserID: id, Trigger: trigger})
			}
			continue
		}
		userID, err := Recipient(app, rec, rule.Recipient)
		if errors.Is(err, ErrBroken) {
			unevaluable = append(unevaluable, Unevaluable{Rule: rule, Trigger: trigger, Reason: reason("recipient", err)})
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("rule %q: recipient %q: %w", rule.Name, strings.Join(rule.Recipient, "."), err)
		}
		if userID == "" {
			app.Logger().Warn("notify: rule matched but the recipient is empty", "rule", rule.Name, "record", rec.Id)
			continue
		}
		matches = append(matches, Match{Rule: rule, UserID: userID, Trigger: trigger})
	}
	return matches, unevaluable, nil
}

func reason(field string, err error) string {
	return field + ": " + err.Error()
}

// unevaluableOf records a rule that broke before its recipient was known;
// the recipient is still looked up, best effort, so the failed message in
// the log names the customer who missed it.
func unevaluableOf(app core.App, rec *core.Record, rule *Rule, trigger, field string, err error) Unevaluable {
	u := Unevaluable{Rule: rule, Trigger: trigger, Reason: reason(field, err)}
	if id, err := Recipient(app, rec, rule.Recipient); err == nil {
		u.UserID = id
	}
	return u
}

// triggerOf decides whether rule fires for this write at all (fires) and
// under which trigger. A watched field that is gone is an ErrBroken error
// with fires true and a fallback trigger, so the caller records the rule's
// failure once per distinct write.
func triggerOf(rule *Rule, rec *core.Record, event string) (trigger string, fires bool, err error) {
	if rule.Changed != "" {
		if rec.Collection().Fields.GetByName(rule.Changed) == nil {
			trigger, fires := eventTrigger(rec, event)
			return trigger, fires, broken("%s has no field %q any more", rec.Collection().Name, rule.Changed)
		}
		now := rec.Get(rule.Changed)
		if event == EventUpdate && fmt.Sprint(now) == fmt.Sprint(rec.Original().Get(rule.Changed)) {
			return "", false, nil
		}
		if event == EventCreate && IsZero(now) {
			return "", false, nil
		}
		return event + ":" + rule.Changed + "=" + fmt.Sprint(now), true, nil
	}
	trigger, fires = eventTrigger(rec, event)
	return trigger, fires, nil
}

// eventTrigger is the trigger of a rule without a watched field. Create and
// delete happen once per record. An update is identified by the change it
// made (the fields before and after), so each distinct change notifies
// once, a retried identical request (which changes nothing) does not
// notify again, and it works on collections without an "updated" field.
func eventTrigger(rec *core.Record, event string) (string, bool) {
	if event != EventUpdate {
		return event, true
	}
	h := sha256.New()
	changed := false
	original := rec.Original()
	for _, f := range rec.Collection().Fields {
		// Autodate fields change on every save, whether or not anything did.
		if f.Type() == core.FieldTypeAutodate {
			continue
		}
		before, after := storedValue(f, original), storedValue(f, rec)
		if before != after {
			changed = true
		}
		fmt.Fprintf(h, "%s\x00%d:%s\x00%d:%s\x00", f.GetName(), len(before), before, len(after), after)
	}
	if !changed {
		return "", false
	}
	return "update:" + hex.EncodeToString(h.Sum(nil)[:16]), true
}

// storedValue is a field's value as it is written to the database, so that
// equal values compare equal whatever their in-memory type (a password is
// its hash, not a pointer).
func storedValue(f core.Field, rec *core.Record) string {
	var v any = rec.GetRaw(f.GetName())
	if dv, ok := f.(core.DriverValuer); ok {
		if stored, err := dv.DriverValue(rec); err == nil {
			v = stored
		}
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// IsZero reports whether a field value is empty: nil, "", false, 0 or an
// empty list. A rule watching a field fires on create only when it is not.
func IsZero(v any) bool {
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

// MatchesFilter reports whether the stored record matches a PocketBase
// filter (the syntax of API rules), evaluated in app, so run on a write's
// transaction it sees the write. A filter that does not build against the
// collection as it is now is an ErrBroken error; a failing query is not.
func MatchesFilter(app core.App, rec *core.Record, filter string) (bool, error) {
	coll := rec.Collection()
	query := app.RecordQuery(coll).Select("(1)").AndWhere(dbx.HashExp{coll.Name + ".id": rec.Id})
	resolver := core.NewRecordFieldResolver(app, coll, &core.RequestInfo{}, true)
	expr, err := search.FilterData(filter).BuildExpr(resolver)
	if err != nil {
		return false, broken("%q is not a valid filter for %s: %v", filter, coll.Name, err)
	}
	if err := resolver.UpdateQuery(query); err != nil {
		return false, broken("%q is not a valid filter for %s: %v", filter, coll.Name, err)
	}
	var one int
	err = query.AndWhere(expr).Limit(1).Row(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("filter %q: %w", filter, err)
	}
	return one == 1, nil
}

// GuardHolds re-checks the rule's guard against src, the message's source
// record as it is now. A rule without a guard always holds. An ErrBroken
// error means the guard no longer builds (cancel or fail the message); any
// other error is the database's (retry later).
func (r *Rule) GuardHolds(app core.App, src *core.Record) (bool, error) {
	if r.Guard == "" {
		return true, nil
	}
	return MatchesFilter(app, src, r.Guard)
}

// Recipient follows a field path (customer, order.customer, id) from rec
// to a user id. Every segment but a final "id" must be a single relation
// field. "" means the path ends at an empty relation or at a record that
// no longer exists: nobody to notify. A segment that is gone or is no
// longer a relation is an ErrBroken error.
func Recipient(app core.App, rec *core.Record, path []string) (string, error) {
	if len(path) == 0 {
		return "", broken("the recipient path is empty")
	}
	cur := rec
	for i, field := range path {
		last := i == len(path)-1
		if last && field == "id" {
			return cur.Id, nil
		}
		rel, ok := cur.Collection().Fields.GetByName(field).(*core.RelationField)
		if !ok {
			return "", broken("%q is not a relation field of %s", field, cur.Collection().Name)
		}
		id := cur.GetString(field)
		if id == "" || last {
			return id, nil
		}
		next, err := app.FindRecordById(rel.CollectionId, id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", field, id, err)
		}
		cur = next
	}
	return "", nil
}

// StaffIDs returns the ids of the staff users of usersCollection (StaffField
// true) as app sees them, in id order; run on a write's transaction it sees
// the write. A users collection that is gone or has no bool StaffField is
// an ErrBroken error.
func StaffIDs(app core.App, usersCollection string) ([]string, error) {
	users, err := app.FindCachedCollectionByNameOrId(usersCollection)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, broken("there is no users collection %q", usersCollection)
	}
	if err != nil {
		return nil, fmt.Errorf("users collection %q: %w", usersCollection, err)
	}
	if _, ok := users.Fields.GetByName(StaffField).(*core.BoolField); !ok {
		return nil, broken("%s has no bool field %q any more", users.Name, StaffField)
	}
	var ids []string
	err = app.DB().Select("id").From(users.Name).
		Where(dbx.HashExp{StaffField: true}).OrderBy("id").Column(&ids)
	if err != nil {
		return nil, fmt.Errorf("reading the staff of %s: %w", users.Name, err)
	}
	return ids, nil
}

// DedupeKey identifies one message: the same rule, record, trigger,
// channel and recipient never produce a second one. The format is stored
// in notifyMessages.dedupeKey, so it never changes.
func DedupeKey(ruleID, recordID, trigger, channel, userID string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{ruleID, recordID, trigger, channel, userID}, "\x00")))
	return hex.EncodeToString(h[:16])
}
