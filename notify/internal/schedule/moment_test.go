package schedule_test

import (
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/schedule"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(h, m int) *schedule.TimeOfDay { return &schedule.TimeOfDay{Hour: h, Minute: m} }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMoment(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec schedule.Spec
		date string // UTC
		zone string
		want string // UTC
	}{
		{"exact", schedule.Spec{}, "2026-05-14T12:00:00Z", "UTC", "2026-05-14T12:00:00Z"},
		{"a day before", schedule.Spec{Offset: -24 * time.Hour}, "2026-05-14T12:00:00Z", "Europe/Moscow", "2026-05-13T12:00:00Z"},
		{"two hours before", schedule.Spec{Offset: -2 * time.Hour}, "2026-05-14T12:00:00Z", "America/New_York", "2026-05-14T10:00:00Z"},
		// 10:00 in Moscow (UTC+3, no DST) on the day of the appointment.
		{"at in Moscow", schedule.Spec{At: at(10, 0)}, "2026-05-14T12:00:00Z", "Europe/Moscow", "2026-05-14T07:00:00Z"},
		// The US springs forward on 8 March 2026: a day-before reminder at
		// 10:00 is 10:00 EDT (UTC-4) on the 8th, not 10:00 EST.
		{"at across spring forward", schedule.Spec{Offset: -24 * time.Hour, At: at(10, 0)}, "2026-03-09T15:00:00Z", "America/New_York", "2026-03-08T14:00:00Z"},
		{"at the day before the change", schedule.Spec{Offset: -24 * time.Hour, At: at(10, 0)}, "2026-03-08T15:00:00Z", "America/New_York", "2026-03-07T15:00:00Z"},
		// Falls back on 1 November 2026: 10:00 EST is UTC-5.
		{"at across fall back", schedule.Spec{At: at(10, 0)}, "2026-11-01T18:00:00Z", "America/New_York", "2026-11-01T15:00:00Z"},
		// 02:30 does not exist on 8 March in New York; it is 03:30 EDT.
		{"at in the gap", schedule.Spec{At: at(2, 30)}, "2026-03-08T18:00:00Z", "America/New_York", "2026-03-08T07:30:00Z"},
		// A date-only birthday (midnight UTC) is its calendar day in New York
		// too, not the evening before.
		{"date-only day", schedule.Spec{At: at(10, 0)}, "2026-05-14T00:00:00Z", "America/New_York", "2026-05-14T14:00:00Z"},
		// An instant late in the evening UTC is the next day in Moscow.
		{"day in the recipient's zone", schedule.Spec{At: at(9, 0)}, "2026-05-14T22:00:00Z", "Europe/Moscow", "2026-05-15T06:00:00Z"},
	} {
		got := tt.spec.Moment(utc(tt.date), mustLoc(t, tt.zone))
		if !got.Equal(utc(tt.want)) {
			t.Errorf("%s: Moment(%s, %s) = %s; want %s", tt.name, tt.date, tt.zone, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
}

func TestNext(t *testing.T) {
	now := utc("2026-06-01T12:00:00Z")
	birthday := schedule.Spec{At: at(10, 0), Yearly: true}
	for _, tt := range []struct {
		name string
		spec schedule.Spec
		date string
		want string // "" for none
	}{
		{"future", schedule.Spec{}, "2026-06-02T12:00:00Z", "2026-06-02T12:00:00Z"},
		{"within the grace", schedule.Spec{}, "2026-06-01T11:56:00Z", "2026-06-01T11:56:00Z"},
		{"past the grace", schedule.Spec{}, "2026-06-01T11:54:00Z", ""},
		{"a day before, booked an hour ahead", schedule.Spec{Offset: -24 * time.Hour}, "2026-06-01T13:00:00Z", ""},
		{"birthday later this year", birthday, "1990-07-14T00:00:00Z", "2026-07-14T07:00:00Z"},
		{"birthday passed this year", birthday, "1990-05-14T00:00:00Z", "2027-05-14T07:00:00Z"},
		{"birthday today, after the hour", birthday, "1990-06-01T00:00:00Z", "2027-06-01T07:00:00Z"},
		{"empty date", schedule.Spec{}, "0001-01-01T00:00:00Z", ""},
	} {
		got, ok := tt.spec.Next(utc(tt.date), mustLoc(t, "Europe/Moscow"), now)
		switch {
		case tt.want == "" && ok:
			t.Errorf("%s: Next(%s) = %s; want none", tt.name, tt.date, got.UTC().Format(time.RFC3339))
		case tt.want != "" && (!ok || !got.Equal(utc(tt.want))):
			t.Errorf("%s: Next(%s) = %s, %v; want %s", tt.name, tt.date, got.UTC().Format(time.RFC3339), ok, tt.want)
		}
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"09:30", true}, {"00:00", true}, {"23:59", true}, {"24:00", false}, {"9:30", false}, {"09:60", false}, {"", false}, {"0930", false}, {"-1:00", false}} {
		if _, err := schedule.ParseTimeOfDay(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseTimeOfDay(%q) error = %v; want ok %v", tt.in, err, tt.ok)
		}
	}
}
