package render

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pbnotify/pbnotify/notify/internal/audience"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Viewer builds the View of a message.
type Viewer struct {
	App  core.App
	Shop Shop

	// FindRecord loads a related record. Default: App.FindRecordById.
	FindRecord func(collectionID, id string) (*core.Record, error)

	// Timezone is the shop's default for recipients who set none; nil is
	// UTC.
	Timezone *time.Location
}

// View builds what a template sees for a message to user about the record
// recordID of collection, whose fields as of the event are data.
//
// The single relations of the record are loaded fresh, one query each, so
// a payment message can name its order: {{.Expand.order.number}}. A
// related record that no longer exists is simply absent; any other error
// loading one is returned, so that the message is retried rather than sent
// without its part.
func (vw *Viewer) View(user *core.Record, collection, recordID string, data map[string]any, locale string) (*View, error) {
	v := &View{
		Shop:   vw.Shop,
		Record: data,
		Expand: map[string]map[string]any{},
		Locale: locale,
	}
	if user != nil { // a message sent from code may address no user
		v.User = Recipient{ID: user.Id, Name: user.GetString("name"), Email: user.Email(), Locale: user.GetString("locale")}
	}
	v.SetLocation(audience.Timezone(user, vw.Timezone))
	if collection != "" {
		v.Link = v.Shop.Link(collection, recordID)
	}
	if collection == "" {
		return v, nil
	}
	coll, err := vw.App.FindCachedCollectionByNameOrId(collection)
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil // the collection was deleted; the record's own fields remain
	}
	if err != nil {
		return nil, fmt.Errorf("render: view: collection %s: %w", collection, err)
	}
	find := vw.FindRecord
	if find == nil {
		find = func(collectionID, id string) (*core.Record, error) { return vw.App.FindRecordById(collectionID, id) }
	}
	for _, f := range coll.Fields {
		rel, ok := f.(*core.RelationField)
		if !ok || rel.IsMultiple() || rel.CollectionId == "" {
			continue
		}
		id, _ := data[f.GetName()].(string)
		if id == "" {
			continue
		}
		if id == user.Id && user.Collection() != nil && user.Collection().Id == rel.CollectionId {
			v.Expand[f.GetName()] = Export(user) // the recipient, already loaded
			continue
		}
		r, err := find(rel.CollectionId, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return nil, fmt.Errorf("render: view: loading %s %q of %s %s: %w", f.GetName(), id, collection, recordID, err)
		}
		v.Expand[f.GetName()] = Export(r)
	}
	return v, nil
}

// Export returns the record's fields that a template may use: every
// non-hidden field, never password hashes or token keys.
func Export(rec *core.Record) map[string]any {
	out := map[string]any{"id": rec.Id, "collectionName": rec.Collection().Name}
	for _, f := range rec.Collection().Fields {
		if f.GetHidden() {
			continue
		}
		switch f.Type() {
		case core.FieldTypePassword:
			continue
		case core.FieldTypeJSON:
			var v any
			raw, _ := rec.Get(f.GetName()).(types.JSONRaw)
			if len(raw) > 0 {
				_ = json.Unmarshal(raw, &v)
			}
			out[f.GetName()] = v
		default:
			v := rec.Get(f.GetName())
			if dt, ok := v.(types.DateTime); ok {
				v = dt.String()
			}
			out[f.GetName()] = v
		}
	}
	return out
}
