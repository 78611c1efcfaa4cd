package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/notify/internal/pbtest"
	"github.com/pocketbase/pocketbase/core"
)

// salon is a shop with a salon's appointments: a collection of its own
// with a start time and a status, a reminder template that prints the
// start in the client's timezone, and one client in Moscow.
type salon struct {
	*shoptest.Shop
	t      *testing.T
	client *core.Record
	appts  *core.Collection
}

// moscow is UTC+3 all year.
var moscow = mustZone("Europe/Moscow")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// newSalon starts a shop whose clock is at start and whose dispatcher runs
// only when the test calls notify.WorkNow.
func newSalon(t *testing.T, start time.Time) *salon {
	t.Helper()
	return newSalonWith(t, start, notify.Config{})
}

func newSalonWith(t *testing.T, start time.Time, cfg notify.Config) *salon {
	t.Helper()
	cfg.DisableDispatcher = true
	shop := shoptest.New(t, shoptest.Options{FakeClock: true, Config: cfg})
	shop.Clock.Set(start)
	s := &salon{Shop: shop, t: t}
	users, err := shop.App.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	s.appts = core.NewBaseCollection("appointments")
	s.appts.Fields.Add(
		&core.RelationField{Name: "client", CollectionId: users.Id, MaxSelect: 1, Required: true},
		&core.TextField{Name: "service"},
		&core.DateField{Name: "startsAt"},
		&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"booked", "cancelled"}},
		&core.NumberField{Name: "seats"},
	)
	s.must(shop.App.Save(s.appts))
	s.template("appointment.reminder", "Reminder: {{.Record.service}}", "{{.Record.service}} at {{datetime .Record.startsAt}} ({{.User.Timezone}})")
	s.client = core.NewRecord(users)
	s.client.SetEmail("anna@example.org")
	s.client.SetPassword("password123")
	s.client.SetVerified(true)
	s.client.Set("name", "Anna")
	s.client.Set("locale", "en")
	s.client.Set("timezone", "Europe/Moscow")
	s.must(shop.App.Save(s.client))
	return s
}

func (s *salon) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *salon) template(key, subject, text string) {
	s.t.Helper()
	coll, err := s.App.FindCollectionByNameOrId(notify.TemplatesCollection)
	s.must(err)
	for _, locale := range []string{"en", "ru"} {
		tpl := core.NewRecord(coll)
		tpl.Load(map[string]any{"key": key, "locale": locale, "subject": subject, "text": text,
			"pushTitle": subject, "pushBody": text, "active": true})
		s.must(s.App.Save(tpl))
	}
}

// rule saves a notifyRules record with the given fields over defaults for
// the appointments collection and returns it.
func (s *salon) rule(fields map[string]any) *core.Record {
	s.t.Helper()
	coll, err := s.App.FindCollectionByNameOrId(notify.RulesCollection)
	s.must(err)
	r := core.NewRecord(coll)
	r.Load(map[string]any{"name": "Reminder", "active": true, "collection": "appointments",
		"recipient": "client", "template": "appointment.reminder", "channels": []string{"email"}, "category": "service"})
	r.Load(fields)
	s.must(s.App.Save(r))
	return r
}

func (s *salon) book(service string, startsAt time.Time) *core.Record {
	s.t.Helper()
	a := core.NewRecord(s.appts)
	a.Load(map[string]any{"client": s.client.Id, "service": service, "startsAt": startsAt, "status": "booked"})
	s.must(s.App.Save(a))
	return a
}

func (s *salon) set(a *core.Record, field string, v any) {
	s.t.Helper()
	a.Set(field, v)
	s.must(s.App.Save(a))
}

// of lists the messages of a rule, oldest first.
func (s *salon) of(rule *core.Record) []*core.Record {
	return s.Messages("rule = {:r}", map[string]any{"r": rule.Id})
}

func (s *salon) work() {
	s.t.Helper()
	if _, err := notify.WorkNow(s.App); err != nil {
		s.t.Fatal(err)
	}
}

// mails returns the emails whose subject starts with prefix.
func (s *salon) mails(prefix string) []string {
	var out []string
	for _, m := range s.SMTP.Messages() {
		if strings.Contains(string(m.Data), "Subject: "+prefix) {
			out = append(out, string(m.Data))
		}
	}
	return out
}

func statuses(msgs []*core.Record) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.GetString("status"))
	}
	return strings.Join(out, ",")
}

func runAt(m *core.Record) time.Time { return m.GetDateTime("runAt").Time() }

// The salon's morning: 1 June 2026, 09:00 in Moscow.
var june1 = time.Date(2026, 6, 1, 9, 0, 0, 0, moscow)

func TestDateRuleFollowsTheBooking(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	rule := s.rule(map[string]any{"event": "date", "dateField": "startsAt", "offset": "-24h", "condition": "status = 'booked'"})

	start := june1.Add(72 * time.Hour) // 4 June, 09:00
	a := s.book("Haircut", start)
	msgs := s.of(rule)
	if len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusQueued || !runAt(msgs[0]).Equal(start.Add(-24*time.Hour)) {
		t.Fatalf("after booking: %d messages %s, first due %v; want one queued for a day before %v", len(msgs), statuses(msgs), runAt(msgs[0]), start)
	}
	// Moved later, then earlier: still one message, at the newest moment.
	later := start.Add(48 * time.Hour)
	s.set(a, "startsAt", later)
	earlier := june1.Add(50 * time.Hour) // 3 June, 11:00
	s.set(a, "startsAt", earlier)
	msgs = s.of(rule)
	if len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusQueued || !runAt(msgs[0]).Equal(earlier.Add(-24*time.Hour)) {
		t.Fatalf("after moving twice: %s due %v; want one queued message due %v", statuses(msgs), runAt(msgs[0]), earlier.Add(-24*time.Hour))
	}
	// Nothing goes out before the moment, neither at the old one.
	s.Clock.Set(earlier.Add(-24*time.Hour - time.Minute))
	s.work()
	if n := len(s.mails("Reminder")); n != 0 {
		t.Fatalf("%d reminders a minute early; want none", n)
	}
	s.Clock.Set(earlier.Add(-24 * time.Hour))
	s.work()
	mails := s.mails("Reminder")
	if len(mails) != 1 {
		t.Fatalf("%d reminders at the moment; want 1", len(mails))
	}
	// It shows the new time, as Anna reads it in Moscow.
	if want := "Haircut at June 3, 2026, 11:00 AM (Europe/Moscow)"; !strings.Contains(mails[0], want) {
		t.Errorf("the reminder reads\n%s\nwant it to contain %q", mails[0], want)
	}
	s.Clock.Set(start.Add(72 * time.Hour))
	s.work()
	if n := len(s.mails("Reminder")); n != 1 {
		t.Errorf("%d reminders in all; want exactly 1", n)
	}
}

func TestDateRuleCancelled(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	rule := s.rule(map[string]any{"event": "date", "dateField": "startsAt", "offset": "-2h", "condition": "status = 'booked'"})

	deleted := s.book("Manicure", june1.Add(24*time.Hour))
	s.must(s.App.Delete(deleted))
	if msgs := s.of(rule); len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusCancelled || !strings.Contains(msgs[0].GetString("error"), "deleted") {
		t.Fatalf("after deleting the booking: %s %q; want its reminder cancelled, saying it was deleted", statuses(msgs), msgs[0].GetString("error"))
	}

	a := s.book("Pedicure", june1.Add(24*time.Hour))
	s.set(a, "status", "cancelled")
	msgs := s.Messages("rule = {:r} && sourceRecord = {:a}", map[string]any{"r": rule.Id, "a": a.Id})
	if len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusCancelled || !strings.Contains(msgs[0].GetString("error"), "condition") {
		t.Fatalf("after cancelling the booking: %s %q; want the reminder cancelled, naming the condition", statuses(msgs), msgs[0].GetString("error"))
	}
	// Restored: the reminder comes back, for the same moment.
	s.set(a, "status", "booked")
	msgs = s.Messages("rule = {:r} && sourceRecord = {:a} && status = 'queued'", map[string]any{"r": rule.Id, "a": a.Id})
	if len(msgs) != 1 || !runAt(msgs[0]).Equal(june1.Add(22*time.Hour)) {
		t.Fatalf("after restoring the booking: %d queued; want one due %v", len(msgs), june1.Add(22*time.Hour))
	}
	// An emptied date cancels too.
	s.set(a, "startsAt", "")
	if msgs := s.Messages("rule = {:r} && sourceRecord = {:a} && status = 'queued'", map[string]any{"r": rule.Id, "a": a.Id}); len(msgs) != 0 {
		t.Fatalf("%d reminders still queued after the date was emptied; want none", len(msgs))
	}
	s.Clock.Set(june1.Add(48 * time.Hour))
	s.work()
	if n := len(s.mails("Reminder")); n != 0 {
		t.Errorf("%d reminders sent; want none", n)
	}
}

func TestDateRuleMomentInThePast(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	rule := s.rule(map[string]any{"event": "date", "dateField": "startsAt", "offset": "-24h"})
	// Booked an hour ahead: the day-before reminder is 23 hours late.
	s.book("Haircut", june1.Add(time.Hour))
	// Booked 24h02m ahead... minus the 5-minute grace: a moment 3 minutes
	// ago still goes.
	s.Clock.Set(june1.Add(3 * time.Minute))
	s.book("Shave", june1.Add(24*time.Hour))
	msgs := s.of(rule)
	if len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusQueued {
		t.Fatalf("messages %s; want one queued (the shave's, 3 minutes late), none for the haircut", statuses(msgs))
	}
	s.work()
	if mails := s.mails("Reminder"); len(mails) != 1 || !strings.Contains(mails[0], "Shave") {
		t.Errorf("%d reminders; want the shave's only", len(mails))
	}
}

func TestDateRuleSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	s.rule(map[string]any{"event": "date", "dateField": "startsAt", "offset": "-2h"})
	s.book("Haircut", june1.Add(5*time.Hour))
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	s.Clock.Set(june1.Add(3 * time.Hour))
	s.work()
	if n := len(s.mails("Reminder")); n != 1 {
		t.Errorf("%d reminders after a restart; want 1", n)
	}
}

func TestBirthdayYearly(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	s.template("user.birthday", "Happy birthday", "Happy birthday, {{.User.Name}}!")
	rule := s.rule(map[string]any{"collection": "users", "recipient": "id", "template": "user.birthday", "category": "marketing",
		"event": "date", "dateField": "birthday", "at": "10:00", "repeat": "yearly"})
	// A date-only birthday, as the date picker stores it.
	s.set(s.client, "birthday", "1990-06-14 00:00:00.000Z")
	msgs := s.of(rule)
	first := time.Date(2026, 6, 14, 10, 0, 0, 0, moscow)
	if len(msgs) != 1 || !runAt(msgs[0]).Equal(first) {
		t.Fatalf("%d greetings queued; want one at %v", len(msgs), first)
	}
	s.Clock.Set(first)
	s.work()
	if n := len(s.mails("Happy birthday")); n != 1 {
		t.Fatalf("%d greetings on the birthday; want 1", n)
	}
	queued := s.Messages("rule = {:r} && status = 'queued'", map[string]any{"r": rule.Id})
	next := time.Date(2027, 6, 14, 10, 0, 0, 0, moscow)
	if len(queued) != 1 || !runAt(queued[0]).Equal(next) {
		t.Fatalf("after the greeting %d queued; want next year's at %v", len(queued), next)
	}
	// Any later write of the user keeps that one, not a second.
	s.set(s.client, "name", "Anna P.")
	if queued := s.Messages("rule = {:r} && status = 'queued'", map[string]any{"r": rule.Id}); len(queued) != 1 || !runAt(queued[0]).Equal(next) {
		t.Fatalf("after a write: %d queued; want next year's only", len(queued))
	}
	s.work()
	if n := len(s.mails("Happy birthday")); n != 1 {
		t.Errorf("%d greetings this year; want 1", n)
	}
}

func TestAtAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	ny := mustZone("America/New_York")
	start := time.Date(2026, 3, 5, 12, 0, 0, 0, ny)
	s := newSalon(t, start)
	s.set(s.client, "timezone", "America/New_York")
	rule := s.rule(map[string]any{"event": "date", "dateField": "startsAt", "offset": "-24h", "at": "10:00"})
	// 9 March 15:00: the day before is 8 March, when clocks spring forward.
	s.book("Haircut", time.Date(2026, 3, 9, 15, 0, 0, 0, ny))
	msgs := s.of(rule)
	want := time.Date(2026, 3, 8, 14, 0, 0, 0, time.UTC) // 10:00 EDT
	if len(msgs) != 1 || !runAt(msgs[0]).Equal(want) {
		t.Fatalf("reminder due %v; want %v (10:00 New York daylight time)", runAt(msgs[0]).UTC(), want)
	}
}

func TestSendWindow(t *testing.T) {
	t.Parallel()
	night := time.Date(2026, 6, 1, 23, 0, 0, 0, moscow)
	s := newSalon(t, night)
	rule := s.rule(map[string]any{"event": "create", "window": "09:00-21:00", "category": "marketing"})
	urgent := s.rule(map[string]any{"name": "Urgent", "event": "create", "window": "09:00-21:00", "category": "security"})
	s.book("Haircut", night.Add(48*time.Hour))
	s.work()
	m := s.of(rule)[0]
	morning := time.Date(2026, 6, 2, 9, 0, 0, 0, moscow)
	if m.GetString("status") != notify.StatusQueued || !runAt(m).Equal(morning) || m.GetInt("attempts") != 0 ||
		!strings.HasPrefix(m.GetString("error"), "waiting for the send window 09:00-21:00") {
		t.Fatalf("at 23:00: %s due %v, %d attempts, %q; want queued until 09:00 Moscow, no attempt used, the window named",
			m.GetString("status"), runAt(m), m.GetInt("attempts"), m.GetString("error"))
	}
	if u := s.of(urgent)[0]; u.GetString("status") != notify.StatusSent {
		t.Errorf("a security message at night is %s; want sent at once", u.GetString("status"))
	}
	s.Clock.Set(morning.Add(-time.Minute))
	s.work()
	if n := len(s.mails("Reminder")); n != 1 {
		t.Fatalf("%d emails before 09:00; want only the security one", n)
	}
	s.Clock.Set(morning)
	s.work()
	if m := s.of(rule)[0]; m.GetString("status") != notify.StatusSent || m.GetString("error") != "" {
		t.Errorf("at 09:00: %s %q; want sent", m.GetString("status"), m.GetString("error"))
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	rule := s.rule(map[string]any{"event": "create", "throttle": "1/24h"})
	s.book("Haircut", june1.Add(48*time.Hour))
	s.Clock.Advance(time.Hour)
	s.book("Shave", june1.Add(48*time.Hour))
	msgs := s.of(rule)
	if statuses(msgs) != "queued,skipped" || !strings.HasPrefix(msgs[1].GetString("error"), "throttled") {
		t.Fatalf("two bookings an hour apart: %s, %q; want the second skipped as throttled", statuses(msgs), msgs[1].GetString("error"))
	}
	// The window slides: a day after the first, the next goes.
	s.Clock.Advance(23*time.Hour + time.Minute)
	s.book("Massage", june1.Add(72*time.Hour))
	if msgs := s.of(rule); statuses(msgs) != "queued,skipped,queued" {
		t.Fatalf("a day later: %s; want the third queued", statuses(msgs))
	}
	s.work()
	if n := len(s.mails("Reminder")); n != 2 {
		t.Errorf("%d emails; want 2", n)
	}
}

func TestDebounce(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	rule := s.rule(map[string]any{"event": "update", "delay": "1h", "debounce": true})
	a := s.book("Haircut", june1.Add(48*time.Hour))
	for i := range 5 {
		s.Clock.Advance(time.Minute)
		s.set(a, "seats", i+1)
	}
	last := s.Clock.Now()
	msgs := s.of(rule)
	if len(msgs) != 1 || !runAt(msgs[0]).Equal(last.Add(time.Hour)) {
		t.Fatalf("five quick writes: %d messages (%s); want one due an hour after the last", len(msgs), statuses(msgs))
	}
	s.Clock.Set(last.Add(59 * time.Minute))
	s.work()
	if n := len(s.mails("Reminder")); n != 0 {
		t.Fatalf("%d emails before the hour; want none", n)
	}
	s.Clock.Set(last.Add(time.Hour))
	s.work()
	if n := len(s.mails("Reminder")); n != 1 {
		t.Errorf("%d emails; want 1", n)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	s.template("appointment.digest", "Your {{.Count}} bookings", "{{range .Items}}[{{.service}}]{{end}} total {{.Count}}")
	rule := s.rule(map[string]any{"event": "create", "template": "appointment.digest", "digest": "10m"})
	for _, service := range []string{"Haircut", "Shave", "Massage"} {
		s.book(service, june1.Add(48*time.Hour))
		s.Clock.Advance(2 * time.Minute)
	}
	msgs := s.of(rule)
	if len(msgs) != 1 || !runAt(msgs[0]).Equal(june1.Add(10*time.Minute)) {
		t.Fatalf("three bookings: %d messages; want one digest closing 10 minutes after the first", len(msgs))
	}
	s.work()
	if n := len(s.mails("Your")); n != 0 {
		t.Fatalf("%d digests before it closed; want none", n)
	}
	s.Clock.Set(june1.Add(10 * time.Minute))
	s.work()
	mails := s.mails("Your 3 bookings")
	if len(mails) != 1 || !strings.Contains(mails[0], "[Haircut][Shave][Massage] total 3") {
		t.Fatalf("%d digests; want one listing the three oldest first: %v", len(mails), mails)
	}
	// The next booking opens a new digest.
	s.book("Nails", june1.Add(48*time.Hour))
	if msgs := s.of(rule); statuses(msgs) != "sent,queued" {
		t.Errorf("after the digest: %s; want a new one queued", statuses(msgs))
	}
}

func TestTimeFieldsValidated(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	admin := s.SuperuserToken()
	base := map[string]any{"name": "Bad", "active": true, "collection": "appointments", "recipient": "client",
		"template": "appointment.reminder", "channels": []string{"email"}, "category": "service"}
	for _, tt := range []struct {
		fields map[string]any
		field  string // the field the 400 must name
	}{
		{map[string]any{"event": "date", "dateField": "startsAt", "at": "25:00"}, "at"},
		{map[string]any{"event": "date", "dateField": "startsAt", "offset": "a day"}, "offset"},
		{map[string]any{"event": "date", "dateField": "service"}, "dateField"},
		{map[string]any{"event": "date", "dateField": "nope"}, "dateField"},
		{map[string]any{"event": "date"}, "dateField"},
		{map[string]any{"event": "date", "dateField": "startsAt", "repeat": "weekly"}, "repeat"},
		{map[string]any{"event": "create", "window": "21:00"}, "window"},
		{map[string]any{"event": "create", "window": "09:00-09:00"}, "window"},
		{map[string]any{"event": "create", "throttle": "lots"}, "throttle"},
		{map[string]any{"event": "create", "throttle": "0/1h"}, "throttle"},
		{map[string]any{"event": "update", "debounce": true}, "delay"},
		{map[string]any{"event": "create", "digest": "-5m"}, "digest"},
		{map[string]any{"event": "create", "offset": "-24h"}, "offset"},
	} {
		body := map[string]any{}
		for k, v := range base {
			body[k] = v
		}
		for k, v := range tt.fields {
			body[k] = v
		}
		res := s.Do("POST", "/api/collections/notifyRules/records", admin, body)
		if res.Status != 400 || !strings.Contains(string(res.Body), `"`+tt.field+`"`) {
			t.Errorf("rule %v = %d %s; want 400 naming %s", tt.fields, res.Status, res.Body, tt.field)
		}
	}
	good := map[string]any{"event": "date", "dateField": "startsAt", "offset": "-24h", "at": "10:00",
		"window": "22:00-06:00", "throttle": "2/24h"}
	for k, v := range base {
		good[k] = v
	}
	s.MustDo(200, "POST", "/api/collections/notifyRules/records", admin, good)
	// The date field of an active date rule cannot be deleted from under it.
	s.appts.Fields.RemoveByName("startsAt")
	if err := s.App.Save(s.appts); err == nil || !strings.Contains(err.Error(), "Bad") {
		t.Errorf("deleting startsAt under an active date rule = %v; want refused, naming the rule", err)
	}
}

func TestUserTimezoneValidated(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	s.client.Set("timezone", "Mars/Olympus")
	if err := s.App.Save(s.client); err == nil || !strings.Contains(err.Error(), "timezone") {
		t.Errorf("saving timezone Mars/Olympus = %v; want an error naming timezone", err)
	}
	s.client.Set("timezone", "America/New_York")
	s.must(s.App.Save(s.client))
}

func TestDatetimeInRussian(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	s.set(s.client, "locale", "ru")
	s.set(s.client, "timezone", "")
	rule := s.rule(map[string]any{"event": "create"})
	s.book("Стрижка", time.Date(2026, 6, 3, 21, 30, 0, 0, time.UTC))
	s.work()
	// No timezone of her own and none for the shop: UTC.
	msgs := s.of(rule)
	if len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusSent || !strings.HasPrefix(msgs[0].GetString("body"), "Стрижка at 3 июня 2026, 21:30 (UTC)") {
		t.Errorf("sent %s %q; want the body to start Стрижка at 3 июня 2026, 21:30 (UTC)", statuses(msgs), msgs[0].GetString("body"))
	}
}

func TestShopTimezone(t *testing.T) {
	t.Parallel()
	app, _ := pbtest.NewApp(t)
	if err := notify.Register(app, notify.Config{Timezone: "Mars/Olympus"}); err == nil || !strings.Contains(err.Error(), "NOTIFY_TIMEZONE") {
		t.Errorf("Register with Timezone Mars/Olympus = %v; want an error naming NOTIFY_TIMEZONE", err)
	}
	// A client without a timezone of her own gets the shop's.
	s := newSalonWith(t, june1, notify.Config{Timezone: "Asia/Tokyo"})
	s.set(s.client, "timezone", "")
	rule := s.rule(map[string]any{"event": "date", "dateField": "startsAt", "at": "10:00"})
	s.book("Haircut", time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC))
	want := time.Date(2026, 6, 3, 10, 0, 0, 0, mustZone("Asia/Tokyo"))
	if msgs := s.of(rule); len(msgs) != 1 || !runAt(msgs[0]).Equal(want) {
		t.Errorf("reminder due %v; want 10:00 in Tokyo (%v)", runAt(msgs[0]).UTC(), want.UTC())
	}
}

func TestDateRuleForExistingRecords(t *testing.T) {
	t.Parallel()
	s := newSalon(t, june1)
	start := june1.Add(72 * time.Hour)
	a := s.book("Haircut", start)
	s.book("Walk-in", time.Time{}) // no date: nothing to schedule
	// A rule added later schedules the appointments already booked.
	rule := s.rule(map[string]any{"event": "date", "dateField": "startsAt", "offset": "-24h"})
	msgs := s.of(rule)
	if len(msgs) != 1 || msgs[0].GetString("sourceRecord") != a.Id || !runAt(msgs[0]).Equal(start.Add(-24*time.Hour)) {
		t.Fatalf("after adding the rule: %d messages; want the haircut's, due a day before", len(msgs))
	}
	// Changing its offset moves what is queued.
	rule.Set("offset", "-2h")
	s.must(s.App.Save(rule))
	msgs = s.of(rule)
	if len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusQueued || !runAt(msgs[0]).Equal(start.Add(-2*time.Hour)) {
		t.Fatalf("after changing the offset: %s due %v; want one queued, due two hours before", statuses(msgs), runAt(msgs[0]))
	}
}

func TestDigestWaitsForTheWindow(t *testing.T) {
	t.Parallel()
	night := time.Date(2026, 6, 1, 23, 0, 0, 0, moscow)
	s := newSalonWith(t, night, notify.Config{})
	s.template("appointment.digest", "Your {{.Count}} bookings", "{{range .Items}}[{{.service}}]{{end}}")
	rule := s.rule(map[string]any{"event": "create", "template": "appointment.digest", "digest": "10m", "window": "09:00-21:00"})
	s.book("Haircut", night.Add(48*time.Hour))
	s.Clock.Advance(10 * time.Minute)
	s.work() // closes at 23:10, outside the window: waits for 09:00
	// Still open while it waits: a later booking joins it.
	s.Clock.Advance(20 * time.Minute)
	s.book("Shave", night.Add(48*time.Hour))
	if msgs := s.of(rule); len(msgs) != 1 || msgs[0].GetString("status") != notify.StatusQueued {
		t.Fatalf("at 23:30: %s; want one digest waiting", statuses(msgs))
	}
	s.Clock.Set(time.Date(2026, 6, 2, 9, 0, 0, 0, moscow))
	s.work()
	if mails := s.mails("Your 2 bookings"); len(mails) != 1 || !strings.Contains(mails[0], "[Haircut][Shave]") {
		t.Errorf("at 09:00: %d digests of two; want one listing both", len(mails))
	}
}
