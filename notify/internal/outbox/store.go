package outbox

import (
	"context"
	"database/sql"
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
		 [[data]], [[dedupeKey]], [[created]], [[updated]]) VALUES `)
	params := dbx.Params{"now": DBTime(now)}
	for i, m := range msgs {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "({:id%[1]d}, {:rule%[1]d}, {:template%[1]d}, {:channel%[1]d}, {:category%[1]d}, {:user%[1]d}, {:to%[1]d}, {:status%[1]d}, {:error%[1]d}, 0, {:runAt%[1]d}, {:sc%[1]d}, {:sr%[1]d}, {:data%[1]d}, {:dedupe%[1]d}, {:now}, {:now})", i)
		data := m.Data
		if data == nil {
			data = []byte("{}")
		}
		status := m.Status
		if status == "" {
			status = StatusQueued
		}
		s := fmt.Sprint(i)
		params["id"+s] = core.GenerateDefaultRandomId()
		params["rule"+s] = m.Rule
		params["template"+s] = m.Template
		params["channel"+s] = m.Channel
		params["category"+s] = m.Category
		params["user"+s] = m.User
		params["to"+s] = truncate(m.To, toMax)
		params["status"+s] = status
		params["error"+s] = truncate(m.Error, errorMax)
		params["runAt"+s] = DBTime(m.RunAt)
		params["sc"+s] = m.SourceCollection
		params["sr"+s] = m.SourceRecord
		params["data"+s] = string(data)
		params["dedupe"+s] = m.DedupeKey
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

func (l lane) where(params dbx.Params) string {
	if l.channel != "" {
		params["laneChannel"] = l.channel
		return "[[channel]] = {:laneChannel}"
	}
	if len(l.except) == 0 {
		return "1=1"
	}
	return "[[channel]] NOT IN (" + inList(params, "laneExcept", l.except) + ")"
}

// inList binds values as name0, name1, … and returns the placeholders.
func inList(params dbx.Params, name string, values []string) string {
	ph := make([]string, len(values))
	for i, v := range values {
		key := fmt.Sprint(name, i)
		params[key] = v
		ph[i] = "{:" + key + "}"
	}
	return strings.Join(ph, ", ")
}

// claim leases up to limit messages of lane l that are due (queued with
// runAt <= now) or whose lease expired (a crashed process), in one
// statement. Rows in exclude (this process's own work in flight) are never
// taken back.
func claim(app core.App, l lane, now time.Time, lease time.Duration, limit int, exclude []string) ([]Job, error) {
	params := dbx.Params{"now": DBTime(now), "lease": DBTime(now.Add(lease)), "limit": limit}
	where := l.where(params)
	notMine := ""
	if len(exclude) > 0 {
		notMine = " AND [[id]] NOT IN (" + inList(params, "mine", exclude) + ")"
	}
	var jobs []Job
	err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}}
		SET [[status]] = 'sending', [[attempts]] = [[attempts]] + 1,
		    [[leaseUntil]] = {:lease}, [[updated]] = {:now}
		WHERE [[id]] IN (
			SELECT [[id]] FROM (SELECT [[id]] FROM {{notifyMessages}}
				WHERE [[status]] = 'queued' AND ` + where + ` AND [[runAt]] <= {:now}
				ORDER BY [[runAt]] LIMIT {:limit})
			UNION ALL
			SELECT [[id]] FROM (SELECT [[id]] FROM {{notifyMessages}}
				WHERE [[status]] = 'sending' AND [[leaseUntil]] < {:now} AND ` + where + notMine + `
				LIMIT {:limit})
			LIMIT {:limit})
		RETURNING [[id]], [[rule]], [[template]], [[channel]], [[category]], [[user]], [[to]],
		          [[sourceCollection]], [[sourceRecord]], COALESCE([[data]], '{}') AS [[data]], [[error]], [[attempts]]`).
		Bind(params).All(&jobs)
	if err != nil {
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
	params := dbx.Params{"until": DBTime(until)}
	held := make([]string, len(jobs))
	for i, j := range jobs {
		s := fmt.Sprint(i)
		params["id"+s], params["a"+s] = j.ID, j.Attempt
		held[i] = "({:id" + s + "}, {:a" + s + "})"
	}
	_, err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}} SET [[leaseUntil]] = {:until}
		WHERE [[status]] = 'sending' AND ([[id]], [[attempts]]) IN (VALUES ` + strings.Join(held, ", ") + `)`).
		Bind(params).Execute()
	if err != nil {
		return fmt.Errorf("outbox renew: %w", err)
	}
	return nil
}

// nextDue returns when the earliest queued message of the lanes falls due,
// or a lease not held by this process expires; ok is false when there is
// none.
func nextDue(app core.App, lanes []lane, exclude []string) (next time.Time, ok bool, err error) {
	if len(lanes) == 0 {
		return time.Time{}, false, nil
	}
	params := dbx.Params{}
	conds := make([]string, len(lanes))
	for i, l := range lanes {
		p := dbx.Params{}
		w := l.where(p)
		for k, v := range p {
			nk := fmt.Sprint(k, "_", i)
			w = strings.ReplaceAll(w, "{:"+k+"}", "{:"+nk+"}")
			params[nk] = v
		}
		conds[i] = "(" + w + ")"
	}
	inLanes := strings.Join(conds, " OR ")
	notMine := ""
	if len(exclude) > 0 {
		notMine = " AND [[id]] NOT IN (" + inList(params, "mine", exclude) + ")"
	}
	// MIN over no rows is NULL: scan into NullString, never into string.
	var row struct {
		Queued sql.NullString `db:"q"`
		Leased sql.NullString `db:"l"`
	}
	err = app.DB().NewQuery(`SELECT
		(SELECT MIN([[runAt]]) FROM {{notifyMessages}} WHERE [[status]] = 'queued' AND (` + inLanes + `)) AS [[q]],
		(SELECT MIN([[leaseUntil]]) FROM {{notifyMessages}} WHERE [[status]] = 'sending' AND (` + inLanes + `)` + notMine + `) AS [[l]]`).
		Bind(params).One(&row)
	if err != nil {
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
	[[to]] = CASE WHEN {:hasContent} THEN {:to} ELSE [[to]] END,
	[[subject]] = CASE WHEN {:hasContent} THEN {:subject} ELSE [[subject]] END,
	[[body]] = CASE WHEN {:hasContent} THEN {:body} ELSE [[body]] END,
	[[html]] = CASE WHEN {:hasContent} THEN {:html} ELSE [[html]] END,
	[[link]] = CASE WHEN {:hasContent} THEN {:link} ELSE [[link]] END,
	[[updated]] = {:now}
	WHERE [[id]] = {:id} AND [[status]] = 'sending' AND [[attempts]] = {:attempt}`

// Finalize writes resolved outcomes in one transaction with one prepared
// statement, without re-entering record hooks, and returns the ids it
// changed. An outcome whose row no longer holds its attempt (an admin
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
				"status": o.Status, "error": truncate(o.errorText(), errorMax),
				"attempts": o.Job.Attempt, "runAt": "", "sentAt": "",
				"provider": truncate(o.Provider, providerMax), "channel": o.Channel,
				"hasContent": o.Content != nil, "to": "", "subject": "", "body": "", "html": "", "link": "",
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
				params["to"] = truncate(c.To, toMax)
				params["subject"] = truncate(c.Subject, subjectMax)
				params["body"] = truncate(c.Body, BodyMax)
				params["html"] = truncate(c.HTML, BodyMax)
				params["link"] = truncate(c.Link, linkMax)
			}
			res, err := stmt.Bind(params).Execute()
			if err != nil {
				return fmt.Errorf("outbox finalize %s: %w", o.Job.ID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed = append(changed, o.Job.ID)
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
