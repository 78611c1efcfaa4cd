package tracking

import (
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/dbutils"
)

// StatsCollection is the name of the statistics view. It is part of the
// public contract.
const StatsCollection = "notifyStats"

// Index names of notifyTemplates: a template is unique per key, locale
// and variant; the older (key, locale) index is dropped on upgrade, or it
// would refuse every second variant.
const (
	TemplatesIndex    = "idx_notifyTemplates_key_locale_variant"
	OldTemplatesIndex = "idx_notifyTemplates_key_locale"
)

// VariantMax bounds a variant's name.
const VariantMax = 50

// AddTemplateFields adds the A/B fields and the unique index to the
// notifyTemplates collection being built.
func AddTemplateFields(c *core.Collection) {
	c.Fields.Add(
		&core.TextField{Name: "variant", Max: VariantMax, Pattern: `^[A-Za-z0-9_.-]*$`,
			Help: `A/B test: empty is the original (arm "A"); another name (e.g. B) is an alternative version of the same key and language`},
		&core.NumberField{Name: "weight", Min: floatPtr(0), Max: floatPtr(1000),
			Help: "A/B test: this variant's share of customers, relative to the other variants' weights; empty or 0 counts as 1 (turn active off to pause a variant)"},
	)
	c.AddIndex(TemplatesIndex, true, "`key`, `locale`, `variant`", "")
}

func floatPtr(f float64) *float64 { return &f }

// DropOldTemplatesIndex removes the (key, locale) unique index of an
// existing notifyTemplates collection, which the (key, locale, variant)
// one replaces. Every row kept it, so none can clash with the new one.
func DropOldTemplatesIndex(app core.App, collection string) error {
	c, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		return fmt.Errorf("tracking: %s: %w", collection, err)
	}
	kept := c.Indexes[:0:0]
	for _, idx := range c.Indexes {
		if !strings.EqualFold(dbutils.ParseIndex(idx).IndexName, OldTemplatesIndex) {
			kept = append(kept, idx)
		}
	}
	if len(kept) == len(c.Indexes) {
		return nil
	}
	c.Indexes = kept
	if err := app.Save(c); err != nil {
		return fmt.Errorf("tracking: dropping %s: %w", OldTemplatesIndex, err)
	}
	return nil
}
