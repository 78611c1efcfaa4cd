package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
	"github.com/pbnotify/pbnotify/internal/fakeclock"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// salon is the example app, served over HTTP on loopback, sending to an
// in-process SMTP server, on a clock the test moves.
type salon struct {
	t     *testing.T
	app   *tests.TestApp
	url   string
	smtp  *smtptest.Server
	clock *fakeclock.Clock
}

func start(t *testing.T, now time.Time) *salon {
	t.Helper()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir()}) // runs migrations.go
	if err != nil {
		t.Fatal(err)
	}
	s := &salon{t: t, app: app, smtp: smtptest.Start(t), clock: fakeclock.New(now)}
	settings := app.Settings()
	settings.Meta.AppName, settings.Meta.SenderAddress = "Salon", "salon@example.org"
	settings.SMTP.Enabled, settings.SMTP.Host, settings.SMTP.Port = true, s.smtp.Host, s.smtp.Port
	settings.SMTP.Username, settings.SMTP.Password = smtptest.Username, smtptest.Password
	if err := app.Save(settings); err != nil {
		t.Fatal(err)
	}
	err = registerWith(app, notify.Config{Now: s.clock.Now, EmailTLS: s.smtp.ClientTLS, PollInterval: 50 * time.Millisecond,
		DefaultLocale: "en"}) // the users collection here has no locale field
	if err != nil {
		t.Fatal(err)
	}
	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	// Serving starts the plugin's dispatcher; Cleanup stops it.
	err = app.OnServe().Trigger(&core.ServeEvent{App: app, Router: router}, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		s.url = srv.URL
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	return s
}

// client signs a client up (in Moscow) and returns their id and token.
func (s *salon) client(email string) (id, token string) {
	s.t.Helper()
	users, _ := s.app.FindCollectionByNameOrId("users")
	u := core.NewRecord(users)
	u.SetEmail(email)
	u.SetPassword("password123")
	u.Set("name", "Anna")
	u.Set("timezone", "Europe/Moscow")
	// A client who confirmed their address: the plugin sends an
	// unverified one at most one service message a day (README, Security),
	// and this client gets two reminders within a day.
	u.SetVerified(true)
	if err := s.app.Save(u); err != nil {
		s.t.Fatal(err)
	}
	token, err := u.NewAuthToken()
	if err != nil {
		s.t.Fatal(err)
	}
	return u.Id, token
}

// do calls the REST API and decodes the JSON reply.
func (s *salon) do(method, path, token string, body any) map[string]any {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		s.t.Fatalf("%s %s = %d %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// reminders waits until n reminders reached the SMTP server and returns
// their subjects.
func (s *salon) reminders(n int) []string {
	s.t.Helper()
	var subjects []string
	for _, m := range s.smtp.Wait(s.t, n, 10*time.Second) {
		subjects = append(subjects, m.Header("Subject"))
	}
	return subjects
}

// queued counts the queued reminders of an appointment.
func (s *salon) queued(appointment string) int {
	s.t.Helper()
	recs, err := s.app.FindRecordsByFilter(notify.MessagesCollection, "sourceRecord = {:a} && status = 'queued'", "", 0, 0, map[string]any{"a": appointment})
	if err != nil {
		s.t.Fatal(err)
	}
	return len(recs)
}

func TestRemindersFollowTheAppointment(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, moscow)
	s := start(t, now)
	anna, token := s.client("anna@example.org")
	dbTime := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

	// Booked for 4 June 15:00, then moved to 3 June 11:00.
	haircut := s.do("POST", "/api/collections/appointments/records", token, map[string]any{
		"client": anna, "service": "Haircut", "startsAt": dbTime(time.Date(2026, 6, 4, 15, 0, 0, 0, moscow)), "status": "booked",
	})["id"].(string)
	moved := time.Date(2026, 6, 3, 11, 0, 0, 0, moscow)
	s.do("PATCH", "/api/collections/appointments/records/"+haircut, token, map[string]any{"startsAt": dbTime(moved)})
	if n := s.queued(haircut); n != 2 {
		t.Fatalf("%d reminders queued for the haircut; want 2 (24 h and 2 h before)", n)
	}
	// Another one, cancelled: its reminders are cancelled with it.
	shave := s.do("POST", "/api/collections/appointments/records", token, map[string]any{
		"client": anna, "service": "Shave", "startsAt": dbTime(time.Date(2026, 6, 3, 12, 0, 0, 0, moscow)), "status": "booked",
	})["id"].(string)
	s.do("PATCH", "/api/collections/appointments/records/"+shave, token, map[string]any{"status": "cancelled"})
	if n := s.queued(shave); n != 0 {
		t.Fatalf("%d reminders still queued for the cancelled shave; want none", n)
	}

	// A day before the new time: one reminder, showing the new time in
	// Moscow.
	s.clock.Set(moved.Add(-24 * time.Hour))
	got := s.reminders(1)
	if want := "Reminder: Haircut, June 3, 2026, 11:00 AM"; got[0] != want {
		t.Errorf("the day-before reminder's subject = %q; want %q", got[0], want)
	}
	// Two hours before: the second.
	s.clock.Set(moved.Add(-2 * time.Hour))
	got = s.reminders(2)
	// The old time passes without a word; so does the shave's.
	s.clock.Set(time.Date(2026, 6, 5, 0, 0, 0, 0, moscow))
	if _, err := s.app.FindFirstRecordByFilter(notify.MessagesCollection, "status = 'queued'"); err == nil {
		t.Errorf("a message is still queued after both appointments passed")
	}
	if n := len(s.smtp.Messages()); n != 2 || got[1] != got[0] {
		t.Errorf("%d reminders (%v); want exactly the two for the haircut's new time", n, got)
	}
}
