package render

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Sample is the data a template is checked against when it is saved: a
// made-up record of coll with every field filled, its single relations
// expanded, and a made-up recipient.
func Sample(app core.App, coll *core.Collection, shop Shop, locale string) *View {
	v := &View{
		Shop:   shop,
		User:   Recipient{ID: "sampleuser00001", Name: "Anna Petrova", Email: "anna@example.org", Locale: locale},
		Record: sampleRecord(coll),
		Expand: map[string]map[string]any{},
		Locale: locale,
	}
	v.Link = v.Shop.URL + "/#/" + coll.Name + "/" + v.Record["id"].(string)
	for _, f := range coll.Fields {
		rel, ok := f.(*core.RelationField)
		if !ok || rel.IsMultiple() {
			continue
		}
		// A related collection that is gone has nothing to expand.
		if related, err := app.FindCachedCollectionByNameOrId(rel.CollectionId); err == nil {
			v.Expand[f.GetName()] = sampleRecord(related)
		}
	}
	return v
}

func sampleRecord(coll *core.Collection) map[string]any {
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000Z")
	out := map[string]any{"id": "sample" + coll.Name, "collectionName": coll.Name}
	for _, f := range coll.Fields {
		if f.GetHidden() || f.Type() == core.FieldTypePassword {
			continue
		}
		name := f.GetName()
		switch ff := f.(type) {
		case *core.NumberField:
			out[name] = 1234.5
		case *core.BoolField:
			out[name] = true
		case *core.DateField, *core.AutodateField:
			out[name] = now
		case *core.SelectField:
			if ff.IsMultiple() {
				out[name] = ff.Values
			} else if len(ff.Values) > 0 {
				out[name] = ff.Values[0]
			}
		case *core.RelationField:
			if ff.IsMultiple() {
				out[name] = []string{"samplerelation1"}
			} else {
				out[name] = "samplerelation1"
			}
		case *core.EmailField:
			out[name] = "customer@example.org"
		case *core.URLField:
			out[name] = "https://example.org/track/SAMPLE123"
		case *core.JSONField:
			// Lists of line items are the common case (orders.items).
			out[name] = []any{
				map[string]any{"name": "Sample item", "qty": 2.0, "price": 500.0},
				map[string]any{"name": "Another item", "qty": 1.0, "price": 234.5},
			}
		case *core.FileField:
			out[name] = "sample.png"
		default:
			out[name] = "Sample " + name
		}
	}
	return out
}
