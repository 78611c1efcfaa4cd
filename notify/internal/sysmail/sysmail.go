// Package sysmail is the machinery behind PocketBase's own account emails
// sent through the outbox (verification, password reset, email change,
// one-time code): it keeps each message's one-time secret (the token, the
// link that carries it, the code) apart from the notifyMessages row that
// sends it, and masks it in what the log keeps.
//
// The secret lives in a plain table that no collection, and so no API,
// exposes (Table). The row's data holds only a reference to it (RefKey),
// so a superuser browsing a queued message sees no token. At send time
// Reveal puts the values back for the template, and Secret.Mask blanks
// them out of the subject, body, HTML and link the log keeps. Once the
// message leaves the queue in any way (sent, failed, skipped, cancelled,
// deleted), a trigger on notifyMessages deletes the secret, so nothing in
// the database keeps it; a secret whose token expired is deleted too.
package sysmail

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Table holds the secrets of queued account emails: ref (the reference in
// the row's data), data (the values, JSON), expires (when the token or code
// stops working).
const Table = "_notifySysmailSecrets"

// RefKey is the key, in a sent message's Data, of the reference to its
// secret.
const RefKey = "$secret"

// Masked replaces a secret in what the log keeps.
const Masked = "•••"

// messagesTable is the outbox's table, whose status changes end a secret.
const messagesTable = "notifyMessages"

// ErrGone is Reveal's verdict on a message whose secret is no longer kept:
// its token or code expired before the message could be sent, so the
// message would carry a dead link.
var ErrGone = errors.New("the link or code expired before the message could be sent")

// Ensure creates the secrets table and the triggers that delete a secret
// when its message leaves the queue. It is idempotent and cheap: Put calls
// it in the transaction that stores a secret.
func Ensure(app core.App) error {
	// The data key in the trigger's JSON path must match RefKey and
	// notify's "$data" (the key under which a sent message keeps Data).
	const ref = `json_extract(%s.[[data]], '$."$data"."$secret"')`
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS {{` + Table + `}} (
			[[ref]] TEXT PRIMARY KEY NOT NULL,
			[[data]] TEXT NOT NULL,
			[[expires]] TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS {{idx_` + Table + `_expires}} ON {{` + Table + `}} ([[expires]])`,
		// Every way a message leaves the queue changes its status (the
		// dispatcher's finalize, an admin's edit, a deleted customer's
		// cancellation) or deletes it.
		`CREATE TRIGGER IF NOT EXISTS {{` + Table + `_done}} AFTER UPDATE OF [[status]] ON {{` + messagesTable + `}}
			WHEN NEW.[[status]] NOT IN ('queued', 'sending') AND instr(NEW.[[data]], '"$secret"') > 0
			BEGIN DELETE FROM {{` + Table + `}} WHERE [[ref]] = ` + fmt.Sprintf(ref, "NEW") + `; END`,
		`CREATE TRIGGER IF NOT EXISTS {{` + Table + `_deleted}} AFTER DELETE ON {{` + messagesTable + `}}
			WHEN instr(OLD.[[data]], '"$secret"') > 0
			BEGIN DELETE FROM {{` + Table + `}} WHERE [[ref]] = ` + fmt.Sprintf(ref, "OLD") + `; END`,
	}
	for _, s := range stmts {
		if _, err := app.NonconcurrentDB().NewQuery(s).Execute(); err != nil {
			return fmt.Errorf("sysmail: creating the secrets table: %w", err)
		}
	}
	return nil
}

// Put keeps values (e.g. {"token": …, "link": …}) until expires and
// returns the reference to put under RefKey in the message's Data. Call it
// with the transaction that queues the message. It also deletes secrets
// that expired by now.
func Put(app core.App, values map[string]string, expires, now time.Time) (string, error) {
	if err := Ensure(app); err != nil {
		return "", err
	}
	if _, err := app.NonconcurrentDB().NewQuery(`DELETE FROM {{` + Table + `}} WHERE [[expires]] < {:now}`).
		Bind(dbx.Params{"now": dbTime(now)}).Execute(); err != nil {
		return "", fmt.Errorf("sysmail: deleting expired secrets: %w", err)
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return "", fmt.Errorf("sysmail: %w", err)
	}
	ref := core.GenerateDefaultRandomId() + core.GenerateDefaultRandomId()
	_, err = app.NonconcurrentDB().NewQuery(`INSERT INTO {{` + Table + `}} ([[ref]], [[data]], [[expires]]) VALUES ({:ref}, {:data}, {:expires})`).
		Bind(dbx.Params{"ref": ref, "data": string(raw), "expires": dbTime(expires)}).Execute()
	if err != nil {
		return "", fmt.Errorf("sysmail: storing the secret: %w", err)
	}
	return ref, nil
}

// Secret is a revealed secret: the values to mask in what the log keeps.
// The zero and nil Secret mask nothing.
type Secret struct {
	values []string
}

// Reveal looks up the secret that data (a sent message's Data) refers to
// and puts its values into data, in place of the reference, for the
// template. Data without a reference returns nil and no error. A secret
// that is gone or expired returns ErrGone; any other error is the
// database's, worth a retry.
func Reveal(app core.App, data map[string]any, now time.Time) (*Secret, error) {
	ref, ok := data[RefKey].(string)
	if !ok {
		return nil, nil
	}
	var row struct {
		Data    string `db:"data"`
		Expires string `db:"expires"`
	}
	err := app.DB().NewQuery(`SELECT [[data]], [[expires]] FROM {{` + Table + `}} WHERE [[ref]] = {:ref}`).
		Bind(dbx.Params{"ref": ref}).One(&row)
	switch {
	case errors.Is(err, sql.ErrNoRows), err != nil && strings.Contains(err.Error(), "no such table"):
		return nil, ErrGone
	case err != nil:
		return nil, fmt.Errorf("sysmail: reading the secret: %w", err)
	case row.Expires < dbTime(now):
		return nil, ErrGone
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(row.Data), &values); err != nil {
		return nil, fmt.Errorf("sysmail: the secret: %w", err)
	}
	delete(data, RefKey)
	s := &Secret{}
	for k, v := range values {
		data[k] = v
		if v != "" {
			s.values = append(s.values, v)
		}
	}
	// Longest first: a link that contains the token is masked whole.
	slices.SortFunc(s.values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return s, nil
}

// Mask replaces every occurrence of the secret's values in the given
// strings with Masked, as written in text, in HTML and in a URL.
func (s *Secret) Mask(fields ...*string) {
	if s == nil {
		return
	}
	var pairs []string
	for _, v := range s.values {
		for _, form := range []string{v, html.EscapeString(v), url.QueryEscape(v), url.PathEscape(v)} {
			if !slices.Contains(pairs, form) {
				pairs = append(pairs, form, Masked)
			}
		}
	}
	r := strings.NewReplacer(pairs...)
	for _, f := range fields {
		*f = r.Replace(*f)
	}
}

// Requested reports whether a message's raw data JSON carries a secret:
// a message PocketBase sends because the customer asked for it (a link or
// a code), which their preferences do not silence.
func Requested(rawData string) bool {
	if !strings.Contains(rawData, RefKey) {
		return false
	}
	var d struct {
		Data map[string]any `json:"$data"`
	}
	if json.Unmarshal([]byte(rawData), &d) != nil {
		return false
	}
	_, ok := d.Data[RefKey].(string)
	return ok
}

var hrefRE = regexp.MustCompile(`(?i)href\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// Link is the action link of an account email: the first link in the HTML
// that PocketBase rendered from the collection's email template that
// carries token, so a shop that pointed the template at its own page (e.g.
// {APP_URL}/#/reset/{TOKEN}) keeps it; else fallback.
func Link(renderedHTML, token, fallback string) string {
	if token == "" {
		return fallback
	}
	for _, m := range hrefRE.FindAllStringSubmatch(renderedHTML, -1) {
		href := html.UnescapeString(m[1] + m[2])
		if strings.Contains(href, token) {
			return href
		}
	}
	return fallback
}

// AlertInfo is what PocketBase says about a sign-in from a new device.
type AlertInfo struct {
	At, IP, UserAgent string
}

// ParseAlertInfo reads PocketBase's auth alert info, "<date> - <ip> <user
// agent>", HTML-escaped as PocketBase passes it to the mailer hook. What
// does not parse is kept whole as the user agent.
func ParseAlertInfo(escaped string) AlertInfo {
	info := html.UnescapeString(escaped)
	at, rest, ok := strings.Cut(info, " - ")
	if !ok {
		return AlertInfo{UserAgent: info}
	}
	ip, ua, _ := strings.Cut(rest, " ")
	return AlertInfo{At: at, IP: ip, UserAgent: ua}
}

// dbTime formats t as PocketBase stores dates, so that they compare as
// strings.
func dbTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}
