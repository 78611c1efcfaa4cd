package notify_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// onePixelPNG is a valid 1×1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// TestBrandedLayout: a fresh shop shows its name as a wordmark in
// PocketBase's default accent; the owner's logo upload, contacts and
// accent colour (Application settings) show in the next email without a
// restart; the logo is served from the shop's own URL to anyone, as a
// mail client fetches it.
func TestBrandedLayout(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	order := shop.MustDo(200, "POST", "/api/collections/orders/records", anna.Token, map[string]any{
		"customer": anna.ID, "items": []map[string]any{shop.Item("Tea", 1, 100)},
	}).String("id")
	tpl, err := shop.App.FindFirstRecordByFilter(notify.TemplatesCollection, "key = 'order.created' && locale = 'en'")
	if err != nil {
		t.Fatal(err)
	}
	page := func() string {
		t.Helper()
		res := shop.MustDo(200, "GET", "/api/notify/templates/"+tpl.Id+"/preview?format=html&record="+order, admin, nil)
		return string(res.Body)
	}

	fresh := page()
	if !strings.Contains(fresh, `class="wordmark"`) || !strings.Contains(fresh, ">Test Shop</a>") || strings.Contains(fresh, "<img") {
		t.Errorf("a fresh shop's header is not its name as a wordmark:\n%s", fresh)
	}
	if !strings.Contains(fresh, "background-color:#1055c9") {
		t.Errorf("a fresh shop's button is not in PocketBase's default accent")
	}

	brands, err := shop.App.FindAllRecords(notify.BrandCollection)
	if err != nil || len(brands) != 1 {
		t.Fatalf("brand records = %d, %v; want one, made by the migration", len(brands), err)
	}
	brand := brands[0]
	logo, err := filesystem.NewFileFromBytes(onePixelPNG, "logo.png")
	if err != nil {
		t.Fatal(err)
	}
	brand.Set("logo", logo)
	brand.Set("address", "Moscow, Tverskaya st. 1")
	brand.Set("phone", "+7 495 123-45-67")
	brand.Set("supportUrl", "https://help.shop.example/")
	if err := shop.App.Save(brand); err != nil {
		t.Fatal(err)
	}
	settings := shop.App.Settings()
	settings.Meta.AccentColor = "#aa3300"
	if err := shop.App.Save(settings); err != nil {
		t.Fatal(err)
	}

	branded := page()
	m := regexp.MustCompile(`<img src="(http://shop\.test(/api/files/[^"]+))" alt="Test Shop"`).FindStringSubmatch(branded)
	if m == nil {
		t.Fatalf("the email has no logo from the shop's URL with the shop's name as alt text:\n%s", branded)
	}
	for _, want := range []string{"background-color:#aa3300", "Moscow, Tverskaya st. 1", `href="tel:+74951234567"`, `href="https://help.shop.example/"`} {
		if !strings.Contains(branded, want) {
			t.Errorf("the branded email lacks %q", want)
		}
	}
	res, err := http.Get(shop.URL + m[2]) // no credentials, as a mail client
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != string(onePixelPNG) {
		t.Errorf("GET %s = %d (%d bytes); want the logo to anyone", m[2], res.StatusCode, len(body))
	}

	// The brand record itself is the owner's: customers cannot read it.
	if res := shop.Do("GET", "/api/collections/"+notify.BrandCollection+"/records", anna.Token, nil); res.Status == 200 && strings.Contains(string(res.Body), brand.Id) {
		t.Errorf("a customer can list the brand record: %s", res.Body)
	}
}

// TestPreviewHTML: ?format=html answers the email as received, as a page
// that may run nothing; an unknown format is refused naming the choices.
func TestPreviewHTML(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{})
	admin := shop.SuperuserToken()
	tpl, err := shop.App.FindFirstRecordByFilter(notify.TemplatesCollection, "key = 'order.shipped' && locale = 'ru'")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", shop.URL+"/api/notify/templates/"+tpl.Id+"/preview?format=html", nil)
	req.Header.Set("Authorization", admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(raw)
	if res.StatusCode != 200 {
		t.Fatalf("preview?format=html = %d %s", res.StatusCode, body)
	}
	if !strings.HasPrefix(body, "<!DOCTYPE html>") || !strings.Contains(body, `style="`) || !strings.Contains(body, "Заказ в пути") {
		t.Errorf("preview?format=html is not the laid-out email:\n%.400s", body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q; want text/html", ct)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q; want scripts refused", csp)
	}
	if res := shop.Do("GET", "/api/notify/templates/"+tpl.Id+"/preview?format=pdf", admin, nil); res.Status != 400 || !strings.Contains(string(res.Body), "html") {
		t.Errorf("format=pdf = %d %s; want 400 naming the formats", res.Status, res.Body)
	}
	if res := shop.Do("GET", "/api/notify/templates/"+tpl.Id+"/preview?format=html&channel=telegram", admin, nil); res.Status != 400 {
		t.Errorf("format=html for telegram = %d; want 400 (no email HTML)", res.Status)
	}
}
