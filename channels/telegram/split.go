package telegram

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxMessageLength is Telegram's limit for one message's text, counted after
// the HTML has been parsed (tags removed, entities decoded).
const MaxMessageLength = 4096

// Split cuts a message in Telegram's HTML subset into parts whose visible
// text is at most limit long, so each part can go out as its own message.
//
// Length is the visible text (tags removed, &amp; counted as one character)
// measured in UTF-16 code units, the unit Telegram uses for message entities.
// That is never less than the number of runes, so it is safe whichever of the
// two Telegram applies.
//
// A cut goes after a blank line if there is one in the second half of the
// part, else after a line break in the second half, else after the last
// space, else wherever the limit falls. The separator stays at the end of the
// earlier part, so the parts' text concatenated is the original text. A cut
// never lands inside a tag, an entity, a surrogate pair or a <tg-emoji>
// element, and avoids splitting a character from the combining marks or
// zero-width joiners that follow it. Tags open at a cut are closed at the end
// of the part and reopened, with their attributes, at the start of the next.
//
// A text that fits is returned unchanged. Parts whose text is only whitespace
// are dropped, because Telegram rejects empty messages; so Split returns nil
// for a blank text. A limit of zero or less means no limit.
func Split(html string, limit int) []string {
	toks := tokenize(html)
	total := 0
	for _, t := range toks {
		total += t.width
	}
	if isBlank(toks) {
		return nil
	}
	if limit <= 0 || total <= limit {
		return []string{html}
	}

	noCut := emojiInterior(toks)
	var parts []string
	var open []token // tags open at the start of the next part
	for start := 0; start < len(toks); {
		end, width := start, 0
		for end < len(toks) && width+toks[end].width <= limit {
			width += toks[end].width
			end++
		}
		cut := len(toks)
		if end < len(toks) {
			cut = chooseCut(toks, noCut, start, end, width, limit)
		}
		var part string
		part, open = render(toks[start:cut], open)
		if !isBlank(toks[start:cut]) {
			parts = append(parts, part)
		}
		start = cut
	}
	return parts
}

type tokenKind uint8

const (
	tokText   tokenKind = iota // one rune of text
	tokEntity                  // an HTML entity such as &amp;, never split
	tokOpen                    // <b>, <a href="...">
	tokClose                   // </b>
	tokVoid                    // <br/>: no content, nothing to close
)

type token struct {
	kind  tokenKind
	raw   string // the exact source text, written back unchanged
	name  string // lower-case tag name for tag tokens
	r     rune   // the rune of a text token
	width int    // visible length in UTF-16 code units
}

// tokenize splits s into text runes, entities and tags. It is lenient: a '<'
// or '&' that does not start a tag or an entity is plain text, which is what
// Telegram itself does with a bare '&' (a bare '<' it rejects, but that is
// the renderer's bug to fix, not something Split should hide).
func tokenize(s string) []token {
	toks := make([]token, 0, len(s))
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if t, n := scanTag(s[i:]); n > 0 {
				toks = append(toks, t)
				i += n
				continue
			}
		case '&':
			if n := scanEntity(s[i:]); n > 0 {
				raw := s[i : i+n]
				toks = append(toks, token{kind: tokEntity, raw: raw, width: utf16Len(decodeEntity(raw))})
				i += n
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		toks = append(toks, token{kind: tokText, raw: s[i : i+n], r: r, width: utf16.RuneLen(r)})
		i += n
	}
	for i := range toks {
		if toks[i].kind == tokText && toks[i].width < 1 {
			toks[i].width = 1 // invalid UTF-8 byte: Telegram will complain, count it anyway
		}
	}
	return toks
}

// scanTag reads a tag at the start of s and returns it with its length, or
// n == 0 if s does not start with a well-formed tag. Quoted attribute values
// may contain '>'.
func scanTag(s string) (t token, n int) {
	i := 1
	kind := tokOpen
	if i < len(s) && s[i] == '/' {
		kind = tokClose
		i++
	}
	nameStart := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == nameStart || !isLetter(s[nameStart]) {
		return token{}, 0
	}
	name := strings.ToLower(s[nameStart:i])
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			raw := s[:i+1]
			if kind == tokOpen && strings.HasSuffix(raw, "/>") {
				kind = tokVoid
			}
			return token{kind: kind, raw: raw, name: name}, i + 1
		}
	}
	return token{}, 0
}

// scanEntity returns the length of the entity (&name; &#123; &#x1F600;) at
// the start of s, or 0 if there is none.
func scanEntity(s string) int {
	const maxLen = 32
	for i := 1; i < len(s) && i < maxLen; i++ {
		c := s[i]
		switch {
		case c == ';':
			if i == 1 {
				return 0
			}
			return i + 1
		case c == '#' && i == 1, isLetter(c), c >= '0' && c <= '9':
		default:
			return 0
		}
	}
	return 0
}

// decodeEntity decodes an entity the way Telegram does: &lt; &gt; &amp;
// &quot; and numeric entities; any other name (even &nbsp;) stays literal
// text, so it counts with its full length.
func decodeEntity(raw string) string {
	name := raw[1 : len(raw)-1]
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	}
	if strings.HasPrefix(name, "#") {
		digits, base := name[1:], 10
		if strings.HasPrefix(digits, "x") || strings.HasPrefix(digits, "X") {
			digits, base = digits[1:], 16
		}
		if code, err := strconv.ParseUint(digits, base, 32); err == nil && code > 0 && code <= unicode.MaxRune {
			return string(rune(code))
		}
	}
	return raw
}

func isLetter(c byte) bool   { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isNameByte(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c == '-' }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// emojiInterior marks cut positions (0..len(toks)) that fall inside a
// <tg-emoji> element: its content must stay a single emoji.
func emojiInterior(toks []token) []bool {
	inside := make([]bool, len(toks)+1)
	depth := 0
	for i, t := range toks {
		inside[i] = depth > 0
		if t.name == "tg-emoji" {
			switch t.kind {
			case tokOpen:
				depth++
			case tokClose:
				depth = max(depth-1, 0)
			}
		}
	}
	inside[len(toks)] = depth > 0
	return inside
}

// chooseCut picks where the part starting at start ends (exclusive). end is
// the furthest cut that keeps the part within limit and width the part's
// width up to end; end < len(toks).
func chooseCut(toks []token, noCut []bool, start, end, width, limit int) int {
	// widths[i-start] is the visible width of toks[start:i].
	widths := make([]int, end-start+1)
	widths[end-start] = width
	for i := end; i > start; i-- {
		widths[i-1-start] = widths[i-start] - toks[i-1].width
	}
	half := (limit + 1) / 2
	isRune := func(i int, r rune) bool { return i >= start && toks[i].kind == tokText && toks[i].r == r }
	after := []func(i int) bool{
		// After a blank line, in the second half.
		func(i int) bool { return isRune(i-1, '\n') && isRune(i-2, '\n') && widths[i-start] >= half },
		// After a line break, in the second half.
		func(i int) bool { return isRune(i-1, '\n') && widths[i-start] >= half },
		// After any space.
		func(i int) bool { return toks[i-1].kind == tokText && unicode.IsSpace(toks[i-1].r) },
		// Anywhere that does not split a character from its modifiers.
		func(i int) bool { return !joinsPrevious(toks, i) },
		// Anywhere at all: a broken emoji sequence beats a rejected message.
		func(int) bool { return true },
	}
	for _, ok := range after {
		for i := end; i > start; i-- {
			if widths[i-start] > 0 && !noCut[i] && ok(i) {
				return adjustCut(toks, start, i)
			}
		}
	}
	// Nothing fits, e.g. a <tg-emoji> wider than limit: take the smallest
	// part that contains some text, even though it is over the limit.
	for i := end + 1; i <= len(toks); i++ {
		if !noCut[i] {
			return adjustCut(toks, start, i)
		}
	}
	return len(toks)
}

// adjustCut moves opening tags at the end of a part to the next one (so a
// part never ends with an empty <b></b>) and pulls closing tags that follow
// the cut into this part.
func adjustCut(toks []token, start, cut int) int {
	for cut-1 > start && toks[cut-1].kind == tokOpen {
		cut--
	}
	for cut < len(toks) && toks[cut].kind == tokClose {
		cut++
	}
	return cut
}

// joinsPrevious reports whether cutting before toks[i] would separate a
// character from a combining mark, variation selector, skin-tone modifier or
// zero-width joiner sequence that belongs to it.
func joinsPrevious(toks []token, i int) bool {
	const zwj = '\u200d'
	if i <= 0 || i >= len(toks) || toks[i].kind != tokText || toks[i-1].kind != tokText {
		return false
	}
	r := toks[i].r
	return toks[i-1].r == zwj || r == zwj ||
		unicode.In(r, unicode.Mn, unicode.Me) ||
		unicode.Is(unicode.Variation_Selector, r) ||
		(r >= 0x1F3FB && r <= 0x1F3FF)
}

// render writes one part: the tags open before it, its tokens, and closing
// tags for whatever is still open at its end. It returns the tags open at the
// end, which the next part reopens.
func render(toks []token, open []token) (string, []token) {
	var b strings.Builder
	for _, t := range open {
		b.WriteString(t.raw)
	}
	for _, t := range toks {
		b.WriteString(t.raw)
		switch t.kind {
		case tokOpen:
			open = append(open, t)
		case tokClose:
			// Close the innermost matching tag; a stray end tag changes nothing.
			for j := len(open) - 1; j >= 0; j-- {
				if open[j].name == t.name {
					open = open[:j]
					break
				}
			}
		}
	}
	for j := len(open) - 1; j >= 0; j-- {
		b.WriteString("</" + open[j].name + ">")
	}
	return b.String(), open
}

// isBlank reports whether toks have no visible text other than whitespace.
func isBlank(toks []token) bool {
	for _, t := range toks {
		switch t.kind {
		case tokText:
			if !unicode.IsSpace(t.r) {
				return false
			}
		case tokEntity:
			if strings.TrimSpace(decodeEntity(t.raw)) != "" {
				return false
			}
		}
	}
	return true
}
