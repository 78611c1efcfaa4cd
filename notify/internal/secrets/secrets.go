// Package secrets keeps the plugin's generated secrets (the VAPID private
// key) in a plain SQLite table, not a collection, so that no records API (a
// superuser's included) can read them.
//
// The table is created once, at install time (EnsureTable, called from
// notify.InstallCollections); reading and writing never create it, so a
// hot path such as a push send or the public key route costs one SELECT on
// the read pool and nothing on the single write connection.
package secrets

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Table is the name of the secrets table.
const Table = "_notifySecrets"

// EnsureTable creates the table if it does not exist. It belongs in a
// migration (notify.InstallCollections), not on a request path.
func EnsureTable(app core.App) error {
	_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS {{` + Table + `}} (
		[[name]] TEXT PRIMARY KEY NOT NULL,
		[[value]] TEXT NOT NULL,
		[[updated]] TEXT NOT NULL DEFAULT ''
	)`).Execute()
	if err != nil {
		return fmt.Errorf("secrets.EnsureTable: %w", err)
	}
	return nil
}

// Read returns the stored value of name, or "" when there is none. Outside
// a transaction app.DB() sends the SELECT to the concurrent read pool.
func Read(app core.App, name string) (string, error) {
	var v string
	err := app.DB().NewQuery("SELECT [[value]] FROM {{" + Table + "}} WHERE [[name]] = {:name}").
		Bind(dbx.Params{"name": name}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("secrets.Read %s: %w", name, err)
	}
	return v, nil
}

// Write stores value under name, replacing any previous value.
func Write(app core.App, name, value string) error {
	_, err := app.DB().NewQuery(`INSERT INTO {{` + Table + `}} ([[name]], [[value]], [[updated]])
		VALUES ({:name}, {:value}, {:now})
		ON CONFLICT ([[name]]) DO UPDATE SET [[value]] = excluded.[[value]], [[updated]] = excluded.[[updated]]`).
		Bind(dbx.Params{"name": name, "value": value, "now": now()}).Execute()
	if err != nil {
		return fmt.Errorf("secrets.Write %s: %w", name, err)
	}
	return nil
}

// InsertIfAbsent stores value under name unless a value is already there:
// of two processes generating a secret at once, the first insert wins.
func InsertIfAbsent(app core.App, name, value string) error {
	_, err := app.DB().NewQuery(`INSERT INTO {{` + Table + `}} ([[name]], [[value]], [[updated]])
		VALUES ({:name}, {:value}, {:now}) ON CONFLICT ([[name]]) DO NOTHING`).
		Bind(dbx.Params{"name": name, "value": value, "now": now()}).Execute()
	if err != nil {
		return fmt.Errorf("secrets.InsertIfAbsent %s: %w", name, err)
	}
	return nil
}

// now is the "updated" stamp, in PocketBase's date format. It is only shown
// to someone reading the table by hand, so it takes the wall clock.
func now() string {
	dt, _ := types.ParseDateTime(time.Now().UTC())
	return dt.String()
}
