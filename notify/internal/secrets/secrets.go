// Package secrets keeps the plugin's generated secrets (the VAPID private
// key) in a plain SQLite table, not a collection, so that no records API (a
// superuser's included) can read them.
//
// At rest: when the app runs with PocketBase's --encryptionEnv (the name of
// an environment variable holding a 32-character key), values are stored
// AES-256-GCM encrypted with that key, as PocketBase stores its settings,
// so that neither a superuser's SQL view over the table nor a backup shows
// them in clear. Without it they are stored in clear (see EncryptAll for
// switching an existing shop over).
//
// The table is created once, at install time (EnsureTable, called from
// notify.InstallCollections); reading and writing never create it, so a
// hot path such as a push send or the public key route costs one SELECT on
// the read pool and nothing on the single write connection.
package secrets

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
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

// encryptedPrefix marks a value stored encrypted: the rest is
// security.Encrypt's base64 output. A clear value (a VAPID key is base64url)
// never starts with it.
const encryptedPrefix = "enc:v1:"

// key returns the app's encryption key (the value of the variable named by
// --encryptionEnv), or "" when there is none.
func key(app core.App) string {
	if env := app.EncryptionEnv(); env != "" {
		return os.Getenv(env)
	}
	return ""
}

// seal is value as stored: encrypted when the app has a key.
func seal(app core.App, value string) (string, error) {
	k := key(app)
	if k == "" {
		return value, nil
	}
	enc, err := security.Encrypt([]byte(value), k)
	if err != nil {
		return "", fmt.Errorf("encrypting with the key in $%s (it must be 32 characters): %w", app.EncryptionEnv(), err)
	}
	return encryptedPrefix + enc, nil
}

// open is a stored value in clear.
func open(app core.App, stored string) (string, error) {
	if !strings.HasPrefix(stored, encryptedPrefix) {
		return stored, nil
	}
	k := key(app)
	if k == "" {
		return "", fmt.Errorf("the value is encrypted and no key is set: start the app with --encryptionEnv naming the variable that holds the key it was stored with")
	}
	plain, err := security.Decrypt(strings.TrimPrefix(stored, encryptedPrefix), k)
	if err != nil {
		return "", fmt.Errorf("decrypting with the key in $%s (is it the key the value was stored with?): %w", app.EncryptionEnv(), err)
	}
	return string(plain), nil
}

// Read returns the stored value of name in clear, or "" when there is
// none. Outside a transaction app.DB() sends the SELECT to the concurrent
// read pool.
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
	if v, err = open(app, v); err != nil {
		return "", fmt.Errorf("secrets.Read %s: %w", name, err)
	}
	return v, nil
}

// Write stores value under name, replacing any previous value.
func Write(app core.App, name, value string) error {
	stored, err := seal(app, value)
	if err != nil {
		return fmt.Errorf("secrets.Write %s: %w", name, err)
	}
	_, err = app.DB().NewQuery(`INSERT INTO {{` + Table + `}} ([[name]], [[value]], [[updated]])
		VALUES ({:name}, {:value}, {:now})
		ON CONFLICT ([[name]]) DO UPDATE SET [[value]] = excluded.[[value]], [[updated]] = excluded.[[updated]]`).
		Bind(dbx.Params{"name": name, "value": stored, "now": now()}).Execute()
	if err != nil {
		return fmt.Errorf("secrets.Write %s: %w", name, err)
	}
	return nil
}

// InsertIfAbsent stores value under name unless a value is already there:
// of two processes generating a secret at once, the first insert wins.
func InsertIfAbsent(app core.App, name, value string) error {
	stored, err := seal(app, value)
	if err != nil {
		return fmt.Errorf("secrets.InsertIfAbsent %s: %w", name, err)
	}
	_, err = app.DB().NewQuery(`INSERT INTO {{` + Table + `}} ([[name]], [[value]], [[updated]])
		VALUES ({:name}, {:value}, {:now}) ON CONFLICT ([[name]]) DO NOTHING`).
		Bind(dbx.Params{"name": name, "value": stored, "now": now()}).Execute()
	if err != nil {
		return fmt.Errorf("secrets.InsertIfAbsent %s: %w", name, err)
	}
	return nil
}

// EncryptAll brings what is at rest in line with the app's key: when the
// app has one, every secret still stored in clear is encrypted, and
// PocketBase's settings (the SMTP password, S3 keys), which PocketBase
// encrypts only when they are next saved, are saved now if they are in
// clear. A shop that starts with --encryptionEnv for the first time is
// thereby encrypted at once. Without a key it does nothing.
func EncryptAll(app core.App) error {
	if key(app) == "" {
		return nil
	}
	var rows []struct {
		Name  string `db:"name"`
		Value string `db:"value"`
	}
	if err := app.DB().NewQuery("SELECT [[name]], [[value]] FROM {{" + Table + "}}").All(&rows); err != nil {
		return fmt.Errorf("secrets.EncryptAll: %w", err)
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Value, encryptedPrefix) {
			continue
		}
		if err := Write(app, r.Name, r.Value); err != nil {
			return fmt.Errorf("secrets.EncryptAll: %w", err)
		}
	}
	var settings string
	err := app.DB().NewQuery("SELECT [[value]] FROM {{_params}} WHERE [[id]] = 'settings'").Row(&settings)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("secrets.EncryptAll: reading the settings: %w", err)
	}
	if err == nil && json.Valid([]byte(settings)) {
		if err := app.Save(app.Settings()); err != nil {
			return fmt.Errorf("secrets.EncryptAll: saving the settings encrypted: %w", err)
		}
	}
	return nil
}

// now is the "updated" stamp, in PocketBase's date format. It is only shown
// to someone reading the table by hand, so it takes the wall clock.
func now() string {
	dt, _ := types.ParseDateTime(time.Now().UTC())
	return dt.String()
}
