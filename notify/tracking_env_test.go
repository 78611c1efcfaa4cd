package notify_test

import (
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/notify"
)

func TestTrackingFromEnv(t *testing.T) {
	for _, tc := range []struct {
		clicks, opens       string // NOTIFY_TRACK_CLICKS, NOTIFY_TRACK_OPENS
		noClicks, trackOpen bool
		err                 string // part of the error, "" for none
	}{
		{"", "", false, false, ""}, // the defaults: clicks on, opens off
		{"off", "on", true, true, ""},
		{"OFF ", "true", true, true, ""},
		{"on", "0", false, false, ""},
		{"nope", "", false, false, "NOTIFY_TRACK_CLICKS"},
		{"", "sometimes", false, false, "NOTIFY_TRACK_OPENS"},
	} {
		t.Setenv("NOTIFY_TRACK_CLICKS", tc.clicks)
		t.Setenv("NOTIFY_TRACK_OPENS", tc.opens)
		cfg, err := notify.ConfigFromEnv()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "on or off") {
				t.Errorf("clicks=%q opens=%q: error %v; want one naming %s", tc.clicks, tc.opens, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.NoClickTracking != tc.noClicks || cfg.TrackOpens != tc.trackOpen {
			t.Errorf("clicks=%q opens=%q: NoClickTracking=%v TrackOpens=%v, %v; want %v %v",
				tc.clicks, tc.opens, cfg.NoClickTracking, cfg.TrackOpens, err, tc.noClicks, tc.trackOpen)
		}
	}
}
