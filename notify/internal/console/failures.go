package console

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// failuresScanned bounds how many failed messages one page load or one
// group retry looks at (the newest first), so a shop with a million
// failures still gets an answer.
const failuresScanned = 5000

// messagesPerGroup is how many of a group's messages the page lists.
const messagesPerGroup = 50

// FailureGroup is failed messages that failed for the same reason.
type FailureGroup struct {
	// Reason is the error with what varies between messages (addresses,
	// phone numbers, ids) replaced, e.g. "550 mailbox unavailable: <address>".
	Reason   string          `json:"reason"`
	Count    int             `json:"count"`
	Channels []string        `json:"channels"`
	Latest   string          `json:"latest"`
	Messages []FailedMessage `json:"messages"`
}

// FailedMessage is one message of a group.
type FailedMessage struct {
	ID       string `json:"id"`
	Channel  string `json:"channel"`
	Template string `json:"template"`
	To       string `json:"to"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
	Updated  string `json:"updated"`
}

var (
	emailLike = regexp.MustCompile(`[^\s<>"'(),;:]+@[^\s<>"'(),;:]+\.[A-Za-z]{2,}`)
	phoneLike = regexp.MustCompile(`\+?\d[\d\s()-]{8,}\d`)
	idLike    = regexp.MustCompile(`\b[a-z0-9]{15}\b`)
)

// Reason is the group an error belongs to: the error with the parts that
// name one message (addresses, phone numbers, record ids) replaced, so
// "550 no such user a@x.org" and "550 no such user b@y.org" are one group.
func Reason(errText string) string {
	r := strings.TrimSpace(errText)
	if r == "" {
		return "(no error recorded)"
	}
	r = emailLike.ReplaceAllString(r, "<address>")
	r = phoneLike.ReplaceAllString(r, "<phone>")
	r = idLike.ReplaceAllStringFunc(r, func(s string) string {
		// PocketBase ids are 15 lowercase letters and digits with at least
		// one digit; a plain word of that length stays.
		if strings.ContainsAny(s, "0123456789") {
			return "<id>"
		}
		return s
	})
	return r
}

// failureStatus reads ?status= (or the body's status): "failed" (the
// default) or "skipped" — a skipped message, e.g. of a channel that was not
// set up yet, can be retried once it is.
func failureStatus(s string) (string, bool) {
	switch s {
	case "", "failed":
		return "failed", true
	case "skipped":
		return "skipped", true
	}
	return "", false
}

func (c *console) failedMessages(app core.App, status string) ([]FailedMessage, error) {
	var rows []FailedMessage
	err := app.DB().NewQuery(`SELECT [[id]] AS id, [[channel]] AS channel, [[template]] AS template,
		[[to]] AS "to", [[error]] AS error, [[attempts]] AS attempts, [[updated]] AS updated
		FROM {{` + MessagesCollection + `}} WHERE [[status]] = {:status}
		ORDER BY [[updated]] DESC LIMIT {:limit}`).Bind(dbx.Params{"status": status, "limit": failuresScanned}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("%s messages: %w", status, err)
	}
	return rows, nil
}

func (c *console) handleFailures(e *core.RequestEvent) error {
	status, ok := failureStatus(e.Request.URL.Query().Get("status"))
	if !ok {
		return e.BadRequestError("status must be failed or skipped.", nil)
	}
	rows, err := c.failedMessages(e.App, status)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, map[string]any{"status": status, "groups": groupFailures(rows), "scanned": len(rows), "limit": failuresScanned})
}

// groupFailures groups rows (newest first) by Reason, the largest group
// first.
func groupFailures(rows []FailedMessage) []*FailureGroup {
	byReason := map[string]*FailureGroup{}
	var groups []*FailureGroup
	for _, m := range rows {
		reason := Reason(m.Error)
		g := byReason[reason]
		if g == nil {
			g = &FailureGroup{Reason: reason, Latest: m.Updated, Channels: []string{}, Messages: []FailedMessage{}}
			byReason[reason] = g
			groups = append(groups, g)
		}
		g.Count++
		if !contains(g.Channels, m.Channel) {
			g.Channels = append(g.Channels, m.Channel)
		}
		if len(g.Messages) < messagesPerGroup {
			g.Messages = append(g.Messages, m)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Count > groups[j].Count })
	return groups
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type retryRequest struct {
	Reason string `json:"reason"`
	Status string `json:"status"` // failed (default) or skipped
}

// handleRetryGroup puts every failed (or skipped) message of one reason back in the
// queue the way the README's dashboard retry does: status queued, saved
// through the app, so the plugin's retry hook starts attempts, error and
// lease afresh and wakes the dispatcher.
func (c *console) handleRetryGroup(e *core.RequestEvent) error {
	var body retryRequest
	if err := e.BindBody(&body); err != nil || strings.TrimSpace(body.Reason) == "" {
		return e.BadRequestError(`The body must be JSON {"reason": "<a reason from GET /api/notify/console/failures>", "status": "failed|skipped"}.`, err)
	}
	status, ok := failureStatus(body.Status)
	if !ok {
		return e.BadRequestError("status must be failed or skipped.", nil)
	}
	rows, err := c.failedMessages(e.App, status)
	if err != nil {
		return e.InternalServerError("", err)
	}
	retried := 0
	for _, m := range rows {
		if Reason(m.Error) != body.Reason {
			continue
		}
		rec, err := e.App.FindRecordById(MessagesCollection, m.ID)
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted meanwhile
		}
		if err != nil {
			return e.InternalServerError("", fmt.Errorf("retry group: %w", err))
		}
		if rec.GetString("status") != status {
			continue // retried meanwhile
		}
		rec.Set("status", "queued")
		if err := e.App.Save(rec); err != nil {
			return e.InternalServerError(fmt.Sprintf("Retried %d messages, then one could not be saved.", retried), fmt.Errorf("retry group: %w", err))
		}
		retried++
	}
	if retried == 0 {
		return e.NotFoundError(fmt.Sprintf("No %s message has this reason (any more); reload the list.", status), nil)
	}
	return e.JSON(http.StatusOK, map[string]any{"retried": retried})
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
