package pb_migrations_test

import (
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/templates"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestMain(m *testing.M) { shoptest.Main(m) }

// oldOrderPaid is templates/en/order.paid.tmpl as shipped before the
// layout migration.
const oldOrderPaid = `
=== subject
Order #{{.Record.number}} has been paid
=== html
<p>Hello{{if .User.Name}}, {{.User.Name}}{{end}}!</p>
<p>We have received the payment for order <strong>#{{.Record.number}}</strong>: <strong>{{money .Record.total .Record.currency}}</strong>. Thank you!</p>
<p>We will start preparing your order and let you know as soon as it ships.</p>
{{if .Link}}<p><a href="{{.Link}}">View your order</a></p>{{end}}
=== text
Hello{{if .User.Name}}, {{.User.Name}}{{end}}!

We have received the payment for order #{{.Record.number}}: {{money .Record.total .Record.currency}}. Thank you!

We will start preparing your order and let you know as soon as it ships.
{{if .Link}}
Your order: {{.Link}}
{{end}}
=== telegram
💳 <b>Order #{{.Record.number}} has been paid</b>
Total: <b>{{money .Record.total .Record.currency}}</b>
We will let you know as soon as it ships.
=== pushTitle
Order #{{.Record.number}} has been paid
=== pushBody
Thank you! We will start preparing your order.
=== pushUrl
/#/orders/{{.Record.id}}
=== sms
{{.Shop.Name}}: Order #{{.Record.number}} has been paid. Thank you! We will start preparing your order.
`

// TestLayoutMigrationUpgradesOnlyUntouchedDefaults puts an existing shop's
// order.paid templates back as they were before the migration (the English
// one as shipped, the Russian one edited by the owner), runs the migration
// again, and checks that only the untouched one got the new default.
func TestLayoutMigrationUpgradesOnlyUntouchedDefaults(t *testing.T) {
	shop := shoptest.New(t, shoptest.Options{})
	app := shop.App
	old, err := templates.Parse("en", "order.paid", oldOrderPaid)
	if err != nil {
		t.Fatal(err)
	}
	find := func(locale string) *core.Record {
		t.Helper()
		rec, err := app.FindFirstRecordByFilter(notify.TemplatesCollection, "key = 'order.paid' && locale = {:l}", dbx.Params{"l": locale})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	en, ru := find("en"), find("ru")
	for _, f := range []string{"subject", "html", "text", "telegram", "pushTitle", "pushBody", "pushUrl"} {
		en.Set(f, old.Fields[f])
	}
	en.Set("preheader", "")
	const edited = "<p>Our own words for order {{.Record.number}}</p>"
	ru.Set("html", edited)
	ru.Set("preheader", "")
	for _, r := range []*core.Record{en, ru} {
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	brands, err := app.FindAllRecords(notify.BrandCollection)
	if err != nil || len(brands) != 1 {
		t.Fatalf("brand records = %d, %v; want the one the migration made", len(brands), err)
	}

	if _, err := app.DB().NewQuery("DELETE FROM _migrations WHERE file LIKE '1732000016_%'").Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := core.NewMigrationsRunner(app, core.AppMigrations).Up(); err != nil {
		t.Fatal(err)
	}

	defaults, _ := templates.Defaults()
	var want templates.Template
	for _, d := range defaults {
		if d.Key == "order.paid" && d.Locale == "en" {
			want = d
		}
	}
	en, ru = find("en"), find("ru")
	for _, f := range []string{"preheader", "html", "text", "telegram"} {
		if en.GetString(f) != want.Fields[f] {
			t.Errorf("untouched en/order.paid %s = %q; want the new default %q", f, en.GetString(f), want.Fields[f])
		}
	}
	if ru.GetString("html") != edited || ru.GetString("preheader") != "" {
		t.Errorf("edited ru/order.paid html = %q, preheader %q; want the owner's own left alone", ru.GetString("html"), ru.GetString("preheader"))
	}
	if brands, _ := app.FindAllRecords(notify.BrandCollection); len(brands) != 1 {
		t.Errorf("brand records after a second run = %d; want still 1", len(brands))
	}
}
