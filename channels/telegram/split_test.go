package telegram

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/pbnotify/pbnotify/channels/telegram/telegramtest"
)

func TestSplit(t *testing.T) {
	const href = `<a href="https://example.com/?a=1&amp;b=2">`
	const spoiler = `<span class="tg-spoiler">`
	const emoji = `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`
	tests := []struct {
		name  string
		html  string
		limit int
		want  []string
	}{
		{"empty", "", 10, nil},
		{"blank", " \n\t ", 10, nil},
		{"fits unchanged", "<b>hi</b> &amp; <i>you</i>", 100, []string{"<b>hi</b> &amp; <i>you</i>"}},
		{"fits unchanged even if malformed", "a < b", 10, []string{"a < b"}},
		{"no limit", "abcdef", 0, []string{"abcdef"}},
		{"word boundary", "aaa bbb ccc", 8, []string{"aaa bbb ", "ccc"}},
		{"paragraph before word", "first para.\n\nsecond one here", 20, []string{"first para.\n\n", "second one here"}},
		{"early paragraph ignored", "ab\n\ncdefgh ijklmnop qr", 16, []string{"ab\n\ncdefgh ", "ijklmnop qr"}},
		{"line boundary", "line one\nline two\nline three", 20, []string{"line one\nline two\n", "line three"}},
		{"blank lines dropped", "aaaa\n\n\n\n\n\nbbbb", 4, []string{"aaaa", "bbbb"}},
		{"nested tags closed and reopened", "<b>bold <i>both words</i> tail</b>", 10,
			[]string{"<b>bold <i>both </i></b>", "<b><i>words</i> tail</b>"}},
		{"link straddles the limit", href + "click here now</a>", 11,
			[]string{href + "click here </a>", href + "now</a>"}},
		{"spoiler keeps its class", spoiler + "secret words</span>", 7,
			[]string{spoiler + "secret </span>", spoiler + "words</span>"}},
		{"pre with language reopened", "<pre><code class=\"language-go\">line1\nline2\nline3</code></pre>", 12,
			[]string{"<pre><code class=\"language-go\">line1\nline2\n</code></pre>", "<pre><code class=\"language-go\">line3</code></pre>"}},
		{"entities count as one character", "a &amp; b &lt; c", 5, []string{"a &amp; ", "b &lt; c"}},
		{"entities are never cut", "&amp;&amp;&amp;&amp;&#128512;", 3, []string{"&amp;&amp;&amp;", "&amp;&#128512;"}},
		{"word longer than the limit", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"long word inside a tag", "<b>abcdefghij</b>", 4, []string{"<b>abcd</b>", "<b>efgh</b>", "<b>ij</b>"}},
		{"opening tag moves to the next part", "aaaaa<b>bbb</b>", 5, []string{"aaaaa", "<b>bbb</b>"}},
		{"closing tag stays with its text", "<b>aaaa</b> bbb", 4, []string{"<b>aaaa</b>", " bbb"}},
		{"cyrillic", "привет мир", 7, []string{"привет ", "мир"}},
		{"cyrillic sentence", "Съешь же ещё этих мягких французских булок", 20,
			[]string{"Съешь же ещё этих ", "мягких французских ", "булок"}},
		{"emoji count as two UTF-16 units", "😀😀😀", 3, []string{"😀", "😀", "😀"}},
		{"combining mark stays with its letter", "cafe\u0301s", 4, []string{"caf", "e\u0301s"}},
		{"zwj sequence split only when it must", "ab👨\u200d👩\u200d👧", 6, []string{"ab", "👨\u200d👩\u200d", "👧"}},
		{"tg-emoji is atomic", "ab" + emoji + "cd", 3, []string{"ab", emoji + "c", "d"}},
		{"tg-emoji wider than the limit", emoji + "x", 1, []string{emoji, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.html, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Split(%q, %d) = %q; want %q", tt.html, tt.limit, got, tt.want)
			}
		})
	}
}

// TestSplitProperties splits generated messages at several limits and
// checks every part against the fake API's HTML parser, which shares no
// code with Split.
func TestSplitProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		html := randomHTML(rng, 20+rng.IntN(200))
		for _, limit := range []int{5, 11, 40, 150, MaxMessageLength} {
			checkSplit(t, fmt.Sprintf("case %d", i), html, limit)
		}
	}
}

// checkSplit asserts the invariants of Split for a valid HTML input: every
// part is valid HTML, not blank, within limit, and the parts' text adds up
// to the original text (up to whitespace, since blank parts are dropped).
func checkSplit(t *testing.T, name, html string, limit int) {
	t.Helper()
	want, err := telegramtest.PlainText(html)
	if err != nil {
		t.Fatalf("%s: the test input is not valid Telegram HTML: %v\n%q", name, err, html)
	}
	parts := Split(html, limit)
	var got strings.Builder
	for _, p := range parts {
		plain, err := telegramtest.PlainText(p)
		if err != nil {
			t.Fatalf("%s: Split(%q, %d) part %q is invalid: %v", name, html, limit, p, err)
		}
		if n := telegramtest.Length(plain); n > limit && !strings.Contains(p, "<tg-emoji") {
			t.Fatalf("%s: Split(%q, %d) part %q is %d long", name, html, limit, p, n)
		}
		if strings.TrimSpace(plain) == "" {
			t.Fatalf("%s: Split(%q, %d) has a blank part %q", name, html, limit, p)
		}
		got.WriteString(plain)
	}
	if withoutSpace(got.String()) != withoutSpace(want) {
		t.Fatalf("%s: Split(%q, %d) = %q; its text %q differs from %q", name, html, limit, parts, got.String(), want)
	}
}

func withoutSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// randomHTML builds valid Telegram HTML with nested tags, entities,
// multi-byte text and all kinds of boundaries.
func randomHTML(rng *rand.Rand, pieces int) string {
	words := []string{"order", "заказ", "доставлен", "ok", "😀", "e\u0301", "&amp;", "&lt;b&gt;", "&quot;x&quot;",
		"&#128512;", "a-very-long-word-without-any-space-in-it", "日本語"}
	seps := []string{" ", " ", " ", "\n", "\n\n", "  "}
	tags := []struct{ open, close string }{
		{"<b>", "</b>"}, {"<i>", "</i>"}, {"<u>", "</u>"}, {"<s>", "</s>"},
		{`<a href="https://example.com/p?x=1&amp;y=2">`, "</a>"},
		{`<span class="tg-spoiler">`, "</span>"}, {"<tg-spoiler>", "</tg-spoiler>"},
		{"<code>", "</code>"}, {"<blockquote>", "</blockquote>"},
	}
	var b strings.Builder
	var open []string
	for range pieces {
		switch n := rng.IntN(10); {
		case n < 2 && len(open) < 4:
			tag := tags[rng.IntN(len(tags))]
			b.WriteString(tag.open)
			open = append(open, tag.close)
		case n < 4 && len(open) > 0:
			b.WriteString(open[len(open)-1])
			open = open[:len(open)-1]
		case n == 4 && len(open) == 0:
			b.WriteString(`<tg-emoji emoji-id="1">👍</tg-emoji>`)
		default:
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
	}
	for i := len(open) - 1; i >= 0; i-- {
		b.WriteString(open[i])
	}
	return b.String()
}

func FuzzSplit(f *testing.F) {
	for _, seed := range []string{
		"<b>bold <i>both words</i> tail</b>",
		`<a href="https://e.com/?a&amp;b">click here now</a> &amp; more`,
		"привет мир\n\nвторой абзац",
		`<pre><code class="language-go">x := 1</code></pre>`,
		`ab<tg-emoji emoji-id="1">👍</tg-emoji>cd`,
		"a < b && c",
		"<b>unclosed",
	} {
		f.Add(seed, 7)
	}
	f.Fuzz(func(t *testing.T, html string, limit int) {
		limit = 2 + int(uint(limit)%60)
		Split(html, limit) // must not panic or loop on any input
		if _, err := telegramtest.PlainText(html); err != nil || strings.Contains(html, "<tg-emoji") {
			return
		}
		checkSplit(t, "fuzz", html, limit)
	})
}

func ExampleSplit() {
	parts := Split(`<b>Your order <a href="https://shop.example/o/42">#42</a> has shipped</b>`, 20)
	for _, p := range parts {
		fmt.Println(p)
	}
	// Output:
	// <b>Your order <a href="https://shop.example/o/42">#42</a> has </b>
	// <b>shipped</b>
}
