package audience_test

import (
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/audience"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindow(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	for _, tt := range []struct {
		window string
		now    string // UTC; Moscow is UTC+3
		open   bool
		next   string // the next opening, UTC
	}{
		{"09:00-21:00", "2026-05-14T07:00:00Z", true, "2026-05-14T07:00:00Z"},  // 10:00
		{"09:00-21:00", "2026-05-14T05:59:00Z", false, "2026-05-14T06:00:00Z"}, // 08:59: today at 09:00
		{"09:00-21:00", "2026-05-14T18:00:00Z", false, "2026-05-15T06:00:00Z"}, // 21:00 closed: tomorrow
		{"09:00-21:00", "2026-05-14T17:59:00Z", true, "2026-05-14T17:59:00Z"},  // 20:59
		// Wrapping midnight: a night shift's window.
		{"22:00-06:00", "2026-05-14T20:00:00Z", true, "2026-05-14T20:00:00Z"},  // 23:00
		{"22:00-06:00", "2026-05-14T01:00:00Z", true, "2026-05-14T01:00:00Z"},  // 04:00
		{"22:00-06:00", "2026-05-14T03:00:00Z", false, "2026-05-14T19:00:00Z"}, // 06:00: tonight at 22:00
		{"22:00-06:00", "2026-05-14T12:00:00Z", false, "2026-05-14T19:00:00Z"}, // 15:00
	} {
		w, err := audience.ParseWindow(tt.window)
		if err != nil {
			t.Fatal(err)
		}
		now := utc(tt.now)
		if got := w.Open(now, moscow); got != tt.open {
			t.Errorf("%s.Open(%s) = %v; want %v", tt.window, tt.now, got, tt.open)
		}
		if got := w.NextOpening(now, moscow); !got.Equal(utc(tt.next)) {
			t.Errorf("%s.NextOpening(%s) = %s; want %s", tt.window, tt.now, got.UTC().Format(time.RFC3339), tt.next)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		window, throttle string
		ok               bool
	}{
		{"09:00-21:00", "1/24h", true},
		{"", "", true},
		{"09:00-09:00", "", false},
		{"9-21", "", false},
		{"09:00", "", false},
		{"", "0/24h", false},
		{"", "1/0s", false},
		{"", "1/day", false},
		{"", "99999/1h", false},
		{"", "3", false},
	} {
		_, err1 := audience.ParseWindow(tt.window)
		_, err2 := audience.ParseThrottle(tt.throttle)
		if ok := err1 == nil && err2 == nil; ok != tt.ok {
			t.Errorf("ParseWindow(%q), ParseThrottle(%q) = %v, %v; want ok %v", tt.window, tt.throttle, err1, err2, tt.ok)
		}
	}
}

func TestLoadTimezone(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{{"Europe/Moscow", true}, {"America/New_York", true}, {"UTC", true}, {"Local", false}, {"Mars/Olympus", false}, {"../../etc/passwd", false}, {"", false}} {
		if _, err := audience.LoadTimezone(tt.name); (err == nil) != tt.ok {
			t.Errorf("LoadTimezone(%q) error = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}
