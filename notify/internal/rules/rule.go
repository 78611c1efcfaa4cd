// Package rules is the notifyRules concept: a rule parsed from its record,
// the immutable set of rules the write path reads, the evaluation of one
// record write against them, and the checks that keep rules and the
// collections they watch consistent.
//
// It knows PocketBase (records, collections, filters) but nothing of the
// outbox, templates or channels' implementations: it says which rules fire
// for a write, for whom, and under which dedupe trigger; the caller decides
// what to write.
package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/audience"
	"github.com/pbnotify/pbnotify/notify/internal/schedule"
	"github.com/pocketbase/pocketbase/core"
)

// CollectionName is the collection rules are stored in; public contract.
const CollectionName = "notifyRules"

// Delivery modes, persisted in notifyRules.mode.
const (
	ModeAll   = "all"   // one message on every listed channel
	ModeFirst = "first" // the first listed channel available to the user
	// ModeEscalate sends on the first listed channel available to the
	// user, then on the next when no step was read within EscalateAfter.
	ModeEscalate = "escalate"
)

// Events, persisted in notifyRules.event.
const (
	EventCreate = "create"
	EventUpdate = "update"
	EventDelete = "delete"
	// EventDate fires at a moment computed from a date field of the
	// record (DateField, Offset, At, Repeat), not at the write.
	EventDate = "date"
)

// Rule is a parsed notifyRules record.
type Rule struct {
	ID         string
	Name       string
	Collection string
	Event      string
	Changed    string
	Condition  string
	Recipient  []string // field path, e.g. ["order", "customer"], or [StaffRecipient]
	Template   string
	Channels   []string
	Mode       string
	Delay      time.Duration
	// EscalateAfter is, with ModeEscalate, how long a step may go unread
	// before the next channel gets the message.
	EscalateAfter time.Duration
	Guard         string
	Category      string
	Active        bool
	// Problem is why the rule could not be evaluated at the last write that
	// tried, as flagged in notifyRules.problem; "" when none.
	Problem string

	// DateField is, for a date rule, the record's date field the moment is
	// computed from; When says how.
	DateField string
	When      schedule.Spec
	// Window is when the recipient may get the rule's messages, in their
	// timezone; security messages ignore it.
	Window audience.Window
	// Throttle caps the rule's messages per recipient.
	Throttle audience.Throttle
	// Debounce makes a new matching write of the same record move the
	// queued message to now+Delay instead of adding one.
	Debounce bool
	// Digest gathers the rule's messages to one recipient within this long
	// into one message listing every triggering record; 0 is off.
	Digest time.Duration
}

// ParseError is a field of a rules record that does not parse.
type ParseError struct {
	Field string
	Msg   string
}

func (e *ParseError) Error() string { return e.Msg }

func parseErr(field, format string, args ...any) error {
	return &ParseError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// StaffRecipient is the recipient of a rule addressed to the shop's own
// people rather than to a user the record points to: every user whose
// StaffField is true when the write happens gets the message.
const StaffRecipient = "@staff"

// StaffField is the bool field of the users collection that marks the
// shop's own people. Only superusers set it (the shop's hooks refuse it
// from anyone else).
const StaffField = "staff"

// ToStaff reports whether the rule is addressed to the staff (recipient
// "@staff").
func (r *Rule) ToStaff() bool {
	return len(r.Recipient) == 1 && r.Recipient[0] == StaffRecipient
}

// FromRecord parses a notifyRules record. Only a malformed delay is an
// error: everything else is checked against the schema by Check.
func FromRecord(r *core.Record) (*Rule, error) {
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
		Problem:    r.GetString("problem"),
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
	if d := strings.TrimSpace(r.GetString("escalateAfter")); d != "" {
		after, err := time.ParseDuration(d)
		if err != nil || after <= 0 {
			return nil, fmt.Errorf("escalateAfter %q is not a duration like 30m or 2h", d)
		}
		rule.EscalateAfter = after
	}
	if err := parseTime(r, rule); err != nil {
		return nil, err
	}
	return rule, nil
}

// parseTime reads the time fields of a rule record (see DESIGN "Time").
func parseTime(r *core.Record, rule *Rule) error {
	rule.DateField = strings.TrimSpace(r.GetString("dateField"))
	if s := strings.TrimSpace(r.GetString("offset")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return parseErr("offset", "offset %q is not a signed duration like -24h or 3h30m", s)
		}
		rule.When.Offset = d
	}
	if s := strings.TrimSpace(r.GetString("at")); s != "" {
		at, err := schedule.ParseTimeOfDay(s)
		if err != nil {
			return parseErr("at", "at: %v", err)
		}
		rule.When.At = &at
	}
	switch repeat := strings.TrimSpace(r.GetString("repeat")); repeat {
	case "":
	case schedule.RepeatYearly:
		rule.When.Yearly = true
	default:
		return parseErr("repeat", "repeat %q is not %q (or empty)", repeat, schedule.RepeatYearly)
	}
	w, err := audience.ParseWindow(r.GetString("window"))
	if err != nil {
		return parseErr("window", "%v", err)
	}
	rule.Window = w
	t, err := audience.ParseThrottle(r.GetString("throttle"))
	if err != nil {
		return parseErr("throttle", "%v", err)
	}
	rule.Throttle = t
	rule.Debounce = r.GetBool("debounce")
	if s := strings.TrimSpace(r.GetString("digest")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return parseErr("digest", "digest %q is not a duration like 10m or 24h", s)
		}
		rule.Digest = d
	}
	return nil
}

// OneAtATime reports whether the rule sends one message that moves from
// channel to channel (modes first and escalate), rather than one per
// channel.
func (r *Rule) OneAtATime() bool { return r.Mode == ModeFirst || r.Mode == ModeEscalate }

// FirstChannel is the channel a message of the rule is recorded on when it
// has no better one (a rule that could not be evaluated); "" if none.
func (r *Rule) FirstChannel() string {
	if len(r.Channels) == 0 {
		return ""
	}
	return r.Channels[0]
}
