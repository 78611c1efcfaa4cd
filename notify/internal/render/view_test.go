package render

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/pocketbase/pocketbase/core"
)

// TestShopLink: .Link follows Shop.RecordLink, escapes what it inserts,
// and is empty without a URL to make a relative pattern absolute on.
func TestShopLink(t *testing.T) {
	for _, tc := range []struct {
		shop Shop
		want string
	}{
		{Shop{URL: "https://shop.example"}, "https://shop.example/orders/a%2Fb"},
		{Shop{URL: "https://shop.example", RecordLink: "/#/{collection}/{id}"}, "https://shop.example/#/orders/a%2Fb"},
		{Shop{RecordLink: "https://app.example/o?c={collection}&id={id}"}, "https://app.example/o?c=orders&id=a%2Fb"},
		{Shop{}, ""},
	} {
		if got := tc.shop.Link("orders", "a/b"); got != tc.want {
			t.Errorf("%+v.Link = %q; want %q", tc.shop, got, tc.want)
		}
	}
}

func TestViewExpandsRelations(t *testing.T) {
	app := newTestApp(t)
	user := newUser(t, app)
	order := newRecord(t, app, "orders", map[string]any{"customer": user.Id, "number": 1001, "secret": "s3cr3t"})
	payment := newRecord(t, app, "payments", map[string]any{"order": order.Id, "amount": 500})

	vw := Viewer{App: app, Shop: Shop{URL: "https://shop.example"}}
	v, err := vw.View(user, "payments", payment.Id, Export(payment), "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Expand["order"]["number"]; got != 1001.0 {
		t.Errorf(".Expand.order.number = %v; want 1001", got)
	}
	if _, ok := v.Expand["order"]["secret"]; ok {
		t.Errorf(".Expand.order has the hidden field secret: %v", v.Expand["order"])
	}
	if want := "https://shop.example/payments/" + payment.Id; v.Link != want {
		t.Errorf("Link = %q; want %q (the default RecordLink)", v.Link, want)
	}

	// The recipient is not read again: orders.customer is the user.
	vw.FindRecord = func(collectionID, id string) (*core.Record, error) {
		t.Errorf("FindRecord(%s, %s) for the recipient, who is already loaded", collectionID, id)
		return nil, sql.ErrNoRows
	}
	v, err = vw.View(user, "orders", order.Id, Export(order), "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Expand["customer"]["email"]; got != user.Email() {
		t.Errorf(".Expand.customer.email = %v; want %q", got, user.Email())
	}
	if _, ok := v.Expand["customer"]["password"]; ok {
		t.Error(".Expand.customer has the password field")
	}
}

// TestViewRelationErrors checks what a failed relation lookup does: a
// record that is gone is left out, and any other error is returned so the
// message is retried instead of sent without its part.
func TestViewRelationErrors(t *testing.T) {
	app := newTestApp(t)
	user := newUser(t, app)
	order := newRecord(t, app, "orders", map[string]any{"customer": user.Id, "number": 1001})
	payment := newRecord(t, app, "payments", map[string]any{"order": order.Id, "amount": 500})
	ioErr := errors.New("disk I/O error")

	for _, tc := range []struct {
		name    string
		findErr error
		wantErr bool
	}{
		{"gone", sql.ErrNoRows, false},
		{"read error", ioErr, true},
	} {
		vw := Viewer{App: app, FindRecord: func(string, string) (*core.Record, error) { return nil, tc.findErr }}
		v, err := vw.View(user, "payments", payment.Id, Export(payment), "en")
		if tc.wantErr {
			if !errors.Is(err, tc.findErr) {
				t.Errorf("%s: View = %v, %v; want the error", tc.name, v, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: View: %v", tc.name, err)
			continue
		}
		if _, ok := v.Expand["order"]; ok {
			t.Errorf("%s: .Expand.order = %v; want it absent", tc.name, v.Expand["order"])
		}
	}
}
