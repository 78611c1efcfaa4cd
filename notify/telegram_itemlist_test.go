package notify_test

import (
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
)

// itemListTelegram is an order.created Telegram text that lists every
// item, as a shop may write it. The default is short (number, status,
// total), so tests of what the channel does with long texts and customer
// data (splitting, escaping) install this one.
const itemListTelegram = `🛒 <b>Order #{{.Record.number}}</b>
{{range .Record.items}}• {{.name}} × {{.qty}} — {{money .price $.Record.currency}}
{{end}}Total: <b>{{money .Record.total .Record.currency}}</b>`

func useItemListTelegram(t *testing.T, shop *shoptest.Shop) {
	t.Helper()
	recs, err := shop.App.FindAllRecords(notify.TemplatesCollection)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.GetString("key") != "order.created" {
			continue
		}
		r.Set("telegram", itemListTelegram)
		if err := shop.App.Save(r); err != nil {
			t.Fatal(err)
		}
	}
}
