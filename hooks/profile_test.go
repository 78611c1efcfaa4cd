package hooks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// A customer sets their own timezone and birthday (not anyone else's, and
// not staff); a name that is no IANA zone or a birthday yet to come is
// refused, saying what to fix, and the stored values stay.
func TestProfileTimezoneAndBirthday(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{NoPlugin: true, NoSMTP: true})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	boris := shop.SignUp("Boris", "boris@example.org", "en")
	path := "/api/collections/users/records/" + anna.ID

	shop.MustDo(200, "PATCH", path, anna.Token, map[string]any{"timezone": "America/New_York", "birthday": "1990-05-17 00:00:00.000Z"})
	for _, bad := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"timezone": "Mars/Olympus"}, "IANA time zone"},
		{map[string]any{"timezone": "Local"}, "IANA time zone"},
		{map[string]any{"timezone": "../../etc/passwd"}, "IANA time zone"},
		{map[string]any{"birthday": time.Now().AddDate(1, 0, 0).Format("2006-01-02") + " 00:00:00.000Z"}, "between 1900 and today"},
		{map[string]any{"birthday": "1812-09-07 00:00:00.000Z"}, "between 1900 and today"},
	} {
		if res := shop.Do("PATCH", path, anna.Token, bad.body); res.Status != 400 || !strings.Contains(string(res.Body), bad.want) {
			t.Errorf("PATCH %v = %d %s; want 400 saying %q", bad.body, res.Status, res.Body, bad.want)
		}
	}
	if res := shop.Do("PATCH", path, boris.Token, map[string]any{"timezone": "Asia/Tokyo"}); res.Status != 404 && res.Status != 403 {
		t.Errorf("Boris setting Anna's timezone = %d %s; want it refused", res.Status, res.Body)
	}
	got := shop.MustDo(200, "GET", path, anna.Token, nil)
	if got.String("timezone") != "America/New_York" || !strings.HasPrefix(got.String("birthday"), "1990-05-17") {
		t.Errorf("after the refused writes Anna has timezone %q, birthday %q; want America/New_York, 1990-05-17",
			got.String("timezone"), got.String("birthday"))
	}
	// Cleared, both.
	shop.MustDo(200, "PATCH", path, anna.Token, map[string]any{"timezone": "", "birthday": ""})
}
