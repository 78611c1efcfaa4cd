package outbox

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// NextDueForTest is nextDue over every lane, with nothing held.
func NextDueForTest(app core.App) (time.Time, bool, error) {
	return nextDue(app.DB().NewQuery(nextDueSQL(lane{})), lane{}, nil)
}

// RenewForTest exposes renew.
func RenewForTest(app core.App, jobs []Job, until time.Time) error { return renew(app, jobs, until) }
