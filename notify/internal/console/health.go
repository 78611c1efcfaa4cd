package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Health is the outbox at a glance. Times are UTC in PocketBase's format
// ("2006-01-02 15:04:05.000Z"); empty when there is none.
type Health struct {
	Now string `json:"now"`
	// Queued is every message waiting to go out, due or not (a delay, a
	// retry, a window, a rate limit).
	Queued int `json:"queued"`
	// Due is the queued messages whose runAt has come: they go out as soon
	// as a worker is free. A number that stays high means the queue is
	// behind.
	Due int `json:"due"`
	// Sending is the messages a worker holds right now.
	Sending int `json:"sending"`
	// Retrying is the queued messages that failed at least once and wait
	// for another attempt; NextRetryAt is the earliest of those attempts.
	Retrying    int    `json:"retrying"`
	NextRetryAt string `json:"nextRetryAt"`
	// Failed24h is the messages that ended failed in the last 24 hours.
	Failed24h int `json:"failed24h"`
	// OldestDueAt is the runAt of the oldest due message, and
	// OldestDueSeconds how long it has waited past it.
	OldestDueAt      string          `json:"oldestDueAt"`
	OldestDueSeconds int64           `json:"oldestDueSeconds"`
	Channels         []ChannelHealth `json:"channels"`
}

// ChannelHealth is one channel: whether it is set up, and the last error it
// reported (of a failed message, or of a queued one waiting to retry).
type ChannelHealth struct {
	Channel
	Queued      int    `json:"queued"`
	LastError   string `json:"lastError"`
	LastErrorAt string `json:"lastErrorAt"`
}

func dbTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}

func (c *console) handleHealth(e *core.RequestEvent) error {
	h, err := c.health(e.App)
	if err != nil {
		return e.InternalServerError("", fmt.Errorf("console health: %w", err))
	}
	return e.JSON(http.StatusOK, h)
}

func (c *console) health(app core.App) (*Health, error) {
	now := c.cfg.Now()
	h := &Health{Now: dbTime(now)}
	var row struct {
		Queued      int    `db:"queued"`
		Due         int    `db:"due"`
		Sending     int    `db:"sending"`
		Retrying    int    `db:"retrying"`
		NextRetryAt string `db:"nextRetryAt"`
		Failed24h   int    `db:"failed24h"`
		OldestDueAt string `db:"oldestDueAt"`
	}
	err := app.DB().NewQuery(`SELECT
		COUNT(CASE WHEN [[status]] = 'queued' THEN 1 END) AS queued,
		COUNT(CASE WHEN [[status]] = 'queued' AND [[runAt]] <= {:now} THEN 1 END) AS due,
		COUNT(CASE WHEN [[status]] = 'sending' THEN 1 END) AS sending,
		COUNT(CASE WHEN [[status]] = 'queued' AND [[attempts]] > 0 THEN 1 END) AS retrying,
		COALESCE(MIN(CASE WHEN [[status]] = 'queued' AND [[attempts]] > 0 THEN [[runAt]] END), '') AS nextRetryAt,
		COUNT(CASE WHEN [[status]] = 'failed' AND [[updated]] >= {:dayAgo} THEN 1 END) AS failed24h,
		COALESCE(MIN(CASE WHEN [[status]] = 'queued' AND [[runAt]] <= {:now} THEN [[runAt]] END), '') AS oldestDueAt
		FROM {{` + MessagesCollection + `}}
		WHERE [[status]] IN ('queued', 'sending', 'failed')`).
		Bind(dbx.Params{"now": dbTime(now), "dayAgo": dbTime(now.Add(-24 * time.Hour))}).
		One(&row)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	h.Queued, h.Due, h.Sending, h.Retrying, h.NextRetryAt = row.Queued, row.Due, row.Sending, row.Retrying, row.NextRetryAt
	h.Failed24h, h.OldestDueAt = row.Failed24h, row.OldestDueAt
	if row.OldestDueAt != "" {
		if at, err := types.ParseDateTime(row.OldestDueAt); err == nil {
			h.OldestDueSeconds = max(0, int64(now.Sub(at.Time())/time.Second))
		}
	}

	var perChannel []struct {
		Channel string `db:"channel"`
		Queued  int    `db:"queued"`
	}
	err = app.DB().NewQuery(`SELECT [[channel]] AS channel, COUNT(*) AS queued FROM {{` + MessagesCollection + `}}
		WHERE [[status]] = 'queued' GROUP BY [[channel]]`).All(&perChannel)
	if err != nil {
		return nil, fmt.Errorf("queued per channel: %w", err)
	}
	queued := map[string]int{}
	for _, r := range perChannel {
		queued[r.Channel] = r.Queued
	}
	for _, ch := range c.cfg.Channels(app) {
		ch := ChannelHealth{Channel: ch, Queued: queued[ch.Name]}
		// One query per status, each on the queue's (status, channel)
		// index: an OR across statuses would scan the whole log.
		for _, cond := range []string{`[[status]] = 'failed'`, `[[status]] = 'queued' AND [[attempts]] > 0`} {
			var last struct {
				Error   string `db:"error"`
				Updated string `db:"updated"`
			}
			err := app.DB().NewQuery(`SELECT [[error]] AS error, [[updated]] AS updated FROM {{` + MessagesCollection + `}}
				WHERE ` + cond + ` AND [[channel]] = {:ch} AND [[error]] != ''
				ORDER BY [[updated]] DESC LIMIT 1`).Bind(dbx.Params{"ch": ch.Name}).One(&last)
			if err != nil && !isNoRows(err) {
				return nil, fmt.Errorf("last error of %s: %w", ch.Name, err)
			}
			if last.Updated > ch.LastErrorAt {
				ch.LastError, ch.LastErrorAt = last.Error, last.Updated
			}
		}
		h.Channels = append(h.Channels, ch)
	}
	return h, nil
}
