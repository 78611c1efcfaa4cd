// Package audience is what the recipient's clock and patience allow: their
// timezone, the rule's send window in it, and the rule's throttle per
// recipient. It decides from a now the caller passes; nothing here reads
// the clock.
package audience

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/schedule"
	"github.com/pocketbase/pocketbase/core"
)

// TimezoneField is the users field holding the customer's IANA timezone,
// e.g. "Europe/Moscow".
const TimezoneField = "timezone"

// LoadTimezone reads an IANA timezone name. "" is an error: the caller
// decides what an unset one means.
func LoadTimezone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("no timezone")
	}
	// time.LoadLocation takes "Local" and file paths-like names; a
	// customer's timezone is an IANA name and nothing else.
	if name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("%q is not an IANA timezone like Europe/Moscow", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA timezone like Europe/Moscow", name)
	}
	return loc, nil
}

// Timezone is the recipient's timezone: their own (users.timezone) when
// set and valid, else fallback (the shop's NOTIFY_TIMEZONE), else UTC.
func Timezone(user *core.Record, fallback *time.Location) *time.Location {
	if user != nil {
		if loc, err := LoadTimezone(user.GetString(TimezoneField)); err == nil {
			return loc
		}
	}
	if fallback != nil {
		return fallback
	}
	return time.UTC
}

// Window is a daily send window in the recipient's timezone, from From
// (inclusive) to To (exclusive); it wraps midnight when To is earlier
// than From (22:00-06:00). The zero Window is "always open".
type Window struct {
	From, To schedule.TimeOfDay
	set      bool
}

// ParseWindow reads "HH:MM-HH:MM"; "" is the zero Window.
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Window{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("%q is not a window like 09:00-21:00", s)
	}
	f, err := schedule.ParseTimeOfDay(from)
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	t, err := schedule.ParseTimeOfDay(to)
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	if f == t {
		return Window{}, fmt.Errorf("window %q opens and closes at the same time; leave it empty to send at any hour", s)
	}
	return Window{From: f, To: t, set: true}, nil
}

// IsZero reports whether the window is unset (always open).
func (w Window) IsZero() bool { return !w.set }

func (w Window) String() string {
	if !w.set {
		return ""
	}
	return w.From.String() + "-" + w.To.String()
}

// Open reports whether t, read in loc, falls inside the window.
func (w Window) Open(t time.Time, loc *time.Location) bool {
	if !w.set {
		return true
	}
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	from, to := w.From.Minutes(), w.To.Minutes()
	if from < to {
		return m >= from && m < to
	}
	return m >= from || m < to // wraps midnight
}

// NextOpening is the first moment at or after t when the window is open:
// t itself when it is open, else the next From in loc (today's or
// tomorrow's).
func (w Window) NextOpening(t time.Time, loc *time.Location) time.Time {
	if w.Open(t, loc) {
		return t
	}
	local := t.In(loc)
	y, m, d := local.Date()
	open := w.From.On(y, m, d, loc)
	if !open.After(t) {
		open = w.From.On(y, m, d+1, loc)
	}
	return open
}

// Throttle is at most N messages of a rule per recipient (and channel)
// within any span of Per. The zero Throttle allows everything.
type Throttle struct {
	N   int
	Per time.Duration
}

// MaxThrottleN bounds N: beyond it a throttle is no throttle.
const MaxThrottleN = 10000

// ParseThrottle reads "N/duration", e.g. "1/24h"; "" is the zero Throttle.
func ParseThrottle(s string) (Throttle, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Throttle{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err1 := strconv.Atoi(strings.TrimSpace(n))
	d, err2 := time.ParseDuration(strings.TrimSpace(per))
	if !ok || err1 != nil || err2 != nil || count < 1 || count > MaxThrottleN || d <= 0 {
		return Throttle{}, fmt.Errorf("%q is not a throttle like 1/24h (at most N messages per duration, N from 1 to %d)", s, MaxThrottleN)
	}
	return Throttle{N: count, Per: d}, nil
}

// IsZero reports whether the throttle is unset.
func (t Throttle) IsZero() bool { return t.N == 0 }

func (t Throttle) String() string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d/%s", t.N, t.Per)
}
