package outbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/notify/internal/outbox"
)

// TestSnapshotOverTheCapIsNotKept: a message about a record larger than
// SnapshotMax is recorded failed with the reason and keeps no copy of it,
// so no write multiplies a huge record by its messages; one at the cap is
// queued with its snapshot.
func TestSnapshotOverTheCapIsNotKept(t *testing.T) {
	app := newApp(t)
	now := newClock().Now()
	snapshot := func(size int) []byte {
		s := fmt.Sprintf(`{"note":"%s"}`, strings.Repeat("x", size-len(`{"note":""}`)))
		return []byte(s)
	}
	enqueue(t, app, now,
		outbox.Message{Channel: "email", Template: "at-cap", Data: snapshot(outbox.SnapshotMax)},
		outbox.Message{Channel: "email", Template: "over-cap", Data: snapshot(outbox.SnapshotMax + 1)},
	)
	for _, tc := range []struct {
		template, status, errPrefix string
		dataLen                     int
	}{
		{"at-cap", outbox.StatusQueued, "", outbox.SnapshotMax},
		{"over-cap", outbox.StatusFailed, "the record is too large to send a message about: 65 KB of data, at most 64 KB", len("{}")},
	} {
		var got struct {
			Status string `db:"status"`
			Error  string `db:"error"`
			Data   string `db:"data"`
		}
		err := app.DB().NewQuery("SELECT status, error, data FROM notifyMessages WHERE template = {:t}").
			Bind(map[string]any{"t": tc.template}).One(&got)
		if err != nil {
			t.Fatalf("%s: %v", tc.template, err)
		}
		if got.Status != tc.status || !strings.HasPrefix(got.Error, tc.errPrefix) || len(got.Data) != tc.dataLen {
			t.Errorf("%s: status %q error %q data %d bytes; want %q, %q, %d bytes",
				tc.template, got.Status, got.Error, len(got.Data), tc.status, tc.errPrefix, tc.dataLen)
		}
	}
}
