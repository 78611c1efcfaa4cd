package notify

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// secretsTable keeps the plugin's generated secrets (the VAPID private
// key). It is a plain table, not a collection, so no records API — a
// superuser's included — can read it.
const secretsTable = "_notifySecrets"

func ensureSecretsTable(app core.App) error {
	_, err := app.NonconcurrentDB().NewQuery(`CREATE TABLE IF NOT EXISTS {{` + secretsTable + `}} (
		[[name]] TEXT PRIMARY KEY NOT NULL,
		[[value]] TEXT NOT NULL,
		[[updated]] TEXT NOT NULL DEFAULT ''
	)`).Execute()
	return err
}

// readSecret returns the stored value of name, or "" when there is none.
func readSecret(app core.App, name string) (string, error) {
	var v string
	err := app.DB().NewQuery("SELECT [[value]] FROM {{" + secretsTable + "}} WHERE [[name]] = {:name}").
		Bind(dbx.Params{"name": name}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("readSecret %s: %w", name, err)
	}
	return v, nil
}

func writeSecret(app core.App, name, value string) error {
	_, err := app.NonconcurrentDB().NewQuery(`INSERT INTO {{` + secretsTable + `}} ([[name]], [[value]], [[updated]])
		VALUES ({:name}, {:value}, {:now})
		ON CONFLICT ([[name]]) DO UPDATE SET [[value]] = excluded.[[value]], [[updated]] = excluded.[[updated]]`).
		Bind(dbx.Params{"name": name, "value": value, "now": dbTime(time.Now())}).Execute()
	return err
}

func insertSecretIfAbsent(app core.App, name, value string) error {
	_, err := app.NonconcurrentDB().NewQuery(`INSERT INTO {{` + secretsTable + `}} ([[name]], [[value]], [[updated]])
		VALUES ({:name}, {:value}, {:now}) ON CONFLICT ([[name]]) DO NOTHING`).
		Bind(dbx.Params{"name": name, "value": value, "now": dbTime(time.Now())}).Execute()
	return err
}
