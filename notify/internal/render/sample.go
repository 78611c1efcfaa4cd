package render

import (
	htmltemplate "html/template"
	texttemplate "text/template"
	"text/template/parse"
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
	// A digest template ranges over .Items; any template may use .Count.
	v.Items, v.Count = []map[string]any{v.Record}, 1
	v.SetLocation(time.UTC)
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

// sampleData is the .Data a template is checked against on save. .Data is
// free-form (whatever the code calling notify.Send passes), so no sample
// can know its keys; and a map lacks any key it does not have, which
// missingkey=error refuses. So the sample has exactly the keys the template
// names: every path .Data.a.b (or $.Data.a.b) in its fields becomes a nested
// map ending in nil, which prints as "<no value>", is false in if and with,
// ranges over nothing, and is an empty argument to money, date and default.
// A key used both as a value and as a map (.Data.a and .Data.a.b) is a map.
func sampleData(t *Template) map[string]any {
	data := map[string]any{}
	add := func(path []string) {
		m := data
		for i, key := range path {
			if i == len(path)-1 {
				if _, ok := m[key]; !ok {
					m[key] = nil
				}
				return
			}
			next, ok := m[key].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[key] = next
			}
			m = next
		}
	}
	for _, ex := range t.fields {
		var trees []*parse.Tree
		switch x := ex.(type) {
		case *htmltemplate.Template:
			for _, tt := range x.Templates() {
				trees = append(trees, tt.Tree)
			}
		case *texttemplate.Template:
			for _, tt := range x.Templates() {
				trees = append(trees, tt.Tree)
			}
		}
		for _, tree := range trees {
			if tree != nil {
				walkDataPaths(tree.Root, add)
			}
		}
	}
	return data
}

// walkDataPaths calls add with the keys after .Data of every field path
// under node that starts at .Data or $.Data.
func walkDataPaths(node parse.Node, add func([]string)) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkDataPaths(c, add)
		}
	case *parse.ActionNode:
		walkDataPaths(n.Pipe, add)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, add)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, add)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, add)
	case *parse.TemplateNode:
		walkDataPaths(n.Pipe, add)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkDataPaths(c, add)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkDataPaths(a, add)
		}
	case *parse.ChainNode:
		walkDataPaths(n.Node, add)
	case *parse.FieldNode:
		if len(n.Ident) > 1 && n.Ident[0] == "Data" {
			add(n.Ident[1:])
		}
	case *parse.VariableNode:
		if len(n.Ident) > 2 && n.Ident[0] == "$" && n.Ident[1] == "Data" {
			add(n.Ident[2:])
		}
	}
}

func walkBranch(b *parse.BranchNode, add func([]string)) {
	walkDataPaths(b.Pipe, add)
	walkDataPaths(b.List, add)
	walkDataPaths(b.ElseList, add)
}
