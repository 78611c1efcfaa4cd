package notify_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pbnotify/pbnotify/internal/shoptest"
	"github.com/pbnotify/pbnotify/notify"
	"github.com/pbnotify/pbnotify/notify/internal/secrets"
	"github.com/pbnotify/pbnotify/notify/internal/tracking"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// shopURL is the Application URL shoptest sets: the public address signed
// links are made on.
const shopURL = "http://shop.test"

var hrefRe = regexp.MustCompile(`href="([^"]*)"`)

func hrefs(doc string) []string {
	var out []string
	for _, m := range hrefRe.FindAllStringSubmatch(doc, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// follow requests a link the customer received on the test server, with
// redirects off, as a browser's first hop.
func follow(t *testing.T, shop *shoptest.Shop, method, link string, form url.Values) *http.Response {
	t.Helper()
	if !strings.HasPrefix(link, shopURL+"/") {
		t.Fatalf("%q is not on the shop's public URL %s", link, shopURL)
	}
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, shop.URL+strings.TrimPrefix(link, shopURL), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// wantNotFound checks a refused token: 404 and no redirect anywhere.
func wantNotFound(t *testing.T, res *http.Response, what string) {
	t.Helper()
	if res.StatusCode != 404 || res.Header.Get("Location") != "" {
		t.Errorf("%s = %d, Location %q; want 404 and no Location", what, res.StatusCode, res.Header.Get("Location"))
	}
}

func templateID(t *testing.T, shop *shoptest.Shop, key, locale string) string {
	t.Helper()
	rec, err := shop.App.FindFirstRecordByFilter(notify.TemplatesCollection, "key = {:k} && locale = {:l} && variant = ''", dbx.Params{"k": key, "l": locale})
	if err != nil {
		t.Fatalf("template %s/%s: %v", key, locale, err)
	}
	return rec.Id
}

func reload(t *testing.T, shop *shoptest.Shop, rec *core.Record) *core.Record {
	t.Helper()
	fresh, err := shop.App.FindRecordById(rec.Collection().Name, rec.Id)
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

func TestSignedLinksInEmail(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{FakeClock: true})
	admin := shop.SuperuserToken()
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	orderID := placeOrder(t, shop, anna).String("id")
	m := emailTo(t, shop, "anna@example.org", "#1001")
	msg := shop.WaitMessage("template = 'order.created' && channel = 'email'", nil, notify.StatusSent)

	// What the template renders without tracking: the preview of the same
	// template against the same order.
	preview := shop.MustDo(200, "GET", "/api/notify/templates/"+templateID(t, shop, "order.created", "en")+
		"/preview?channel=email&record="+orderID, admin, nil).String("html")
	want, got := hrefs(preview), hrefs(part(t, m, "text/html"))
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("email links %q; want one for each of %q", got, want)
	}
	var signed []string
	for i, orig := range want {
		if !strings.HasPrefix(orig, "http") {
			if got[i] != orig {
				t.Errorf("link %d = %q; want %q left as it is", i, got[i], orig)
			}
			continue
		}
		if !strings.HasPrefix(got[i], shopURL+"/r/") {
			t.Errorf("link %d = %q; want a signed %s/r/ link for %q", i, got[i], shopURL, orig)
			continue
		}
		signed = append(signed, got[i])
		res := follow(t, shop, "GET", got[i], nil)
		if res.StatusCode != 302 || res.Header.Get("Location") != orig {
			t.Errorf("GET %s = %d, Location %q; want 302 to %q", got[i], res.StatusCode, res.Header.Get("Location"), orig)
		}
	}
	if len(signed) == 0 {
		t.Fatalf("no signed link in the email")
	}
	for _, f := range strings.Fields(part(t, m, "text/plain")) {
		if strings.HasPrefix(f, "http") && !strings.HasPrefix(f, shopURL+"/r/") {
			t.Errorf("the text part shows %q; want every link signed", f)
		}
	}

	t.Run("clickedAt is set once", func(t *testing.T) {
		first := reload(t, shop, msg).GetDateTime("clickedAt")
		if first.IsZero() || !first.Time().Equal(shop.Clock.Now().Truncate(time.Millisecond)) {
			t.Fatalf("clickedAt = %v; want the click's time %v", first, shop.Clock.Now())
		}
		shop.Clock.Advance(time.Hour)
		if res := follow(t, shop, "GET", signed[0], nil); res.StatusCode != 302 {
			t.Fatalf("second click = %d; want 302", res.StatusCode)
		}
		if again := reload(t, shop, msg).GetDateTime("clickedAt"); !again.Equal(first) {
			t.Errorf("clickedAt = %v after a second click; want the first, %v", again, first)
		}
	})

	t.Run("altered, foreign and unknown tokens answer 404", func(t *testing.T) {
		tok := strings.TrimPrefix(signed[0], shopURL+"/r/")
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			t.Fatal(err)
		}
		keyText, err := secrets.Read(shop.App, "tracking.key")
		if err != nil || keyText == "" {
			t.Fatalf("the signing key is not among the secrets: %q, %v", keyText, err)
		}
		key, _ := base64.RawURLEncoding.DecodeString(keyText)
		shops, _ := tracking.NewSigner(key)
		foreign, _ := tracking.NewSigner(bytes.Repeat([]byte{7}, 32))
		parsed, err := shops.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		cases := map[string]string{
			"foreign key":        foreign.Sign(parsed),
			"another link index": shops.Sign(tracking.Token{Kind: tracking.KindClick, Message: msg.Id, Link: 200}),
			"unknown message":    shops.Sign(tracking.Token{Kind: tracking.KindClick, Message: "nosuchmessage00", Link: 0}),
			"unsubscribe token":  shops.Sign(tracking.Token{Kind: tracking.KindUnsubscribe, Message: msg.Id}),
			"truncated":          tok[:len(tok)-2],
			"garbage":            "not-a-token",
		}
		for i := range raw {
			b := bytes.Clone(raw)
			b[i] ^= 0x20
			cases[fmt.Sprintf("byte %d altered", i)] = base64.RawURLEncoding.EncodeToString(b)
		}
		for name, bad := range cases {
			wantNotFound(t, follow(t, shop, "GET", shopURL+"/r/"+bad, nil), name)
		}
	})

	t.Run("inbox link is signed", func(t *testing.T) {
		inbox := shop.WaitMessage("template = 'order.created' && channel = 'inbox'", nil, notify.StatusSent)
		link := inbox.GetString("link")
		res := follow(t, shop, "GET", link, nil)
		if !strings.HasPrefix(link, shopURL+"/r/") || res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), orderID) {
			t.Errorf("inbox link %q → %d %q; want a signed link to the order", link, res.StatusCode, res.Header.Get("Location"))
		}
		// The customer reads it through the API like any of her messages,
		// but never the originals behind the tokens.
		body := shop.MustDo(200, "GET", "/api/collections/notifyMessages/records/"+inbox.Id, anna.Token, nil)
		if body.String("link") != link || strings.Contains(string(body.Body), `"links"`) {
			t.Errorf("the customer's view of her inbox message: %s", body.Body)
		}
	})
}

func TestClickTrackingOff(t *testing.T) {
	t.Parallel()
	shop := shoptest.New(t, shoptest.Options{Config: notify.Config{NoClickTracking: true}})
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	placeOrder(t, shop, anna)
	m := emailTo(t, shop, "anna@example.org", "#1001")
	for _, h := range hrefs(part(t, m, "text/html")) {
		if strings.Contains(h, "/r/") {
			t.Errorf("link %q signed with click tracking off", h)
		}
	}
	if links := shop.WaitMessage("template = 'order.created' && channel = 'inbox'", nil, notify.StatusSent).GetString("link"); strings.Contains(links, "/r/") {
		t.Errorf("inbox link %q signed with click tracking off", links)
	}
}

func TestSignedLinksInTelegram(t *testing.T) {
	t.Parallel()
	shop, bot := telegramShop(t, nil)
	anna := shop.SignUp("Anna", "anna@example.org", "en")
	const chat = 5550101
	linkTelegram(t, shop, bot, anna, chat)
	before := len(bot.Sent())
	orderID := placeOrder(t, shop, anna).String("id")
	sent := bot.WaitSent(t, before+1, 10*time.Second)[before]
	if len(sent.Keyboard) == 0 || len(sent.Keyboard[0]) == 0 {
		t.Fatalf("the order message has no button: %+v", sent)
	}
	button := sent.Keyboard[0][0].URL
	res := follow(t, shop, "GET", button, nil)
	if !strings.HasPrefix(button, shopURL+"/r/") || res.StatusCode != 302 || res.Header.Get("Location") != shopURL+"/#/orders/"+orderID {
		t.Errorf("button %q → %d %q; want a signed link to %s/#/orders/%s", button, res.StatusCode, res.Header.Get("Location"), shopURL, orderID)
	}
	if strings.Contains(sent.Text, "http") && !strings.Contains(sent.Text, shopURL+"/r/") {
		t.Errorf("telegram text shows an unsigned link: %s", sent.Text)
	}
}

// resolve is where a link in a message leads: a signed link is followed
// (it must answer 302), any other is itself.
func resolve(t *testing.T, shop *shoptest.Shop, link string) string {
	t.Helper()
	if !strings.HasPrefix(link, shopURL+"/r/") {
		return link
	}
	res := follow(t, shop, "GET", link, nil)
	if res.StatusCode != 302 {
		t.Fatalf("GET %s = %d; want 302", link, res.StatusCode)
	}
	return res.Header.Get("Location")
}

// linksTo reports whether an HTML document has a link leading to want.
func linksTo(t *testing.T, shop *shoptest.Shop, doc, want string) bool {
	t.Helper()
	for _, h := range hrefs(doc) {
		if resolve(t, shop, h) == want {
			return true
		}
	}
	return false
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// regexp1 is the first group of re's first match in s, or "".
func regexp1(re, s string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}
