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
// expanded, and a made-up recipient. With a nil coll, the record is empty.
func Sample(app core.App, coll *core.Collection, shop Shop, locale string) *View {
	v := &View{
		Shop:   shop,
		User:   Recipient{ID: "sampleuser00001", Name: "Anna Petrova", Email: "anna@example.org", Locale: locale},
		Record: map[string]any{},
		Expand: map[string]map[string]any{},
		Locale: locale,
	}
	v.SetLocation(time.UTC)
	if coll == nil {
		return v
	}
	v.Record = sampleRecord(coll)
	v.Link = v.Shop.Link(coll.Name, v.Record["id"].(string))
	// A digest template ranges over .Items; any template may use .Count.
	v.Items, v.Count = []map[string]any{v.Record}, 1
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

// samplePaths is the part of the view under root ("Data" or "Record") that
// a template is checked against when no real value can be known: .Data is
// free-form (whatever the code calling notify.Send passes), and so is a JSON
// field of a record. A map lacks any key it does not have, which
// missingkey=error refuses, so the sample has exactly the keys the template
// names: every path .Data.a.b (or $.Data.a.b) in its fields becomes a nested
// map ending in nil, which prints as "<no value>", is false in if and with,
// ranges over nothing, and is an empty argument to money, date and default.
// A key used both as a value and as a map (.Data.a and .Data.a.b) is a map.
func samplePaths(t *Template, root string) map[string]any {
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
				walkPaths(tree.Root, root, add)
			}
		}
	}
	return data
}

// walkPaths calls add with the keys after root of every field path under
// node that starts at .root or $.root.
func walkPaths(node parse.Node, root string, add func([]string)) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkPaths(c, root, add)
		}
	case *parse.ActionNode:
		walkPaths(n.Pipe, root, add)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, root, add)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, root, add)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, root, add)
	case *parse.TemplateNode:
		walkPaths(n.Pipe, root, add)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkPaths(c, root, add)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkPaths(a, root, add)
		}
	case *parse.ChainNode:
		walkPaths(n.Node, root, add)
	case *parse.FieldNode:
		if len(n.Ident) > 1 && n.Ident[0] == root {
			add(n.Ident[1:])
		}
	case *parse.VariableNode:
		if len(n.Ident) > 2 && n.Ident[0] == "$" && n.Ident[1] == root {
			add(n.Ident[2:])
		}
	}
}

func walkBranch(b *parse.BranchNode, root string, add func([]string)) {
	walkPaths(b.Pipe, root, add)
	walkPaths(b.List, root, add)
	walkPaths(b.ElseList, root, add)
}
