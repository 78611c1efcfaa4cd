package schedule

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The queue operations below are plain SQL on the app passed in, which is
// the record write's transaction: they commit or roll back with the write
// and do not re-enter record hooks, as outbox.Insert does not.

// Pending is a queued message of a rule about one record.
type Pending struct {
	ID      string `db:"id"`
	User    string `db:"user"`
	Channel string `db:"channel"`
}

// PendingOf lists the queued messages of rule about the record id of
// collection, in creation order.
func PendingOf(app core.App, rule, collection, id string) ([]Pending, error) {
	var rows []Pending
	err := app.NonconcurrentDB().NewQuery(`SELECT [[id]], [[user]], [[channel]] FROM {{notifyMessages}}
		WHERE [[sourceCollection]] = {:coll} AND [[sourceRecord]] = {:rec} AND [[rule]] = {:rule}
		AND [[status]] = 'queued' ORDER BY [[created]], [[id]]`).
		Bind(dbx.Params{"coll": collection, "rec": id, "rule": rule}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("schedule: pending messages: %w", err)
	}
	return rows, nil
}

// Move makes the queued message id due at runAt, with the record snapshot
// data and the dedupe key of its new moment. It reports false when another
// message already holds that key (that moment was already sent, skipped
// or failed): the caller cancels this one instead, so the moment is never
// served twice. A message no longer queued (claimed meanwhile) is left
// alone and reported as moved.
func Move(app core.App, id string, runAt time.Time, data []byte, dedupeKey string, now time.Time) (bool, error) {
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE OR IGNORE {{notifyMessages}}
		SET [[runAt]] = {:runAt}, [[data]] = {:data}, [[dedupeKey]] = {:key}, [[error]] = '', [[updated]] = {:now}
		WHERE [[id]] = {:id} AND [[status]] = 'queued'`).Bind(dbx.Params{
		"id": id, "runAt": outbox.DBTime(runAt), "data": string(data), "key": dedupeKey, "now": outbox.DBTime(now),
	}).Execute()
	if err != nil {
		return false, fmt.Errorf("schedule: moving message %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	var conflict int
	err = app.NonconcurrentDB().NewQuery(`SELECT COUNT(*) FROM {{notifyMessages}} WHERE [[dedupeKey]] = {:key} AND [[id]] != {:id}`).
		Bind(dbx.Params{"key": dedupeKey, "id": id}).Row(&conflict)
	if err != nil {
		return false, fmt.Errorf("schedule: moving message %s: %w", id, err)
	}
	return conflict == 0, nil
}

// Cancel ends the queued messages ids as cancelled with reason. Their
// dedupe keys are released (replaced by one of their own), so the same
// moment can be scheduled again if the record comes back to it: a
// booking cancelled and restored gets its reminder.
func Cancel(app core.App, ids []string, reason string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	list, _ := json.Marshal(ids)
	_, err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}}
		SET [[status]] = 'cancelled', [[error]] = {:why}, [[dedupeKey]] = 'cancelled:' || [[id]], [[updated]] = {:now}
		WHERE [[status]] = 'queued' AND [[id]] IN (SELECT [[value]] FROM json_each({:ids}))`).Bind(dbx.Params{
		"ids": string(list), "why": outbox.Truncate(reason, 5000), "now": outbox.DBTime(now),
	}).Execute()
	if err != nil {
		return fmt.Errorf("schedule: cancelling messages: %w", err)
	}
	return nil
}

// Debounce moves the queued message of rule about the record id to one
// recipient on one channel to runAt, with the newer snapshot data, and
// reports whether there was one: then the write adds no message.
func Debounce(app core.App, m outbox.Message, now time.Time) (bool, error) {
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}}
		SET [[runAt]] = {:runAt}, [[data]] = {:data}, [[updated]] = {:now}
		WHERE [[sourceCollection]] = {:coll} AND [[sourceRecord]] = {:rec} AND [[rule]] = {:rule}
		AND [[user]] = {:user} AND [[channel]] = {:channel} AND [[status]] = 'queued'`).Bind(dbx.Params{
		"coll": m.SourceCollection, "rec": m.SourceRecord, "rule": m.Rule, "user": m.User, "channel": m.Channel,
		"runAt": outbox.DBTime(m.RunAt), "data": string(m.Data), "now": outbox.DBTime(now),
	}).Execute()
	if err != nil {
		return false, fmt.Errorf("schedule: debounce: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
