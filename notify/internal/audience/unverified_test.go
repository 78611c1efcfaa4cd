package audience_test

import (
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/audience"
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
)

func TestExempt(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    audience.Message
		want bool
	}{
		// name                              message                                                                                                 exempt
		{"security (reset, code, alert)", audience.Message{Category: "security", User: "u1", SourceCollection: "users", SourceRecord: "u1"}, true},
		{"their order", audience.Message{Category: "transactional", User: "u1", SourceCollection: "orders", SourceRecord: "o1"}, true},
		{"their payment", audience.Message{Category: "transactional", User: "u1", SourceCollection: "payments", SourceRecord: "p1"}, true},
		{"sent from code, no record", audience.Message{Category: "transactional", User: "u1"}, true},
		{"welcome: about their account", audience.Message{Category: "transactional", User: "u1", SourceCollection: "users", SourceRecord: "u1"}, false},
		{"service", audience.Message{Category: "service", User: "u1", SourceCollection: "orders", SourceRecord: "o1"}, false},
		{"marketing", audience.Message{Category: "marketing", User: "u1"}, false},
		{"no category", audience.Message{User: "u1"}, false},
	} {
		if got := audience.Exempt(tc.m, "users"); got != tc.want {
			t.Errorf("Exempt(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestTakeDailySlot(t *testing.T) {
	app, _ := pbtest.NewApp(t)
	if err := audience.EnsureTable(app); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	victim := audience.Key("email", " Victim@Example.org ")
	if other := audience.Key("email", "victim@example.org"); other != victim {
		t.Fatalf("Key ignores case and spaces: %q != %q", victim, other)
	}
	take := func(key, msg string, at time.Time) bool {
		t.Helper()
		ok, err := audience.TakeDailySlot(app, key, msg, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		step string
		key  string
		msg  string
		at   time.Time
		want bool
	}{
		{"the first message of the day", victim, "m1", now, true},
		{"its retry", victim, "m1", now.Add(time.Hour), true},
		{"another message the same day", victim, "m2", now.Add(2 * time.Hour), false},
		{"another address", audience.Key("email", "someone@example.org"), "m3", now, true},
		{"the same address on SMS is another key", audience.Key("sms", "victim@example.org"), "m4", now, true},
		{"just under a day later", victim, "m5", now.Add(24*time.Hour - time.Second), false},
		{"a day later", victim, "m6", now.Add(24 * time.Hour), true},
		{"the old holder retried after that", victim, "m1", now.Add(25 * time.Hour), false},
	} {
		if got := take(tc.key, tc.msg, tc.at); got != tc.want {
			t.Errorf("%s: TakeDailySlot = %v; want %v", tc.step, got, tc.want)
		}
	}
}
