package notify

import (
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"github.com/pbnotify/pbnotify/notify/internal/schedule"
	"github.com/pocketbase/pocketbase/core"
)

// The rendering types live in internal/render; these names keep them part
// of the plugin's API.
type (
	// View is the data every template sees.
	View = render.View
	// Shop is the sender's identity, shown in every email's layout.
	Shop = render.Shop
	// Recipient is the user a message goes to.
	Recipient = render.Recipient
)

// view builds the template data for a message. Its error is transient (a
// related record could not be read): the message is worth a retry.
//
// A message sent with Send keeps its Data under sendDataKey in the row's
// data; the template sees it as .Data, and .Record holds the rest (nothing,
// for a sent message).
func (p *plugin) view(user *core.Record, collection, recordID string, data map[string]any, locale string) (*View, error) {
	var sent map[string]any
	if raw, ok := data[sendDataKey]; ok {
		sent, _ = raw.(map[string]any)
		if sent == nil {
			sent = map[string]any{}
		}
		record := make(map[string]any, len(data)-1)
		for k, v := range data {
			if k != sendDataKey && k != sendToKey {
				record[k] = v
			}
		}
		data = record
	}
	digest, isDigest := schedule.DigestOf(data)
	if isDigest {
		// The template sees every record as .Items and the newest as .Record.
		data = map[string]any{}
		if n := len(digest.Items); n > 0 {
			data = digest.Items[n-1]
			recordID, _ = data["id"].(string)
		}
	}
	vw := render.Viewer{App: p.app, Shop: p.shopIn(locale), Timezone: p.zone}
	v, err := vw.View(user, collection, recordID, data, locale)
	if err != nil {
		return nil, err
	}
	if isDigest {
		v.Items, v.Count = digest.Items, digest.Count
	}
	v.Data = sent
	return v, nil
}
