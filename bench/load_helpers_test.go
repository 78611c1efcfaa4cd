package bench

import (
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/channels/email/smtptest"
)

// The benchmarks' verdicts rest on these helpers; a duplicate that went
// uncounted would pass BenchmarkSaturation silently.

func TestDuplicateMessageIDs(t *testing.T) {
	msg := func(id string) smtptest.Message {
		return smtptest.Message{Data: []byte("Message-ID: <" + id + ">\r\nSubject: Order #1001 received\r\n\r\nbody\r\n")}
	}
	for _, tc := range []struct {
		ids  []string
		want int
	}{
		{nil, 0},
		{[]string{"a@x", "b@x", "c@x"}, 0},
		{[]string{"a@x", "b@x", "a@x"}, 1},
		{[]string{"a@x", "a@x", "a@x", "b@x", "b@x"}, 3},
	} {
		var msgs []smtptest.Message
		for _, id := range tc.ids {
			msgs = append(msgs, msg(id))
		}
		if got := duplicateMessageIDs(msgs); got != tc.want {
			t.Errorf("duplicateMessageIDs(%v) = %d; want %d", tc.ids, got, tc.want)
		}
	}
	if m := orderNumber.FindStringSubmatch(msg("a@x").Header("Subject")); m == nil || m[1] != "1001" {
		t.Errorf("order number in %q = %v; want 1001", msg("a@x").Header("Subject"), m)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..100 ms, %v) = %v ms; want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7 * time.Millisecond}, 99); got != 7 {
		t.Errorf("percentile of one = %v; want 7", got)
	}
}
