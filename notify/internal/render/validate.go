package render

import (
	"errors"
	"fmt"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Validate refuses a template that would fail at send time: it compiles
// src and renders every field against a sample record of each of colls.
// The verdict is a validation.Errors naming the field, which the dashboard
// shows next to it; any other error is the app's. Keys under .Data are
// free-form, and so are a JSON field's, so the sample has every one the
// template names (samplePaths). With no collection, .Record is free-form too.
func Validate(app core.App, src Source, colls []*core.Collection, shop Shop) error {
	t, err := Compile(src)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fieldError(fe.Field, "does not parse: "+fe.Err.Error())
		}
		return err
	}
	data, record := samplePaths(t, "Data"), samplePaths(t, "Record")
	if len(colls) == 0 {
		// Not tied to a collection yet (a template made before its rule,
		// or one only notify.Send uses): every .Record path is accepted,
		// everything else (.User, .Shop, functions, syntax) is checked. The
		// rule's save checks it against the rule's collection.
		sample := Sample(app, nil, shop, src.Locale)
		sample.Record, sample.Data = record, data
		r, err := t.Render(sample, All)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return fieldError(fe.Field, fmt.Sprintf("does not render against sample data: %v", fe.Err))
			}
			return err
		}
		if fe := checkLimits(r); fe != nil {
			return fieldError(fe.Field, fmt.Sprintf("against sample data %v", fe.Err))
		}
	}
	for _, coll := range colls {
		sample := Sample(app, coll, shop, src.Locale)
		sample.Data = data
		// A JSON field has no schema to sample from: give it the shape the
		// template uses (.Record.payload.title), when it names one.
		for _, f := range coll.Fields {
			if _, ok := f.(*core.JSONField); !ok {
				continue
			}
			if shape, ok := record[f.GetName()].(map[string]any); ok {
				sample.Record[f.GetName()] = shape
			}
		}
		r, err := t.Render(sample, All)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return fieldError(fe.Field, fmt.Sprintf("does not render against a sample %s record: %v", coll.Name, fe.Err))
			}
			return err
		}
		if fe := checkLimits(r); fe != nil {
			return fieldError(fe.Field, fmt.Sprintf("against a sample %s record %v", coll.Name, fe.Err))
		}
	}
	return nil
}

func fieldError(field, msg string) error {
	return validation.Errors{field: validation.NewError("validation_notify", msg)}
}

// Collections returns the collections a template with key is rendered
// with: those named in used (the collections of the rules that use it),
// or, for a template no rule uses yet, the one its key names (order.* →
// orders, payment.* → payments, user.* → users). Names with no collection
// are left out.
func Collections(app core.App, key string, used []string) []*core.Collection {
	var out []*core.Collection
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		if c, err := app.FindCachedCollectionByNameOrId(name); err == nil {
			seen[name] = true
			out = append(out, c)
		}
	}
	for _, name := range used {
		add(name)
	}
	if len(out) == 0 {
		prefix, _, _ := strings.Cut(key, ".")
		for _, name := range []string{prefix + "s", prefix} {
			add(name)
		}
	}
	return out
}
