package tracking

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels"
)

func signer(t *testing.T, key byte) *Signer {
	t.Helper()
	s, err := NewSigner(bytes.Repeat([]byte{key}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenRoundTrip(t *testing.T) {
	s := signer(t, 1)
	for _, tok := range []Token{
		{Kind: KindClick, Message: "abcdefghijklmno", Link: 0},
		{Kind: KindClick, Message: "abcdefghijklmno", Link: MaxLinks - 1},
		{Kind: KindOpen, Message: "abcdefghijklmno"},
		{Kind: KindUnsubscribe, Message: "x"},
	} {
		str := s.Sign(tok)
		got, err := s.Parse(str)
		if err != nil || got != tok {
			t.Errorf("Parse(Sign(%+v)) = %+v, %v; want it back", tok, got, err)
		}
		if len(str) > 40 {
			t.Errorf("Sign(%+v) = %q: %d characters; want a short token", tok, str, len(str))
		}
	}
}

func TestTokenRefusesWhatTheShopDidNotSign(t *testing.T) {
	s := signer(t, 1)
	good := s.Sign(Token{Kind: KindClick, Message: "abcdefghijklmno", Link: 2})
	raw, _ := base64.RawURLEncoding.DecodeString(good)

	cases := map[string]string{
		"empty":          "",
		"not base64":     "!!!!",
		"too short":      "YWJj",
		"huge":           strings.Repeat("A", 10000),
		"foreign key":    signer(t, 2).Sign(Token{Kind: KindClick, Message: "abcdefghijklmno", Link: 2}),
		"padding added":  good + "=",
		"unsigned click": base64.RawURLEncoding.EncodeToString(append([]byte{'c', 15}, "abcdefghijklmno\x02"...)),
	}
	// Every single altered byte: another link, another message, another
	// kind, a broken MAC.
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		cases[fmt.Sprintf("byte %d altered", i)] = base64.RawURLEncoding.EncodeToString(b)
	}
	// A click token's MAC does not make an unsubscribe token.
	b := bytes.Clone(raw)
	b[0] = byte(KindUnsubscribe)
	cases["kind swapped"] = base64.RawURLEncoding.EncodeToString(b)

	for name, tok := range cases {
		if got, err := s.Parse(tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse(%q) = %+v, %v; want ErrInvalid", name, tok, got, err)
		}
	}
}

func newTracker(t *testing.T) *Tracker {
	return &Tracker{Signer: signer(t, 1), Base: "https://shop.example.org", Message: "msg123"}
}

// original follows a signed link back to its address, as /r/ does.
func original(t *testing.T, tr *Tracker, link string) string {
	t.Helper()
	tok, ok := strings.CutPrefix(link, tr.Base+RedirectPath)
	if !ok {
		t.Fatalf("%q is not a signed link", link)
	}
	parsed, err := tr.Signer.Parse(tok)
	if err != nil || parsed.Kind != KindClick || parsed.Message != tr.Message {
		t.Fatalf("Parse(%q) = %+v, %v", tok, parsed, err)
	}
	return tr.Links()[parsed.Link]
}

func TestRewriteEmail(t *testing.T) {
	tr := newTracker(t)
	m := &channels.Message{
		HTML: `<html><head><link rel="stylesheet" href="https://cdn.example.org/a.css"></head><body>` +
			`<a class="btn" href="https://track.example.org/x?a=1&amp;b=2">Track</a> ` +
			`<A HREF='https://shop.example.org/#/orders/1'>Order</A> <a href="mailto:shop@example.org">mail</a> ` +
			`<img src="https://cdn.example.org/logo.png"> <a href="https://track.example.org/x?a=1&amp;b=2">again</a></body></html>`,
		Text: "Track it: https://track.example.org/x?a=1&b=2.\nOrder (https://shop.example.org/#/orders/1), mail shop@example.org",
	}
	tr.Rewrite(m, channels.Email)

	for _, kept := range []string{`href="https://cdn.example.org/a.css"`, `src="https://cdn.example.org/logo.png"`, `href="mailto:shop@example.org"`} {
		if !strings.Contains(m.HTML, kept) {
			t.Errorf("HTML lost %s:\n%s", kept, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "track.example.org") || strings.Contains(m.HTML, "#/orders") || strings.Contains(m.Text, "track.example.org") {
		t.Errorf("an original address is still shown:\n%s\n%s", m.HTML, m.Text)
	}
	want := []string{"https://track.example.org/x?a=1&b=2", "https://shop.example.org/#/orders/1"}
	if fmt.Sprint(tr.Links()) != fmt.Sprint(want) {
		t.Errorf("Links() = %q; want %q (the same address twice is one link; HTML entities unescaped)", tr.Links(), want)
	}
	// The text's trailing period and parenthesis stay the sentence's.
	if !strings.Contains(m.Text, ".\nOrder (") || !strings.HasSuffix(strings.SplitN(m.Text, "\n", 2)[1], "), mail shop@example.org") {
		t.Errorf("punctuation around text links changed:\n%s", m.Text)
	}
	for _, f := range strings.Fields(strings.NewReplacer("(", " ", ")", " ", ",", " ", `"`, " ").Replace(m.Text)) {
		if strings.HasPrefix(f, tr.Base+RedirectPath) {
			u := original(t, tr, strings.TrimSuffix(f, "."))
			if u != want[0] && u != want[1] {
				t.Errorf("text link %q leads to %q", f, u)
			}
		}
	}
}

func TestRewriteTelegramAndPush(t *testing.T) {
	tr := newTracker(t)
	m := &channels.Message{
		Telegram: `<b>Shipped</b> <a href="https://track.example.org/1?x=1&amp;y=2">track</a> or https://track.example.org/2?x=1&amp;y=2`,
		Buttons:  []channels.Button{{Text: "Open", URL: "https://shop.example.org/#/orders/1"}},
		PushURL:  "https://shop.example.org/#/orders/1",
	}
	tr.Rewrite(m, channels.Telegram)
	if strings.Contains(m.Telegram, "track.example.org") {
		t.Errorf("telegram text keeps an original address: %s", m.Telegram)
	}
	if got := original(t, tr, m.Buttons[0].URL); got != "https://shop.example.org/#/orders/1" {
		t.Errorf("button leads to %q", got)
	}
	if want := []string{"https://track.example.org/1?x=1&y=2", "https://track.example.org/2?x=1&y=2", "https://shop.example.org/#/orders/1"}; fmt.Sprint(tr.Links()) != fmt.Sprint(want) {
		t.Errorf("Links() = %q; want %q", tr.Links(), want)
	}

	for _, ch := range []string{channels.WebPush, channels.Inbox} {
		tr := newTracker(t)
		m := &channels.Message{PushURL: "https://shop.example.org/#/orders/1", PushBody: "see https://x.example.org"}
		tr.Rewrite(m, ch)
		if got := original(t, tr, m.PushURL); got != "https://shop.example.org/#/orders/1" {
			t.Errorf("%s url leads to %q", ch, got)
		}
	}
	for _, ch := range []string{"sms", "webhook"} {
		tr := newTracker(t)
		m := &channels.Message{PushURL: "https://shop.example.org/#/orders/1", SMS: "https://x.example.org", Text: "https://x.example.org"}
		tr.Rewrite(m, ch)
		if m.PushURL != "https://shop.example.org/#/orders/1" || m.SMS != "https://x.example.org" || m.Text != "https://x.example.org" || len(tr.Links()) != 0 {
			t.Errorf("%s: rewritten %+v; want it left alone", ch, m)
		}
	}
}

func TestRewriteLeavesTheShopsOwnSignedAddresses(t *testing.T) {
	tr := newTracker(t)
	m := &channels.Message{Text: "x"}
	tr.AddUnsubscribe(m, "ru")
	unsub := tr.UnsubscribeURL()
	tr.Rewrite(m, channels.Email)
	if !strings.Contains(m.Text, unsub) || len(tr.Links()) != 0 {
		t.Errorf("the unsubscribe address was rewritten: %q, links %q", m.Text, tr.Links())
	}
	if !strings.Contains(m.Text, "Отписаться") {
		t.Errorf("footer not in the customer's language: %q", m.Text)
	}
	if m.Headers["List-Unsubscribe"] != "<"+unsub+">" || m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("headers = %v", m.Headers)
	}
}

func TestRewriteCapsLinks(t *testing.T) {
	tr := newTracker(t)
	var b strings.Builder
	for i := range MaxLinks + 5 {
		fmt.Fprintf(&b, "https://x.example.org/%d\n", i)
	}
	m := &channels.Message{Text: b.String()}
	tr.Rewrite(m, channels.Email)
	if len(tr.Links()) != MaxLinks || !strings.Contains(m.Text, fmt.Sprintf("https://x.example.org/%d\n", MaxLinks)) {
		t.Errorf("%d links signed; want %d, the rest left as they are", len(tr.Links()), MaxLinks)
	}
}

func TestOpenPixelGoesInsideTheBody(t *testing.T) {
	tr := newTracker(t)
	got := tr.AddOpenPixel("<html><body><p>Hi</p></BODY></html>")
	if !strings.Contains(got, `<p>Hi</p><img src="`+tr.OpenURL()+`"`) || !strings.HasSuffix(got, "</BODY></html>") {
		t.Errorf("AddOpenPixel = %q", got)
	}
}

func TestPickIsStickyAndWeighted(t *testing.T) {
	counts := make([]int, 3)
	for i := range 3000 {
		sticky := fmt.Sprintf("user%d\x00promo", i)
		v := Pick([]float64{1, 1, 2}, sticky)
		if again := Pick([]float64{1, 1, 2}, sticky); again != v {
			t.Fatalf("Pick(%q) = %d, then %d; want the same", sticky, v, again)
		}
		counts[v]++
	}
	// Expected 750, 750, 1500; the hash is fixed, so these bounds cannot flake.
	if counts[0] < 600 || counts[0] > 900 || counts[1] < 600 || counts[1] > 900 || counts[2] < 1300 || counts[2] > 1700 {
		t.Errorf("counts = %v; want about 750, 750, 1500", counts)
	}
	if Pick([]float64{0, 0}, "a") > 1 || Pick(nil, "a") != 0 {
		t.Errorf("Pick with no weights")
	}
}
