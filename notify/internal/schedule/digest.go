package schedule

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// DigestKey is the key of a digest message's data: {"@digest": {"items":
// [record, ...], "count": n}}. No collection field can be named so.
const DigestKey = "@digest"

// DigestMaxItems bounds the records a digest lists; Count keeps counting
// beyond it, so a burst cannot grow one row without limit.
const DigestMaxItems = 200

// Digest is what a digest message carries.
type Digest struct {
	Items []map[string]any `json:"items"`
	Count int              `json:"count"`
}

// DigestOf reads a message's data: the digest, and true, when it is one.
func DigestOf(data map[string]any) (Digest, bool) {
	raw, ok := data[DigestKey]
	if !ok {
		return Digest{}, false
	}
	b, err := json.Marshal(raw)
	var d Digest
	if err != nil || json.Unmarshal(b, &d) != nil {
		return Digest{}, true
	}
	return d, true
}

// AppendToDigest adds snapshot (one triggering record, JSON) to the open
// digest of m's rule to m's recipient on m's channel: the one still queued
// and not yet due. It reports false when there is none open; then the
// caller opens one with OpenDigest.
func AppendToDigest(app core.App, m outbox.Message, now time.Time) (bool, error) {
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE {{notifyMessages}} SET
		[[data]] = CASE WHEN json_array_length([[data]], '$."@digest".items') < {:max}
			THEN json_set([[data]], '$."@digest".count', json_extract([[data]], '$."@digest".count') + 1,
			                        '$."@digest".items[#]', json({:item}))
			ELSE json_set([[data]], '$."@digest".count', json_extract([[data]], '$."@digest".count') + 1) END,
		[[updated]] = {:now}
		WHERE [[id]] = (SELECT [[id]] FROM {{notifyMessages}}
			WHERE [[rule]] = {:rule} AND [[user]] = {:user} AND [[channel]] = {:channel}
			AND [[status]] = 'queued' AND [[sourceRecord]] = '' AND [[runAt]] > {:now}
			AND json_type([[data]], '$."@digest"') = 'object'
			ORDER BY [[runAt]] LIMIT 1)`).Bind(dbx.Params{
		"rule": m.Rule, "user": m.User, "channel": m.Channel, "item": string(m.Data),
		"max": DigestMaxItems, "now": outbox.DBTime(now),
	}).Execute()
	if err != nil {
		return false, fmt.Errorf("schedule: digest: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// OpenDigest turns m, the first message of a digest, into the digest
// message: it lists m's record, is about no single record, and goes out
// when the digest closes, span after it was due.
func OpenDigest(m outbox.Message, span time.Duration, dedupeKey string) (outbox.Message, error) {
	var item map[string]any
	if err := json.Unmarshal(m.Data, &item); err != nil {
		return m, fmt.Errorf("schedule: digest item: %w", err)
	}
	data, err := json.Marshal(map[string]any{DigestKey: Digest{Items: []map[string]any{item}, Count: 1}})
	if err != nil {
		return m, fmt.Errorf("schedule: digest: %w", err)
	}
	m.Data = data
	m.SourceRecord = ""
	m.RunAt = m.RunAt.Add(span)
	m.DedupeKey = dedupeKey
	return m, nil
}
