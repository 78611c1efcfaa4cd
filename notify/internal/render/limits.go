package render

import (
	"fmt"
	"unicode/utf8"
)

// What a phone shows of a push notification without opening it. A title
// longer than about 50 characters is cut on the lock screen (iOS and
// Android alike show one line of title), and a body past about 120 (two
// to four lines, depending on the phone) ends in "…". Validate refuses a
// template whose push texts, rendered against a sample record, run past
// these limits, so the message a customer sees is never cut mid-word.
const (
	PushTitleMax = 50
	PushBodyMax  = 120
)

// checkLimits reports the first rendered field that is too long.
func checkLimits(r *Rendered) *FieldError {
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{FieldPushTitle, r.PushTitle, PushTitleMax},
		{FieldPushBody, r.PushBody, PushBodyMax},
	} {
		if n := utf8.RuneCountInString(f.value); n > f.max {
			return &FieldError{f.name, fmt.Errorf("renders to %d characters (%q); a phone's lock screen shows about %d, so keep it at most %d", n, f.value, f.max, f.max)}
		}
	}
	return nil
}
