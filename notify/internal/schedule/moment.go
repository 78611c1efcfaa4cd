// Package schedule is the time of rules: when a date rule fires (a date
// field of the record, an offset, a local time of day, a yearly repeat),
// and the queue operations that keep one pending message per rule and
// record as the record changes (move, cancel, debounce, digest).
//
// Every decision takes now from the caller: nothing here reads the clock
// or sleeps. A scheduled occurrence is an ordinary notifyMessages row with
// a future runAt, so it survives restarts and is cancelled like any row.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LateGrace is how late a moment may be when it is scheduled and still be
// sent: a 24-hour reminder for a booking made an hour ahead is not sent
// late, but a write landing a minute after the moment still counts.
const LateGrace = 5 * time.Minute

// RepeatYearly is the repeat of anniversaries (birthdays): after each
// occurrence the next year's is scheduled. Persisted in notifyRules.repeat.
const RepeatYearly = "yearly"

// TimeOfDay is a wall-clock time, "HH:MM", in some timezone.
type TimeOfDay struct{ Hour, Minute int }

// ParseTimeOfDay reads "HH:MM" (00:00 to 23:59).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) != 2 || len(m) != 2 ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return TimeOfDay{}, fmt.Errorf("%q is not a time of day like 09:30 (HH:MM, 24-hour)", s)
	}
	return TimeOfDay{hour, minute}, nil
}

// Minutes is the time of day in minutes after midnight.
func (t TimeOfDay) Minutes() int { return t.Hour*60 + t.Minute }

func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// On is this time of day on the calendar day y-m-d in loc. A time that
// does not exist that day (a spring-forward gap) is as late as the gap:
// 02:30 on a day that jumps from 02:00 to 03:00 is 03:30, never 01:30,
// so a message is not sent before the hour it was asked for.
func (t TimeOfDay) On(y int, m time.Month, d int, loc *time.Location) time.Time {
	at := time.Date(y, m, d, t.Hour, t.Minute, 0, 0, loc)
	if at.Hour() != t.Hour || at.Minute() != t.Minute {
		// In a gap: read the wall clock with the offset in force before it.
		_, before := at.Add(-3 * time.Hour).Zone()
		at = time.Date(y, m, d, t.Hour, t.Minute, 0, 0, time.FixedZone("", before)).In(loc)
	}
	return at
}

// Spec is when a date rule fires, relative to its record's date field.
type Spec struct {
	Offset time.Duration // signed: -24h is a day before
	At     *TimeOfDay    // nil: date+offset exactly
	Yearly bool
}

// Moment is when the rule fires for date, with the recipient in loc:
// date+offset, or, with At, that local time of the recipient on the
// calendar day date+offset falls on.
//
// A date-only value (stored as midnight UTC, as a birthday picked without a
// time is) names a calendar day, not an instant: its day is read in UTC, so
// a birthday on 14 May is on 14 May in New York too, not on the 13th.
func (s Spec) Moment(date time.Time, loc *time.Location) time.Time {
	t := date.Add(s.Offset)
	if s.At == nil {
		return t
	}
	day := t.In(loc)
	if DateOnly(date) {
		day = t.UTC()
	}
	y, m, d := day.Date()
	return s.At.On(y, m, d, loc)
}

// Next is the occurrence to schedule for date at now, and false when there
// is none. A one-off moment more than LateGrace in the past has none. A
// yearly rule takes the first anniversary strictly after now (the date's
// month and day in a later year; 29 February falls on 1 March in other
// years), so an occurrence that has just gone out is never scheduled again.
func (s Spec) Next(date time.Time, loc *time.Location, now time.Time) (time.Time, bool) {
	if date.IsZero() {
		return time.Time{}, false
	}
	if !s.Yearly {
		at := s.Moment(date, loc)
		return at, !at.Before(now.Add(-LateGrace))
	}
	// Start a year early: with a negative offset or a far timezone the
	// occurrence of this year's date may fall in last year, and the other
	// way round.
	for y := now.Year() - 1; y <= now.Year()+2; y++ {
		at := s.Moment(date.AddDate(y-date.Year(), 0, 0), loc)
		if at.After(now) {
			return at, true
		}
	}
	return time.Time{}, false
}

// After is the yearly occurrence after the one at prev, for date: what to
// schedule once prev has gone out.
func (s Spec) After(date time.Time, loc *time.Location, prev time.Time) (time.Time, bool) {
	return s.Next(date, loc, prev)
}

// DateOnly reports whether t is exactly midnight UTC: how a date field
// holds a day without a time.
func DateOnly(t time.Time) bool {
	u := t.UTC()
	return u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
}
