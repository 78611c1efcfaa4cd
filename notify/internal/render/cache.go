package render

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// ErrNoTemplate means no active template has the key (in any locale): the
// template's own verdict, not worth a retry.
var ErrNoTemplate = errors.New("no active template")

// Cache keeps compiled templates by key and locale until a template
// changes. Call Reset after every committed change of a template record.
type Cache struct {
	collection string

	mu    sync.RWMutex
	gen   uint64                            // bumped by Reset
	byKey map[string]map[string][]*Template // key -> locale -> variants, the original ("") first

	// loaded, when set, runs between reading the records of a key and
	// storing them: tests pause a lookup there to land an edit in between.
	loaded func(key string)
}

// NewCache returns an empty cache of the templates stored in collection
// (notifyTemplates).
func NewCache(collection string) *Cache {
	return &Cache{collection: collection}
}

// Reset forgets every compiled template, so the next lookup reads the
// database again.
func (c *Cache) Reset() {
	c.mu.Lock()
	c.byKey = nil
	c.gen++
	c.mu.Unlock()
}

// Lookup returns the active template for key in the first of locales that
// has one, else in any locale: its original variant, or the first other
// one when the original is inactive. It wraps ErrNoTemplate when there is
// none; any other error is a failed database read, worth a retry. A stored
// template that no longer compiles is logged and passed over.
func (c *Cache) Lookup(app core.App, key string, locales ...string) (*Template, error) {
	variants, err := c.Variants(app, key, locales...)
	if err != nil {
		return nil, err
	}
	return variants[0], nil
}

// Variants returns the active A/B variants of key in the first of locales
// that has any, else in any locale, sorted by variant name (the original,
// "", first). Errors are Lookup's.
func (c *Cache) Variants(app core.App, key string, locales ...string) ([]*Template, error) {
	c.mu.RLock()
	byLocale, ok := c.byKey[key]
	gen := c.gen
	c.mu.RUnlock()
	if !ok {
		var err error
		if byLocale, err = c.load(app, key); err != nil {
			return nil, err
		}
		if c.loaded != nil {
			c.loaded(key)
		}
		c.mu.Lock()
		// A Reset since the read means an edit may have committed after
		// it: keep what was read for this call only, never in the cache,
		// or the edit would be lost until the next one.
		if c.gen == gen {
			if c.byKey == nil {
				c.byKey = map[string]map[string][]*Template{}
			}
			c.byKey[key] = byLocale
		}
		c.mu.Unlock()
	}
	for _, l := range locales {
		if ts := byLocale[l]; len(ts) > 0 {
			return ts, nil
		}
	}
	for _, l := range slices.Sorted(maps.Keys(byLocale)) { // the same one every time
		return byLocale[l], nil
	}
	return nil, fmt.Errorf("%w %q (looked for locales %s)", ErrNoTemplate, key, strings.Join(locales, ", "))
}

func (c *Cache) load(app core.App, key string) (map[string][]*Template, error) {
	recs, err := app.FindAllRecords(c.collection, dbx.HashExp{"key": key, "active": true})
	if err != nil {
		return nil, fmt.Errorf("render: loading template %q: %w", key, err)
	}
	byLocale := map[string][]*Template{}
	for _, r := range recs {
		t, err := Compile(SourceFromRecord(r))
		if err != nil {
			app.Logger().Warn("notify: stored template does not compile", "template", key, "locale", r.GetString("locale"), "error", err)
			continue
		}
		byLocale[t.locale] = append(byLocale[t.locale], t)
	}
	for _, ts := range byLocale {
		slices.SortFunc(ts, func(a, b *Template) int { return strings.Compare(a.variant, b.variant) })
	}
	return byLocale, nil
}
