package pb_migrations

import (
	"crypto/sha256"
	"fmt"

	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/templates"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The branded email layout: the notifyBrand settings record (logo,
// address, contacts, support links) with one empty record for the owner to
// fill in, the templates' preheader field, and the new order and payment
// messages (progress line, line totals, buttons, short Telegram texts) and
// the welcome message's button.
//
// An existing shop's order, payment and welcome templates are upgraded only where
// the stored template is still exactly the default this version replaces
// (compared by a hash of every field the old default had but sms); a
// template the owner has edited, even by one character, is left as it is.
func init() {
	m.Register(func(app core.App) error {
		if err := notify.InstallCollections(app, "users"); err != nil {
			return fmt.Errorf("layout migration: %w", err)
		}
		if err := ensureBrandRecord(app); err != nil {
			return fmt.Errorf("layout migration: %w", err)
		}
		if err := upgradeShippedTemplates(app); err != nil {
			return fmt.Errorf("layout migration: %w", err)
		}
		return nil
	}, nil)
}

// ensureBrandRecord creates the one notifyBrand record, empty, so the owner
// finds it in the dashboard and only has to fill it in.
func ensureBrandRecord(app core.App) error {
	coll, err := app.FindCollectionByNameOrId(notify.BrandCollection)
	if err != nil {
		return err
	}
	n, err := app.CountRecords(coll)
	if err != nil || n > 0 {
		return err
	}
	return app.Save(core.NewRecord(coll))
}

// upgradedFields are what the new defaults change; hashedFields are what
// must still be the old default for a template to be upgraded.
var (
	upgradedFields = []string{"preheader", "html", "text", "telegram"}
	hashedFields   = []string{"subject", "html", "text", "telegram", "pushTitle", "pushBody", "pushUrl"}
)

func templateHash(get func(field string) string) string {
	h := sha256.New()
	for _, f := range hashedFields {
		fmt.Fprintf(h, "%s\x00%s\x00", f, get(f))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func upgradeShippedTemplates(app core.App) error {
	defaults, err := templates.Defaults()
	if err != nil {
		return err
	}
	for _, t := range defaults {
		old, ok := previousDefaults[t.Locale+"/"+t.Key]
		if !ok {
			continue
		}
		recs, err := app.FindAllRecords(notify.TemplatesCollection, dbx.HashExp{"key": t.Key, "locale": t.Locale})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if templateHash(rec.GetString) != old {
				continue // edited by the owner: theirs
			}
			for _, f := range upgradedFields {
				rec.Set(f, t.Fields[f])
			}
			if err := app.Save(rec); err != nil {
				return fmt.Errorf("%s/%s: %w", t.Locale, t.Key, err)
			}
		}
	}
	return nil
}

// previousDefaults are the hashes (templateHash) of the order, payment and
// welcome templates as shipped before this migration.
var previousDefaults = map[string]string{
	"en/user.created":      "a9261b361cbc2a355bae8c8f7e9b914bf1199a164e0ff98171f26b57cbb98f17",
	"ru/user.created":      "9a897a7fbbfb27dd5addd7a335228b7c93936dc3f3fb357561e40144f0508318",
	"en/order.assembling":  "0fd81894e2c66d937dfc1338756ff86b786e2795f9b12456d27cb1255ea1b01e",
	"en/order.cancelled":   "a7a1b734c44fba4f6316e67e357ec684632ffb9ee3f4edbdca86165a5698d127",
	"en/order.created":     "a144bc618fd15342e35331cf67f66d03c98e455b47c22d27dae906dc96d6255f",
	"en/order.delivered":   "727bf88824a65a56515d40134933142a01e02f7b0b97534b0bdc9147c64693d7",
	"en/order.paid":        "418b83530677df8a76c06abf66dbcd409ef47af0eb14a0980cb8abaed31fd2b8",
	"en/order.returned":    "937f517a6df1179c0277be78471a2804d6aca84556f2eeb6e1bfa0ab8827e9c3",
	"en/order.shipped":     "e013042fcd30acfa6c17c91c86ebdb2d52f3a51043010722839586f9b387cfd2",
	"en/payment.failed":    "2d4ac3cfa4e489fc2a93ec609a9404f493b9e63a65f998b44b86a04f3470c949",
	"en/payment.refunded":  "09495abf622d9fd92f40664f5c6b77c0e4a32276de6b92d0fb393e85900fb29e",
	"en/payment.succeeded": "b7f19c62256eb0d39888e27ed7251d53753d21134d82dfa9240efffca571c846",
	"ru/order.assembling":  "533f9ab864923501214573ddd566f6a1712c617e9024e85df0b639f1e3b14f3b",
	"ru/order.cancelled":   "b7c900249bf3f3d84a5752986c13f252de84f8950167019603548bbc811db6df",
	"ru/order.created":     "f96ea55f33d044a5861b579649c67fbf88bd5d6c809e5eed10e37a033a65ea46",
	"ru/order.delivered":   "e0068443f97449b379b7498c6dcfc9e454760f3099c4caaf1b2b0ecb9d0ca8a5",
	"ru/order.paid":        "2494464a8941a132d417d6c8db93263c2157f289f2b2f3ed922252d2cdb0d29a",
	"ru/order.returned":    "4dd58df9939d03db8d5ca814e6a80b3bc429d889e561d2e996b6b5d293268a15",
	"ru/order.shipped":     "8498153218452cd8f19e831ffb95ad0991283ed44a621a2c612d74a2f53b8532",
	"ru/payment.failed":    "74bdd68d883cad2d6c8294618f492b6dac333d3d82f429238b813aab2abd92b9",
	"ru/payment.refunded":  "190897c69a650280a50dcecf7da178fbe417006242d1f244177a06e3f5bc8092",
	"ru/payment.succeeded": "519bc528473bd56ece0703a147be8f9bde5aae72d89c82a72924b49e357388e5",
}
