package render

import (
	"errors"
	"testing"

	"github.com/pbnotify/pbnotify/channels"
)

func subjectOf(t *testing.T, tpl *Template) string {
	t.Helper()
	r, err := tpl.Render(testView(), channels.Email)
	if err != nil {
		t.Fatal(err)
	}
	return r.Subject
}

func TestLookupLocales(t *testing.T) {
	app := newTestApp(t)
	newRecord(t, app, templatesCollection, map[string]any{"key": "order.paid", "locale": "en", "subject": "Paid", "active": true})
	newRecord(t, app, templatesCollection, map[string]any{"key": "order.paid", "locale": "ru", "subject": "Оплачен", "active": true})
	newRecord(t, app, templatesCollection, map[string]any{"key": "order.paid", "locale": "de", "subject": "Bezahlt", "active": false})
	newRecord(t, app, templatesCollection, map[string]any{"key": "order.new", "locale": "ru", "subject": "Новый", "active": true})
	c := NewCache(templatesCollection)
	for _, tc := range []struct {
		key     string
		locales []string
		want    string // the subject; "" for ErrNoTemplate
	}{
		{"order.paid", []string{"en", "ru"}, "Paid"},
		{"order.paid", []string{"ru", "en"}, "Оплачен"},
		{"order.paid", []string{"de", "en"}, "Paid"}, // the inactive version is not used
		{"order.new", []string{"en", "en"}, "Новый"}, // any locale rather than none
		{"order.gone", []string{"en"}, ""},
	} {
		tpl, err := c.Lookup(app, tc.key, tc.locales...)
		switch {
		case tc.want == "" && !errors.Is(err, ErrNoTemplate):
			t.Errorf("Lookup(%q, %v) = %v; want ErrNoTemplate", tc.key, tc.locales, err)
		case tc.want == "":
		case err != nil:
			t.Errorf("Lookup(%q, %v): %v", tc.key, tc.locales, err)
		case subjectOf(t, tpl) != tc.want:
			t.Errorf("Lookup(%q, %v) subject = %q; want %q", tc.key, tc.locales, subjectOf(t, tpl), tc.want)
		}
	}
}

// TestLookupReadErrorIsTransient checks that a failed read is not reported
// as a missing template, so the caller retries instead of failing the
// message.
func TestLookupReadErrorIsTransient(t *testing.T) {
	app := newTestApp(t)
	c := NewCache("nosuchcollection")
	_, err := c.Lookup(app, "order.paid", "en")
	if err == nil || errors.Is(err, ErrNoTemplate) {
		t.Errorf("Lookup = %v; want a read error that is not ErrNoTemplate", err)
	}
}

// TestLookupCaches checks that a second lookup does not read the database
// again until Reset.
func TestLookupCaches(t *testing.T) {
	app := newTestApp(t)
	newRecord(t, app, templatesCollection, map[string]any{"key": "k", "locale": "en", "subject": "v1", "active": true})
	c := NewCache(templatesCollection)
	loads := 0
	c.loaded = func(string) { loads++ }
	for range 3 {
		if _, err := c.Lookup(app, "k", "en"); err != nil {
			t.Fatal(err)
		}
	}
	c.Reset()
	if _, err := c.Lookup(app, "k", "en"); err != nil {
		t.Fatal(err)
	}
	if loads != 2 {
		t.Errorf("3 lookups, Reset, 1 lookup: %d loads; want 2", loads)
	}
}

// TestLookupRaceWithEdit lands an edit (and the Reset that follows its
// commit) between a lookup's read and its store: the cache must not keep
// the version read before the edit.
func TestLookupRaceWithEdit(t *testing.T) {
	app := newTestApp(t)
	rec := newRecord(t, app, templatesCollection, map[string]any{"key": "k", "locale": "en", "subject": "v1", "active": true})
	c := NewCache(templatesCollection)

	paused, resume := make(chan struct{}), make(chan struct{})
	first := true
	c.loaded = func(string) {
		if first { // only the racing lookup pauses
			first = false
			close(paused)
			<-resume
		}
	}
	done := make(chan *Template)
	go func() {
		tpl, err := c.Lookup(app, "k", "en")
		if err != nil {
			t.Error(err)
		}
		done <- tpl
	}()
	<-paused
	rec.Set("subject", "v2")
	mustSave(t, app, rec)
	c.Reset() // what notify does after a template record is saved
	close(resume)
	if tpl := <-done; tpl != nil && subjectOf(t, tpl) != "v1" {
		t.Errorf("racing lookup subject = %q; want v1, read before the edit", subjectOf(t, tpl))
	}

	tpl, err := c.Lookup(app, "k", "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := subjectOf(t, tpl); got != "v2" {
		t.Errorf("lookup after the edit: subject = %q; want v2", got)
	}
}
