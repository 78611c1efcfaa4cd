package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// outboxRow is a message as enqueued.
type outboxRow struct {
	RuleID           string
	Template         string
	Channel          string
	Category         string
	UserID           string
	To               string
	SourceCollection string
	SourceRecord     string
	Data             []byte
	RunAt            time.Time
	DedupeKey        string
}

// dbTime formats t the way PocketBase stores date fields, so that string
// comparison in SQL is time comparison.
func dbTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}

// insertOutboxRows inserts queued messages in one statement, skipping
// those whose dedupe key exists. It bypasses record hooks on purpose: it
// runs inside the caller's write transaction, on the hot path of every
// order write, where one statement (one SQL parse) beats one per row. It
// returns the number of rows inserted.
func insertOutboxRows(app core.App, rows []outboxRow, now time.Time) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	var sql strings.Builder
	sql.WriteString(`INSERT INTO {{notifyMessages}}
		([[id]], [[rule]], [[template]], [[channel]], [[category]], [[user]], [[to]],
		 [[status]], [[attempts]], [[runAt]], [[sourceCollection]], [[sourceRecord]],
		 [[data]], [[dedupeKey]], [[created]], [[updated]]) VALUES `)
	params := dbx.Params{"now": dbTime(now)}
	for i, r := range rows {
		if i > 0 {
			sql.WriteString(", ")
		}
		fmt.Fprintf(&sql, "({:id%[1]d}, {:rule%[1]d}, {:template%[1]d}, {:channel%[1]d}, {:category%[1]d}, {:user%[1]d}, {:to%[1]d}, 'queued', 0, {:runAt%[1]d}, {:sc%[1]d}, {:sr%[1]d}, {:data%[1]d}, {:dedupe%[1]d}, {:now}, {:now})", i)
		data := r.Data
		if data == nil {
			data = []byte("{}")
		}
		for k, v := range map[string]any{
			"id": core.GenerateDefaultRandomId(), "rule": r.RuleID, "template": r.Template,
			"channel": r.Channel, "category": r.Category, "user": r.UserID, "to": r.To,
			"runAt": dbTime(r.RunAt), "sc": r.SourceCollection, "sr": r.SourceRecord,
			"data": string(data), "dedupe": r.DedupeKey,
		} {
			params[fmt.Sprint(k, i)] = v
		}
	}
	sql.WriteString(" ON CONFLICT ([[dedupeKey]]) DO NOTHING")
	res, err := app.NonconcurrentDB().NewQuery(sql.String()).Bind(params).Execute()
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// claimed is a message leased to this process for one attempt.
type claimed struct {
	ID               string `db:"id"`
	RuleID           string `db:"rule"`
	Template         string `db:"template"`
	Channel          string `db:"channel"`
	Category         string `db:"category"`
	UserID           string `db:"user"`
	To               string `db:"to"`
	SourceCollection string `db:"sourceCollection"`
	SourceRecord     string `db:"sourceRecord"`
	Data             string `db:"data"`
	// Attempts is the attempt number this claim holds (1 for the first). It
	// fences the outcome: a slower worker holding an older attempt cannot
	// overwrite a newer one.
	Attempts int `db:"attempts"`
}

func (c *claimed) data() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(c.Data), &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// claimDue leases up to limit messages that are due (queued with runAt <=
// now) or whose lease expired (a crashed or stuck worker), in one statement.
func claimDue(app core.App, now time.Time, lease time.Duration, limit int) ([]claimed, error) {
	var rows []claimed
	err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}}
		SET [[status]] = 'sending', [[attempts]] = [[attempts]] + 1,
		    [[leaseUntil]] = {:lease}, [[updated]] = {:now}
		WHERE [[id]] IN (
			SELECT [[id]] FROM (SELECT [[id]] FROM {{notifyMessages}}
				WHERE [[status]] = 'queued' AND [[runAt]] <= {:now} ORDER BY [[runAt]] LIMIT {:limit})
			UNION ALL
			SELECT [[id]] FROM (SELECT [[id]] FROM {{notifyMessages}}
				WHERE [[status]] = 'sending' AND [[leaseUntil]] < {:now} LIMIT {:limit})
			LIMIT {:limit})
		RETURNING [[id]], [[rule]], [[template]], [[channel]], [[category]], [[user]], [[to]],
		          [[sourceCollection]], [[sourceRecord]], COALESCE([[data]], '{}') AS [[data]], [[attempts]]`).Bind(dbx.Params{
		"now":   dbTime(now),
		"lease": dbTime(now.Add(lease)),
		"limit": limit,
	}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("claimDue: %w", err)
	}
	return rows, nil
}

// nextDue returns when the earliest queued message or lease falls due, or
// the zero time when there is none.
func nextDue(app core.App) (time.Time, error) {
	var next struct {
		Queued string `db:"q"`
		Leased string `db:"l"`
	}
	err := app.DB().NewQuery(`SELECT
		(SELECT MIN([[runAt]]) FROM {{notifyMessages}} WHERE [[status]] = 'queued') AS q,
		(SELECT MIN([[leaseUntil]]) FROM {{notifyMessages}} WHERE [[status]] = 'sending') AS l`).One(&next)
	if err != nil {
		return time.Time{}, err
	}
	var out time.Time
	for _, s := range []string{next.Queued, next.Leased} {
		if s == "" {
			continue
		}
		dt, err := types.ParseDateTime(s)
		if err != nil {
			continue
		}
		if out.IsZero() || dt.Time().Before(out) {
			out = dt.Time()
		}
	}
	return out, nil
}

// outcome is the result of one attempt, applied by finalize.
type outcome struct {
	msg      claimed
	status   string // final or StatusQueued for a retry
	runAt    time.Time
	refund   bool // a snooze: the attempt does not count
	errText  string
	provider string
	channel  string // set when a fallback moved the message to another channel
	to       string
	subject  string
	body     string
	html     string
	link     string
}

// finalize applies outcomes in one transaction. A row is only touched if it
// still holds the attempt that produced the outcome; a stale outcome (the
// lease expired and another worker took over) is dropped. Records are saved
// through the app so realtime subscribers and dashboard hooks see the change.
func finalize(app core.App, now time.Time, outs []outcome) error {
	if len(outs) == 0 {
		return nil
	}
	return app.RunInTransaction(func(txApp core.App) error {
		ids := make([]string, len(outs))
		for i, o := range outs {
			ids[i] = o.msg.ID
		}
		recs, err := txApp.FindRecordsByIds(MessagesCollection, ids)
		if err != nil {
			return err
		}
		byID := make(map[string]*core.Record, len(recs))
		for _, r := range recs {
			byID[r.Id] = r
		}
		for _, o := range outs {
			rec := byID[o.msg.ID]
			if rec == nil || rec.GetString("status") != StatusSending || rec.GetInt("attempts") != o.msg.Attempts {
				continue // deleted by an admin, or superseded by a newer attempt
			}
			rec.Set("status", o.status)
			rec.Set("error", truncate(o.errText, 5000))
			rec.Set("leaseUntil", "")
			if o.refund {
				rec.Set("attempts", o.msg.Attempts-1)
			}
			if o.status == StatusQueued {
				rec.Set("runAt", dbTime(o.runAt))
			}
			if o.status == StatusSent {
				rec.Set("sentAt", dbTime(now))
				rec.Set("providerId", truncate(o.provider, 500))
			}
			if o.channel != "" {
				rec.Set("channel", o.channel)
			}
			if o.to != "" {
				rec.Set("to", truncate(o.to, 500))
			}
			if o.subject != "" || o.body != "" || o.html != "" {
				rec.Set("subject", truncate(o.subject, 1000))
				rec.Set("body", truncate(o.body, bodyMax))
				rec.Set("html", truncate(o.html, bodyMax))
				rec.Set("link", truncate(o.link, 2000))
			}
			if err := txApp.SaveNoValidate(rec); err != nil {
				return fmt.Errorf("finalize %s: %w", rec.Id, err)
			}
		}
		return nil
	})
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	// Cut on a rune boundary.
	for max > 0 && (s[max]&0xC0) == 0x80 {
		max--
	}
	return s[:max]
}
