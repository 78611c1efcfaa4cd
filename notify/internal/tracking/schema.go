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

// statsQuery counts messages per day (UTC, the day the message was
// queued), rule, template, channel and variant. An inbox read counts as an
// open, and so does a click (nobody clicks an unopened message), so
// sent ≥ opened ≥ clicked reads as a funnel.
const statsQuery = `SELECT
	MIN(m.id) AS id,
	substr(m.created, 1, 10) AS day,
	m.rule AS rule,
	m.template AS template,
	m.channel AS channel,
	m.variant AS variant,
	COUNT(*) AS total,
	COUNT(CASE WHEN m.status = 'sent' THEN 1 END) AS sent,
	COUNT(CASE WHEN m.status = 'failed' THEN 1 END) AS failed,
	COUNT(CASE WHEN m.status = 'skipped' THEN 1 END) AS skipped,
	COUNT(CASE WHEN m.status = 'cancelled' THEN 1 END) AS cancelled,
	COUNT(CASE WHEN m.openedAt != '' OR m.readAt != '' OR m.clickedAt != '' THEN 1 END) AS opened,
	COUNT(CASE WHEN m.clickedAt != '' THEN 1 END) AS clicked
FROM notifyMessages m
GROUP BY day, m.rule, m.template, m.channel, m.variant`

// NewStatsCollection returns the notifyStats view: superusers only (nil
// rules), browsed in the dashboard like any collection.
func NewStatsCollection() *core.Collection {
	c := core.NewViewCollection(StatsCollection)
	c.ViewQuery = statsQuery
	return c
}

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
