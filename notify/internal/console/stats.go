package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// statsRanges are the chart's ranges: how far back, and how long a bucket
// is ("hour" buckets are "YYYY-MM-DD HH", "day" ones "YYYY-MM-DD", UTC).
var statsRanges = map[string]struct {
	span   time.Duration
	bucket string
}{
	"24h": {24 * time.Hour, "hour"},
	"7d":  {7 * 24 * time.Hour, "day"},
	"30d": {30 * 24 * time.Hour, "day"},
}

// StatsRow is the messages of one bucket, rule, channel and variant,
// counted by outcome. Opened and Clicked are nil when the shop does not
// track them (notifyMessages has no openedAt / clickedAt).
type StatsRow struct {
	Bucket    string `db:"bucket" json:"bucket"`
	Rule      string `db:"rule" json:"rule"`
	Template  string `db:"template" json:"template"`
	Channel   string `db:"channel" json:"channel"`
	Variant   string `db:"variant" json:"variant"`
	Total     int    `db:"total" json:"total"`
	Sent      int    `db:"sent" json:"sent"`
	Failed    int    `db:"failed" json:"failed"`
	Skipped   int    `db:"skipped" json:"skipped"`
	Cancelled int    `db:"cancelled" json:"cancelled"`
	Opened    *int   `db:"opened" json:"opened"`
	Clicked   *int   `db:"clicked" json:"clicked"`
}

// Stats is what the per-rule charts draw.
type Stats struct {
	Range   string            `json:"range"`
	Bucket  string            `json:"bucket"`
	From    string            `json:"from"`
	To      string            `json:"to"`
	Tracked map[string]bool   `json:"tracked"` // opened, clicked, variant: whether the shop records them
	Rules   map[string]string `json:"rules"`   // rule id → name
	Rows    []StatsRow        `json:"rows"`
}

func (c *console) handleStats(e *core.RequestEvent) error {
	name := e.Request.URL.Query().Get("range")
	if name == "" {
		name = "7d"
	}
	r, ok := statsRanges[name]
	if !ok {
		return e.BadRequestError(fmt.Sprintf("Unknown range %q; use 24h, 7d or 30d.", name), nil)
	}
	st, err := c.stats(e.App, name, r.span, r.bucket)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, st)
}

// stats counts the messages created in the range, by the status they have
// now. Daily buckets come from the notifyStats view when the shop has it
// (counters kept as messages change: a 30-day chart reads a few hundred
// rows, not every message); hourly ones, and daily ones without the view,
// from notifyMessages directly, counting opens and clicks only where the
// columns exist.
func (c *console) stats(app core.App, name string, span time.Duration, bucket string) (*Stats, error) {
	coll, err := app.FindCachedCollectionByNameOrId(MessagesCollection)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	has := func(field string) bool { return coll.Fields.GetByName(field) != nil }
	now := c.cfg.Now()
	st := &Stats{
		Range: name, Bucket: bucket, From: dbTime(now.Add(-span)), To: dbTime(now),
		Tracked: map[string]bool{"opened": has("openedAt"), "clicked": has("clickedAt"), "variant": has("variant")},
		Rules:   map[string]string{},
		Rows:    []StatsRow{},
	}
	if bucket == "day" {
		if _, err := app.FindCachedCollectionByNameOrId(StatsCollection); err == nil {
			return c.dailyStats(app, st)
		}
	}
	width := 10
	if bucket == "hour" {
		width = 13
	}
	opened, clicked, variant := "NULL", "NULL", "''"
	if st.Tracked["opened"] {
		opened = "COUNT(CASE WHEN COALESCE([[openedAt]], '') != '' THEN 1 END)"
	}
	if st.Tracked["clicked"] {
		clicked = "COUNT(CASE WHEN COALESCE([[clickedAt]], '') != '' THEN 1 END)"
	}
	if st.Tracked["variant"] {
		variant = "COALESCE([[variant]], '')"
	}
	q := fmt.Sprintf(`SELECT substr([[created]], 1, %d) AS bucket, COALESCE([[rule]], '') AS rule,
		COALESCE([[template]], '') AS template, [[channel]] AS channel, %s AS variant,
		COUNT(*) AS total,
		COUNT(CASE WHEN [[status]] = 'sent' THEN 1 END) AS sent,
		COUNT(CASE WHEN [[status]] = 'failed' THEN 1 END) AS failed,
		COUNT(CASE WHEN [[status]] = 'skipped' THEN 1 END) AS skipped,
		COUNT(CASE WHEN [[status]] = 'cancelled' THEN 1 END) AS cancelled,
		%s AS opened, %s AS clicked
		FROM {{%s}} WHERE [[created]] >= {:from}
		GROUP BY 1, 2, 3, 4, 5 ORDER BY 1`, width, variant, opened, clicked, MessagesCollection)
	if err := app.DB().NewQuery(q).Bind(dbx.Params{"from": st.From, "to": st.To}).All(&st.Rows); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return st, c.ruleNames(app, st)
}

// dailyStats reads the days of st's range from the notifyStats view, the
// same numbers the Statistics section of the README explains (its opened
// counts an open, an inbox read or a click).
func (c *console) dailyStats(app core.App, st *Stats) (*Stats, error) {
	st.Tracked = map[string]bool{"opened": true, "clicked": true, "variant": true}
	q := `SELECT [[day]] AS bucket, [[rule]] AS rule, [[template]] AS template, [[channel]] AS channel,
		[[variant]] AS variant, SUM([[total]]) AS total, SUM([[sent]]) AS sent, SUM([[failed]]) AS failed,
		SUM([[skipped]]) AS skipped, SUM([[cancelled]]) AS cancelled, SUM([[opened]]) AS opened,
		SUM([[clicked]]) AS clicked
		FROM {{` + StatsCollection + `}} WHERE [[day]] >= {:from}
		GROUP BY 1, 2, 3, 4, 5 ORDER BY 1`
	if err := app.DB().NewQuery(q).Bind(dbx.Params{"from": st.From[:10]}).All(&st.Rows); err != nil {
		return nil, fmt.Errorf("stats: notifyStats: %w", err)
	}
	return st, c.ruleNames(app, st)
}

// ruleNames names the rules the chart's rows are about.
func (c *console) ruleNames(app core.App, st *Stats) error {
	var rules []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := app.DB().NewQuery(`SELECT [[id]] AS id, [[name]] AS name FROM {{` + RulesCollection + `}}`).All(&rules); err != nil {
		return fmt.Errorf("stats: rule names: %w", err)
	}
	for _, r := range rules {
		st.Rules[r.ID] = r.Name
	}
	return nil
}
