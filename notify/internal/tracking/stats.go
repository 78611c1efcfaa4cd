package tracking

import (
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// StatsTable keeps the counters behind notifyStats: one row per day (UTC,
// the day the message was queued), rule, template, channel and variant.
// Triggers on notifyMessages keep it current in the transaction of every
// write, so the view reads a few thousand rows instead of aggregating the
// whole message log (a million messages took about a second to group; the
// counters answer in milliseconds). It is a plain table, not a collection:
// the view is how it is read.
const StatsTable = "_notifyStatsDaily"

// counted are the statuses notifyStats counts; queued and sending are
// passing states (a claim or a lease renewal changes no counter).
const counted = `('sent', 'failed', 'skipped', 'cancelled')`

// statsDelta is an upsert adding sign × one message (R is NEW or OLD) to
// its counters row.
func statsDelta(r, sign string) string {
	flag := func(cond string) string { return sign + " * (" + cond + ")" }
	return `INSERT INTO ` + StatsTable + ` (day, rule, template, channel, variant, total, sent, failed, skipped, cancelled, opened, clicked)
	VALUES (substr(COALESCE(R.created, ''), 1, 10), COALESCE(R.rule, ''), COALESCE(R.template, ''), COALESCE(R.channel, ''), COALESCE(R.variant, ''),
		` + sign + `,
		` + flag("R.status = 'sent'") + `, ` + flag("R.status = 'failed'") + `,
		` + flag("R.status = 'skipped'") + `, ` + flag("R.status = 'cancelled'") + `,
		` + flag("COALESCE(R.openedAt, '') != '' OR COALESCE(R.readAt, '') != '' OR COALESCE(R.clickedAt, '') != ''") + `,
		` + flag("COALESCE(R.clickedAt, '') != ''") + `)
	ON CONFLICT (day, rule, template, channel, variant) DO UPDATE SET
		total = total + excluded.total, sent = sent + excluded.sent, failed = failed + excluded.failed,
		skipped = skipped + excluded.skipped, cancelled = cancelled + excluded.cancelled,
		opened = opened + excluded.opened, clicked = clicked + excluded.clicked;`
}

// sameRow says an update keeps the message on its row of counters.
const sameRow = `(OLD.rule IS NEW.rule AND OLD.template IS NEW.template AND OLD.channel IS NEW.channel
			AND OLD.variant IS NEW.variant AND OLD.created IS NEW.created)`

// statsDifference is an upsert adding NEW's flags minus OLD's to the row
// both are counted on; the total does not change.
func statsDifference() string {
	diff := func(cond string) string {
		return "(" + strings.ReplaceAll(cond, "R.", "NEW.") + ") - (" + strings.ReplaceAll(cond, "R.", "OLD.") + ")"
	}
	return `INSERT INTO ` + StatsTable + ` (day, rule, template, channel, variant, total, sent, failed, skipped, cancelled, opened, clicked)
	VALUES (substr(COALESCE(NEW.created, ''), 1, 10), COALESCE(NEW.rule, ''), COALESCE(NEW.template, ''), COALESCE(NEW.channel, ''), COALESCE(NEW.variant, ''),
		0,
		` + diff("R.status = 'sent'") + `, ` + diff("R.status = 'failed'") + `,
		` + diff("R.status = 'skipped'") + `, ` + diff("R.status = 'cancelled'") + `,
		` + diff("COALESCE(R.openedAt, '') != '' OR COALESCE(R.readAt, '') != '' OR COALESCE(R.clickedAt, '') != ''") + `,
		` + diff("COALESCE(R.clickedAt, '') != ''") + `)
	ON CONFLICT (day, rule, template, channel, variant) DO UPDATE SET
		total = total + excluded.total, sent = sent + excluded.sent, failed = failed + excluded.failed,
		skipped = skipped + excluded.skipped, cancelled = cancelled + excluded.cancelled,
		opened = opened + excluded.opened, clicked = clicked + excluded.clicked;`
}

func statsSQL(messages string) []string {
	delta := func(r, sign string) string { return strings.ReplaceAll(statsDelta(r, sign), "R.", r+".") }
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + StatsTable + ` (
			day TEXT NOT NULL, rule TEXT NOT NULL, template TEXT NOT NULL, channel TEXT NOT NULL, variant TEXT NOT NULL,
			total INTEGER NOT NULL DEFAULT 0, sent INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
			skipped INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,
			opened INTEGER NOT NULL DEFAULT 0, clicked INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (day, rule, template, channel, variant))`,
		`CREATE TRIGGER IF NOT EXISTS ` + StatsTable + `_insert AFTER INSERT ON ` + messages + ` BEGIN
			` + delta("NEW", "1") + `
		END`,
		// Only a change that moves a counter fires: a claim (queued →
		// sending) or a lease renewal fires nothing. The common change, a
		// send's outcome, keeps the message's row of counters: one upsert
		// of the difference (_same). A message that moves to another row
		// (another channel, an admin's edit) leaves one and joins the other
		// (_moved). The one trigger that did both for every change is gone.
		`DROP TRIGGER IF EXISTS ` + StatsTable + `_update`,
		`CREATE TRIGGER IF NOT EXISTS ` + StatsTable + `_update_same AFTER UPDATE ON ` + messages + ` WHEN
			` + sameRow + ` AND (
			(OLD.status IS NOT NEW.status AND (OLD.status IN ` + counted + ` OR NEW.status IN ` + counted + `))
			OR OLD.openedAt IS NOT NEW.openedAt OR OLD.clickedAt IS NOT NEW.clickedAt OR OLD.readAt IS NOT NEW.readAt)
		BEGIN
			` + statsDifference() + `
		END`,
		`CREATE TRIGGER IF NOT EXISTS ` + StatsTable + `_update_moved AFTER UPDATE ON ` + messages + ` WHEN NOT (` + sameRow + `)
		BEGIN
			` + delta("OLD", "-1") + `
			` + delta("NEW", "1") + `
		END`,
		`CREATE TRIGGER IF NOT EXISTS ` + StatsTable + `_delete AFTER DELETE ON ` + messages + ` BEGIN
			` + delta("OLD", "-1") + `
		END`,
	}
}

// InstallStats creates the counters table and its triggers on the
// messages table, and, when the table is new, counts the messages already
// logged. Run it in the migration's transaction, after the messages
// collection has its variant, openedAt and clickedAt fields.
func InstallStats(app core.App, messages string) error {
	var exists int
	if err := app.DB().NewQuery(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '` + StatsTable + `'`).Row(&exists); err != nil {
		return fmt.Errorf("tracking: stats: %w", err)
	}
	for _, q := range statsSQL(messages) {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			return fmt.Errorf("tracking: stats: %w", err)
		}
	}
	if exists == 0 {
		_, err := app.DB().NewQuery(`INSERT INTO ` + StatsTable + ` (day, rule, template, channel, variant, total, sent, failed, skipped, cancelled, opened, clicked)
			SELECT substr(COALESCE(created, ''), 1, 10), COALESCE(rule, ''), COALESCE(template, ''), COALESCE(channel, ''), COALESCE(variant, ''),
				COUNT(*), SUM(status = 'sent'), SUM(status = 'failed'), SUM(status = 'skipped'), SUM(status = 'cancelled'),
				SUM(COALESCE(openedAt, '') != '' OR COALESCE(readAt, '') != '' OR COALESCE(clickedAt, '') != ''),
				SUM(COALESCE(clickedAt, '') != '')
			FROM ` + messages + ` GROUP BY 1, 2, 3, 4, 5`).Execute()
		if err != nil {
			return fmt.Errorf("tracking: stats: counting the logged messages: %w", err)
		}
	}
	return nil
}

// statsQuery reads the counters. Every column is cast so PocketBase types
// the view's fields (text and whole numbers); rows whose messages were all
// deleted are left out. An inbox read counts as an open, and so does a
// click (nobody clicks an unopened message), so sent ≥ opened ≥ clicked
// reads as a funnel.
const statsQuery = `SELECT
	CAST(s.rowid AS TEXT) AS id,
	CAST(s.day AS TEXT) AS day,
	CAST(s.rule AS TEXT) AS rule,
	CAST(s.template AS TEXT) AS template,
	CAST(s.channel AS TEXT) AS channel,
	CAST(s.variant AS TEXT) AS variant,
	CAST(s.total AS INTEGER) AS total,
	CAST(s.sent AS INTEGER) AS sent,
	CAST(s.failed AS INTEGER) AS failed,
	CAST(s.skipped AS INTEGER) AS skipped,
	CAST(s.cancelled AS INTEGER) AS cancelled,
	CAST(s.opened AS INTEGER) AS opened,
	CAST(s.clicked AS INTEGER) AS clicked
FROM ` + StatsTable + ` s
WHERE s.total > 0`

// NewStatsCollection returns the notifyStats view: superusers only (nil
// rules), browsed in the dashboard like any collection.
func NewStatsCollection() *core.Collection {
	c := core.NewViewCollection(StatsCollection)
	c.ViewQuery = statsQuery
	return c
}
