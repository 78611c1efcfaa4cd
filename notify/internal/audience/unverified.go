// The daily cap on addresses nobody has proven (DailyCap), kept in a
// plain table (CapTable) that no records API exposes.
//
// Why: anyone can sign up with someone else's email address, or type any
// phone number. Without a cap, signing up ten times with a victim's address
// (and deleting the account in between) sent the victim ten welcome
// emails, each carrying the name the attacker typed. An address that is
// not verified therefore receives at most one message a day that is not
// about the recipient's own doing (see Exempt), however many accounts name
// it.

package audience

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// CapTable keeps, per unverified address, the message that used its daily
// slot and when. It is a plain table: no records API exposes it.
const CapTable = "_notifyAddressCaps"

// CapWindow is how long one message holds an unverified address's slot.
const CapWindow = 24 * time.Hour

// EnsureTable creates the cap table if it does not exist. It belongs in a
// migration (notify.InstallCollections), not on a send.
func EnsureTable(app core.App) error {
	_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS {{` + CapTable + `}} (
		[[address]] TEXT PRIMARY KEY NOT NULL,
		[[message]] TEXT NOT NULL,
		[[at]] TEXT NOT NULL
	)`).Execute()
	if err != nil {
		return fmt.Errorf("audience.EnsureTable: %w", err)
	}
	return nil
}

// Message is what the cap needs to know of one message.
type Message struct {
	ID       string // the notifyMessages id: a retry of it keeps its slot
	Channel  string
	Category string
	// User is the recipient's id; SourceCollection and SourceRecord the
	// record the message is about ("" for one sent from code without one).
	User, SourceCollection, SourceRecord string
}

// Exempt reports whether m is about the recipient's own doing, and so is
// not counted against an unverified address:
//
//   - security messages (verification, password reset, one-time codes,
//     password and email change alerts): capping them would lock a
//     customer out of their own account; the shop rate-limits the
//     requests that send them;
//   - transactional messages about a record the recipient was found
//     through (an order's customer, a payment's order's customer), or
//     sent from code without a record, except a message about the
//     recipient's own account record (the welcome message on sign-up),
//     which is the one an attacker gets by signing up with a victim's
//     address.
//
// Service and marketing messages are never exempt.
func Exempt(m Message, usersCollection string) bool {
	switch m.Category {
	case "security":
		return true
	case "transactional":
		return m.SourceCollection != usersCollection || m.SourceRecord != m.User
	}
	return false
}

// Key is how an address is counted: per channel, case and surrounding
// space ignored.
func Key(channel, address string) string {
	return channel + ":" + strings.ToLower(strings.TrimSpace(address))
}

// TakeDailySlot claims the unverified address's one message a day for
// messageID and reports whether it got it. The claim is one statement on
// the write connection, so two workers sending to the same address at
// once cannot both get it. The message that holds the slot gets it again
// (a retry after a failed attempt) without moving the slot's time; any
// other gets it only once CapWindow has passed since the holder first took
// it. Slots older than that are deleted.
func TakeDailySlot(app core.App, key, messageID string, now time.Time) (bool, error) {
	cutoff := dbTime(now.Add(-CapWindow))
	res, err := app.NonconcurrentDB().NewQuery(`INSERT INTO {{` + CapTable + `}} ([[address]], [[message]], [[at]])
		VALUES ({:key}, {:msg}, {:now})
		ON CONFLICT ([[address]]) DO UPDATE SET [[message]] = excluded.[[message]],
			[[at]] = CASE WHEN {{` + CapTable + `}}.[[message]] = excluded.[[message]] THEN {{` + CapTable + `}}.[[at]] ELSE excluded.[[at]] END
		WHERE {{` + CapTable + `}}.[[message]] = excluded.[[message]] OR {{` + CapTable + `}}.[[at]] <= {:cutoff}`).
		Bind(dbx.Params{"key": key, "msg": messageID, "now": dbTime(now), "cutoff": cutoff}).Execute()
	if err != nil {
		return false, fmt.Errorf("audience.TakeDailySlot: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("audience.TakeDailySlot: %w", err)
	}
	if _, err := app.NonconcurrentDB().NewQuery(`DELETE FROM {{` + CapTable + `}} WHERE [[at]] <= {:cutoff}`).
		Bind(dbx.Params{"cutoff": cutoff}).Execute(); err != nil {
		return false, fmt.Errorf("audience.TakeDailySlot: pruning: %w", err)
	}
	return n > 0, nil
}

// dbTime formats t as PocketBase stores dates, which sorts as text in time
// order.
func dbTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}
