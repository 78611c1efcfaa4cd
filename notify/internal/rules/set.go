package rules

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// Set is an immutable snapshot of the rules: the active ones by the
// collection they watch, all of them by id. The caller replaces it as a
// whole whenever a rule changes, so the write path reads it without locks.
// A nil *Set is empty.
type Set struct {
	byCollection map[string][]*Rule
	byID         map[string]*Rule
}

// NewSet builds a set from parsed rules.
func NewSet(all []*Rule) *Set {
	s := &Set{byCollection: map[string][]*Rule{}, byID: map[string]*Rule{}}
	for _, r := range all {
		// Inactive rules stay known by id, so their queued messages can be
		// cancelled with a reason instead of sent.
		s.byID[r.ID] = r
		if r.Active {
			s.byCollection[r.Collection] = append(s.byCollection[r.Collection], r)
		}
	}
	return s
}

// Load reads every record of the rules collection. A record that does not
// parse is left out and reported in skipped (its id and why), so one bad
// record never hides the others.
func Load(app core.App) (set *Set, skipped map[string]error, err error) {
	records, err := app.FindAllRecords(CollectionName)
	if err != nil {
		return nil, nil, fmt.Errorf("rules.Load: %w", err)
	}
	all := make([]*Rule, 0, len(records))
	for _, rec := range records {
		rule, err := FromRecord(rec)
		if err != nil {
			if skipped == nil {
				skipped = map[string]error{}
			}
			skipped[rec.Id] = err
			continue
		}
		all = append(all, rule)
	}
	return NewSet(all), skipped, nil
}

// Match returns the active rules that watch event on collection, in the
// order they were loaded.
func (s *Set) Match(collection, event string) []*Rule {
	if s == nil {
		return nil
	}
	var out []*Rule
	for _, r := range s.byCollection[collection] {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

// Watches reports whether any active rule watches collection.
func (s *Set) Watches(collection string) bool {
	return s != nil && len(s.byCollection[collection]) > 0
}

// ByID returns the rule with id, active or not, or nil.
func (s *Set) ByID(id string) *Rule {
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// All returns every rule, active or not, in no particular order.
func (s *Set) All() []*Rule {
	if s == nil {
		return nil
	}
	out := make([]*Rule, 0, len(s.byID))
	for _, r := range s.byID {
		out = append(out, r)
	}
	return out
}
