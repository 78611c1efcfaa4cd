package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Message is a message as a producer enqueues it.
type Message struct {
	Rule             string // the notifyRules id, "" for messages sent from code
	Template         string // template key
	Channel          string
	Category         string
	User             string // recipient user id
	To               string // an explicit address; "" resolves the user's at send time
	SourceCollection string
	SourceRecord     string
	Data             []byte // the source record as of the event, JSON
	RunAt            time.Time
	DedupeKey        string // unique: a second message with the same key is dropped
	// Status is StatusQueued when empty. A producer may record a message that
	// is final from the start, e.g. failed because its rule cannot be
	// evaluated, with the reason in Error.
	Status string
	Error  string
	// Chain is the id of the first message of an escalation this one is a
	// later step of; "" for a message on its own.
	Chain string
}

// Job is a message claimed for one attempt.
type Job struct {
	ID               string `db:"id"`
	Rule             string `db:"rule"`
	Template         string `db:"template"`
	Channel          string `db:"channel"`
	Category         string `db:"category"`
	User             string `db:"user"`
	To               string `db:"to"`
	SourceCollection string `db:"sourceCollection"`
	SourceRecord     string `db:"sourceRecord"`
	Data             string `db:"data"`
	// Error is the row's error as claimed: the last failure, or the note a
	// Move left (why earlier channels were passed over).
	Error string `db:"error"`
	// Chain is the first message of the escalation this is a step of.
	Chain string `db:"chain"`
	// Attempt is the attempt this claim holds (1 for the first). It fences
	// the outcome: a slower worker holding an older attempt cannot overwrite
	// a newer one.
	Attempt int `db:"attempts"`
}

// DBTime formats t the way PocketBase stores date fields, so that string
// comparison in SQL is time comparison.
func DBTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}

// Insert adds messages in one statement, dropping those whose dedupe key
// exists, and returns how many were added. It bypasses record hooks on
// purpose: it runs inside the caller's write transaction (pass the
// transaction's app), on the hot path of every order write.
func Insert(app core.App, msgs []Message, now time.Time) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO {{notifyMessages}}
		([[id]], [[rule]], [[template]], [[channel]], [[category]], [[user]], [[to]],
		 [[status]], [[error]], [[attempts]], [[runAt]], [[sourceCollection]], [[sourceRecord]],
		 [[data]], [[dedupeKey]], [[chain]], [[created]], [[updated]]) VALUES `)
	params := dbx.Params{"now": DBTime(now)}
	for i, m := range msgs {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "({:id%[1]d}, {:rule%[1]d}, {:template%[1]d}, {:channel%[1]d}, {:category%[1]d}, {:user%[1]d}, {:to%[1]d}, {:status%[1]d}, {:error%[1]d}, 0, {:runAt%[1]d}, {:sc%[1]d}, {:sr%[1]d}, {:data%[1]d}, {:dedupe%[1]d}, {:chain%[1]d}, {:now}, {:now})", i)
		data := m.Data
		if data == nil {
			data = []byte("{}")
		}
		status := m.Status
		if status == "" {
			status = StatusQueued
		}
		errText := m.Error
		if len(data) > SnapshotMax {
			status = StatusFailed
			errText = fmt.Sprintf("the record is too large to send a message about: %d KB of data, at most %d KB",
				(len(data)+1023)>>10, SnapshotMax>>10)
			data = []byte("{}")
		}
		s := fmt.Sprint(i)
		params["id"+s] = core.GenerateDefaultRandomId()
		params["rule"+s] = m.Rule
		params["template"+s] = m.Template
		params["channel"+s] = m.Channel
		params["category"+s] = m.Category
		params["user"+s] = m.User
		params["to"+s] = Truncate(m.To, toMax)
		params["status"+s] = status
		params["error"+s] = Truncate(errText, errorMax)
		params["runAt"+s] = DBTime(m.RunAt)
		params["sc"+s] = m.SourceCollection
		params["sr"+s] = m.SourceRecord
		params["data"+s] = string(data)
		params["dedupe"+s] = m.DedupeKey
		params["chain"+s] = m.Chain
	}
	q.WriteString(" ON CONFLICT ([[dedupeKey]]) DO NOTHING")
	res, err := app.NonconcurrentDB().NewQuery(q.String()).Bind(params).Execute()
	if err != nil {
		return 0, fmt.Errorf("outbox insert: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// lane selects the rows of one lane: one channel, or every channel but the
// named ones (the lane for channels nobody registered a lane for).
type lane struct {
	channel string   // "" for the lane of other channels
	except  []string // the named lanes, for the other lane
}

// where is the lane's condition; its parameters come from params.
func (l lane) where() string {
	if l.channel != "" {
		return "[[channel]] = {:laneChannel}"
	}
	return "[[channel]] NOT IN (SELECT [[value]] FROM json_each({:laneExcept}))"
}

func (l lane) params() dbx.Params {
	except, _ := json.Marshal(l.except)
	if l.except == nil {
		except = []byte("[]")
	}
	return dbx.Params{"laneChannel": l.channel, "laneExcept": string(except)}
}

// idList binds ids as one JSON array, so that the statement's text does not
// depend on how many there are and it can be prepared once.
func idList(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// claimSQL leases up to {:limit} messages of a lane that are due (queued
// with runAt <= now) or whose lease expired (a crashed process), in one
// statement. Rows in {:mine} (this process's own work in flight) are never
// taken back.
func claimSQL(l lane) string {
	return `UPDATE {{notifyMessages}}
		SET [[status]] = 'sending', [[attempts]] = [[attempts]] + 1,
		    [[leaseUntil]] = {:lease}, [[updated]] = {:now}
		WHERE [[id]] IN (
			SELECT [[id]] FROM (SELECT [[id]] FROM {{notifyMessages}}
				WHERE [[status]] = 'queued' AND ` + l.where() + ` AND [[runAt]] <= {:now}
				ORDER BY [[runAt]] LIMIT {:limit})
			UNION ALL
			SELECT [[id]] FROM (SELECT [[id]] FROM {{notifyMessages}}
				WHERE [[status]] = 'sending' AND [[leaseUntil]] < {:now} AND ` + l.where() + `
				AND [[id]] NOT IN (SELECT [[value]] FROM json_each({:mine}))
				LIMIT {:limit})
			LIMIT {:limit})
		RETURNING [[id]], [[rule]], [[template]], [[channel]], [[category]], [[user]], [[to]],
		          [[sourceCollection]], [[sourceRecord]], COALESCE([[data]], '{}') AS [[data]], [[error]], [[chain]], [[attempts]]`
}

func claim(q *dbx.Query, l lane, now time.Time, lease time.Duration, limit int, mine []string) ([]Job, error) {
	params := l.params()
	params["now"], params["lease"], params["limit"], params["mine"] = DBTime(now), DBTime(now.Add(lease)), limit, idList(mine)
	var jobs []Job
	if err := q.Bind(params).All(&jobs); err != nil {
		return nil, fmt.Errorf("outbox claim: %w", err)
	}
	return jobs, nil
}

// renew extends the lease of jobs still held by this process, so a send that
// outlasts the lease (an SMTP server may take 10 minutes to answer DATA) is
// never claimed a second time.
func renew(app core.App, jobs []Job, until time.Time) error {
	if len(jobs) == 0 {
		return nil
	}
	type held struct {
		ID      string `json:"id"`
		Attempt int    `json:"a"`
	}
	list := make([]held, len(jobs))
	for i, j := range jobs {
		list[i] = held{j.ID, j.Attempt}
	}
	b, _ := json.Marshal(list)
	_, err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}} SET [[leaseUntil]] = {:until}
		WHERE [[status]] = 'sending' AND ([[id]], [[attempts]]) IN (
			SELECT json_extract([[value]], '$.id'), json_extract([[value]], '$.a') FROM json_each({:held}))`).
		Bind(dbx.Params{"until": DBTime(until), "held": string(b)}).Execute()
	if err != nil {
		return fmt.Errorf("outbox renew: %w", err)
	}
	return nil
}

// nextDueSQL finds when the earliest queued message of a lane falls due,
// or a lease not held by this process ({:mine}) expires. MIN over no rows
// is NULL: it is scanned into NullString, never into string.
func nextDueSQL(l lane) string {
	return `SELECT
		(SELECT MIN([[runAt]]) FROM {{notifyMessages}} WHERE [[status]] = 'queued' AND ` + l.where() + `) AS [[q]],
		(SELECT MIN([[leaseUntil]]) FROM {{notifyMessages}} WHERE [[status]] = 'sending' AND ` + l.where() + `
			AND [[id]] NOT IN (SELECT [[value]] FROM json_each({:mine}))) AS [[l]]`
}

// nextDue runs nextDueSQL; ok is false when nothing is queued or leased.
func nextDue(q *dbx.Query, l lane, mine []string) (next time.Time, ok bool, err error) {
	params := l.params()
	params["mine"] = idList(mine)
	var row struct {
		Queued sql.NullString `db:"q"`
		Leased sql.NullString `db:"l"`
	}
	if err := q.Bind(params).One(&row); err != nil {
		return time.Time{}, false, fmt.Errorf("outbox next due: %w", err)
	}
	for _, s := range []sql.NullString{row.Queued, row.Leased} {
		if !s.Valid || s.String == "" {
			continue
		}
		dt, err := types.ParseDateTime(s.String)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("outbox next due: %q: %w", s.String, err)
		}
		if !ok || dt.Time().Before(next) {
			next, ok = dt.Time(), true
		}
	}
	return next, ok, nil
}

// finalizeSQL applies one outcome if the row still holds the attempt that
// produced it. Empty values leave content fields as they are.
const finalizeSQL = `UPDATE {{notifyMessages}} SET
	[[status]] = {:status}, [[error]] = {:error}, [[leaseUntil]] = '',
	[[attempts]] = {:attempts},
	[[runAt]] = CASE WHEN {:runAt} = '' THEN [[runAt]] ELSE {:runAt} END,
	[[sentAt]] = CASE WHEN {:sentAt} = '' THEN [[sentAt]] ELSE {:sentAt} END,
	[[providerId]] = CASE WHEN {:provider} = '' THEN [[providerId]] ELSE {:provider} END,
	[[channel]] = CASE WHEN {:channel} = '' THEN [[channel]] ELSE {:channel} END,
	[[to]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:to} ELSE [[to]] END,
	[[subject]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:subject} ELSE [[subject]] END,
	[[body]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:body} ELSE [[body]] END,
	[[html]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:html} ELSE [[html]] END,
	[[link]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:link} ELSE [[link]] END,
	[[variant]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:variant} ELSE [[variant]] END,
	[[links]] = CASE WHEN {:hasContent} AND ([[user]] != '' OR {:jobUser} = '') THEN {:links} ELSE [[links]] END,
	[[updated]] = {:now}
	WHERE [[id]] = {:id} AND [[status]] = 'sending' AND [[attempts]] = {:attempt}`

// Finalize writes resolved outcomes in one transaction with one prepared
// statement, without re-entering record hooks, and returns the ids it
// changed. A row whose recipient was deleted while it was being sent (its
// user emptied, with its personal data) gets its status but not the
// content the send rendered back. An outcome whose row no longer holds its attempt (an admin
// changed it, or the lease expired and another attempt took over) is
// dropped. Realtime subscribers are told about the changed rows after the
// commit, as if the records had been saved.
func Finalize(app core.App, now time.Time, outs []Outcome) ([]string, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	var changed []string
	err := app.RunInTransaction(func(txApp core.App) error {
		changed = changed[:0]
		stmt := txApp.NonconcurrentDB().NewQuery(finalizeSQL).Prepare()
		defer stmt.Close()
		for _, o := range outs {
			params := dbx.Params{
				"id": o.Job.ID, "attempt": o.Job.Attempt, "now": DBTime(now),
				"status": o.Status, "error": Truncate(o.errorText(), errorMax),
				"attempts": o.Job.Attempt, "runAt": "", "sentAt": "",
				"provider": Truncate(o.Provider, providerMax), "channel": o.Channel,
				"hasContent": o.Content != nil, "jobUser": o.Job.User, "to": "", "subject": "", "body": "", "html": "", "link": "",
				"variant": "", "links": "[]",
			}
			if o.Refund {
				params["attempts"] = o.Job.Attempt - 1
			}
			if o.Status == StatusQueued {
				params["runAt"] = DBTime(o.RunAt)
			}
			if o.Status == StatusSent {
				params["sentAt"] = DBTime(now)
			}
			if c := o.Content; c != nil {
				params["to"] = Truncate(c.To, toMax)
				params["subject"] = Truncate(c.Subject, subjectMax)
				params["body"] = Truncate(c.Body, BodyMax)
				params["html"] = Truncate(c.HTML, BodyMax)
				params["link"] = Truncate(c.Link, linkMax)
				params["variant"] = Truncate(c.Variant, variantMax)
				if len(c.Links) > 0 {
					links, err := json.Marshal(c.Links)
					if err != nil {
						return fmt.Errorf("outbox finalize %s: links: %w", o.Job.ID, err)
					}
					params["links"] = string(links)
				}
			}
			res, err := stmt.Bind(params).Execute()
			if err != nil {
				return fmt.Errorf("outbox finalize %s: %w", o.Job.ID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed = append(changed, o.Job.ID)
				if o.Then != nil {
					if _, err := Insert(txApp, []Message{*o.Then}, now); err != nil {
						return fmt.Errorf("outbox finalize %s: the next step: %w", o.Job.ID, err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	publish(app, changed)
	return changed, nil
}

// publish tells realtime subscribers (a storefront's inbox, the dashboard)
// about rows changed with plain SQL, by running the app's after-update
// hooks for them as a record save would. With nobody connected it costs
// nothing.
func publish(app core.App, ids []string) {
	if len(ids) == 0 || app.SubscriptionsBroker().TotalClients() == 0 {
		return
	}
	recs, err := app.FindRecordsByIds(Collection, ids)
	if err != nil {
		app.Logger().Warn("notify: realtime update of messages skipped", "error", err)
		return
	}
	for _, rec := range recs {
		e := new(core.ModelEvent)
		e.App = app
		e.Context = context.Background()
		e.Type = core.ModelEventTypeUpdate
		e.Model = rec
		if err := app.OnModelAfterUpdateSuccess().Trigger(e); err != nil {
			app.Logger().Warn("notify: realtime update of a message failed", "id", rec.Id, "error", err)
		}
	}
}

// Truncate cuts s to at most max bytes, on a rune boundary: what a text
// field of that Max keeps.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	// Cut on a rune boundary.
	for max > 0 && (s[max]&0xC0) == 0x80 {
		max--
	}
	return s[:max]
}
