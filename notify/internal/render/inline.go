package render

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/html"
)

// Inline copies the plain rules of a document's <style> elements into the
// style attribute of every element they select, so that the document
// keeps its look in a mail client that drops <style>. It understands the
// selectors a mail layout needs and no more: a tag (p), a class (.btn), a
// tag with a class (a.btn), and lists of them. Rules inside at-rules
// (@media) stay in <style> only, as do rules with any other selector.
// Declarations already in an element's style attribute win, as they do in
// CSS; among rules the more specific wins, then the later one.
//
// Everything but the rewritten start tags is copied byte for byte.
func Inline(doc string) (string, error) {
	rules := sheetOf(styleBlocks(doc))
	if rules.empty() {
		return doc, nil
	}
	var b strings.Builder
	b.Grow(len(doc) + len(doc)/2)
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return "", fmt.Errorf("inline: %w", err)
			}
			return b.String(), nil
		case html.StartTagToken, html.SelfClosingTagToken:
			raw := string(z.Raw())
			tok := z.Token()
			if style, ok := rules.inlineStyle(&tok); ok {
				b.WriteString(startTag(tok, style, tt == html.SelfClosingTagToken))
				continue
			}
			b.WriteString(raw)
		default:
			b.Write(z.Raw())
		}
	}
}

// cssRule is one selector of a rule with its declarations.
type cssRule struct {
	tag, class string // either may be empty, not both
	decls      []decl
	order      int
}

func (r cssRule) specificity() int {
	s := 0
	if r.class != "" {
		s += 10
	}
	if r.tag != "" {
		s++
	}
	return s
}

type decl struct{ prop, value string }

var (
	commentRE  = regexp.MustCompile(`(?s)/\*.*?\*/`)
	selectorRE = regexp.MustCompile(`^([a-z][a-z0-9]*)?(?:\.([A-Za-z_][A-Za-z0-9_-]*))?$`)
)

// styleBlocks returns the text of every <style> element of doc, written
// in lower case as the layout and templates do.
func styleBlocks(doc string) string {
	var b strings.Builder
	lower := doc
	for i := 0; ; {
		start := strings.Index(lower[i:], "<style")
		if start < 0 {
			break
		}
		start += i
		open := strings.IndexByte(lower[start:], '>')
		if open < 0 {
			break
		}
		open += start + 1
		end := strings.Index(lower[open:], "</style")
		if end < 0 {
			break
		}
		b.WriteString(doc[open : open+end])
		b.WriteByte('\n')
		i = open + end
	}
	return b.String()
}

// sheet is a parsed style sheet, its rules indexed by what they select.
type sheet struct {
	byTag, byClass map[string][]cssRule

	// styles remembers inlineStyle's answer per tag, class and own style:
	// an email repeats a few dozen such combinations (every item row is
	// the same), and every email of a shop the same ones. Bounded by
	// stylesMax entries per sheet.
	stylesMu sync.RWMutex
	styles   map[string]inlined
}

// inlined is one answer of inlineStyle.
type inlined struct {
	style string
	ok    bool
}

// stylesMax bounds a sheet's remembered answers: a template's own inline
// styles could otherwise make them grow with every distinct message.
const stylesMax = 4096

func (s *sheet) empty() bool { return len(s.byTag) == 0 && len(s.byClass) == 0 }

// sheets caches parsed style sheets by their text: every email of a shop
// has the same one, so it is parsed once, not per message. Bounded, as
// the text varies only with the shop's colours and templates' own styles.
var (
	sheetsMu sync.RWMutex
	sheets   = map[string]*sheet{}
)

const maxCachedSheets = 32

func sheetOf(css string) *sheet {
	sheetsMu.RLock()
	sh, ok := sheets[css]
	sheetsMu.RUnlock()
	if ok {
		return sh
	}
	sh = &sheet{byTag: map[string][]cssRule{}, byClass: map[string][]cssRule{}}
	for _, r := range parseRules(css) {
		if r.class != "" {
			sh.byClass[r.class] = append(sh.byClass[r.class], r)
		} else {
			sh.byTag[r.tag] = append(sh.byTag[r.tag], r)
		}
	}
	sheetsMu.Lock()
	if len(sheets) >= maxCachedSheets {
		clear(sheets)
	}
	sheets[css] = sh
	sheetsMu.Unlock()
	return sh
}

// parseRules reads the top-level rules of css, skipping at-rules with
// their blocks.
func parseRules(css string) []cssRule {
	css = commentRE.ReplaceAllString(css, "")
	var out []cssRule
	for i := 0; i < len(css); {
		open := strings.IndexByte(css[i:], '{')
		if open < 0 {
			break
		}
		head := strings.TrimSpace(css[i : i+open])
		body, next := block(css, i+open)
		i = next
		if strings.HasPrefix(head, "@") {
			continue
		}
		decls := parseDecls(body)
		for _, sel := range strings.Split(head, ",") {
			m := selectorRE.FindStringSubmatch(strings.TrimSpace(sel))
			if m == nil || (m[1] == "" && m[2] == "") {
				continue
			}
			out = append(out, cssRule{tag: m[1], class: m[2], decls: decls, order: len(out)})
		}
	}
	return out
}

// block returns the text inside the braces that open at css[open] and the
// index after the closing one, nested braces included.
func block(css string, open int) (string, int) {
	depth := 0
	for j := open; j < len(css); j++ {
		switch css[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return css[open+1 : j], j + 1
			}
		}
	}
	return css[open+1:], len(css)
}

func parseDecls(s string) []decl {
	var out []decl
	for _, part := range strings.Split(s, ";") {
		prop, value, ok := strings.Cut(part, ":")
		prop, value = strings.ToLower(strings.TrimSpace(prop)), strings.TrimSpace(value)
		if !ok || prop == "" || value == "" {
			continue
		}
		out = append(out, decl{prop, value})
	}
	return out
}

// inlineStyle merges the rules that select tok with its own style
// attribute; ok is false when no rule selects it.
func (sh *sheet) inlineStyle(tok *html.Token) (string, bool) {
	var class, own string
	for _, a := range tok.Attr {
		switch a.Key {
		case "class":
			class = a.Val
		case "style":
			own = a.Val
		}
	}
	key := tok.Data + "\x00" + class + "\x00" + own
	sh.stylesMu.RLock()
	got, hit := sh.styles[key]
	sh.stylesMu.RUnlock()
	if hit {
		return got.style, got.ok
	}
	style, ok := sh.computeStyle(tok.Data, strings.Fields(class), own)
	sh.stylesMu.Lock()
	if sh.styles == nil {
		sh.styles = map[string]inlined{}
	}
	if len(sh.styles) < stylesMax {
		sh.styles[key] = inlined{style, ok}
	}
	sh.stylesMu.Unlock()
	return style, ok
}

// computeStyle is inlineStyle's answer for an element of tag with classes
// and its own style attribute.
func (sh *sheet) computeStyle(tag string, classes []string, own string) (string, bool) {
	match := slices.Clone(sh.byTag[tag])
	for _, c := range classes {
		for _, r := range sh.byClass[c] {
			if r.tag == "" || r.tag == tag {
				match = append(match, r)
			}
		}
	}
	if len(match) == 0 {
		return "", false
	}
	slices.SortStableFunc(match, func(a, b cssRule) int {
		if d := a.specificity() - b.specificity(); d != 0 {
			return d
		}
		return a.order - b.order
	})
	var props []string
	values := map[string]string{}
	set := func(ds []decl) {
		for _, d := range ds {
			if _, seen := values[d.prop]; !seen {
				props = append(props, d.prop)
			}
			values[d.prop] = d.value
		}
	}
	for _, r := range match {
		set(r.decls)
	}
	set(parseDecls(own))
	parts := make([]string, len(props))
	for i, p := range props {
		parts[i] = p + ":" + values[p]
	}
	return strings.Join(parts, ";") + ";", true
}

// startTag writes tok back with style as its style attribute.
func startTag(tok html.Token, style string, selfClosing bool) string {
	var b strings.Builder
	b.WriteByte('<')
	b.WriteString(tok.Data)
	replaced := false
	for _, a := range tok.Attr {
		val := a.Val
		if a.Key == "style" {
			val, replaced = style, true
		}
		writeAttr(&b, a.Key, val)
	}
	if !replaced {
		writeAttr(&b, "style", style)
	}
	if selfClosing {
		b.WriteString(" /")
	}
	b.WriteByte('>')
	return b.String()
}

func writeAttr(b *strings.Builder, key, val string) {
	b.WriteByte(' ')
	b.WriteString(key)
	b.WriteString(`="`)
	b.WriteString(html.EscapeString(val))
	b.WriteByte('"')
}
