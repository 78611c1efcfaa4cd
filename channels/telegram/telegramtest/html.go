package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This is an independent re-implementation of Telegram's parse_mode=HTML
// rules, deliberately sharing no code with package telegram: a test oracle
// that reused Split's tokenizer would agree with Split's bugs.

// supportedTags are the tags Telegram accepts in parse_mode=HTML.
var supportedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true,
	"a": true, "code": true, "pre": true, "blockquote": true, "tg-emoji": true,
}

// PlainText parses text the way Telegram parses parse_mode=HTML and returns
// the visible text (tags removed, entities decoded, not trimmed). The error
// reads like the part of Telegram's "can't parse entities: ..." message
// after the colon.
//
// Rules enforced: only Telegram's tags; every tag closed, in order;
// <span> needs class="tg-spoiler", <a> needs href, <tg-emoji> needs
// emoji-id; a '<' must start a tag. Entities: &lt; &gt; &amp; &quot; and
// numeric ones; any other '&' is literal text, as in Telegram.
func PlainText(text string) (string, error) {
	var plain strings.Builder
	var open []string
	for i := 0; i < len(text); {
		switch text[i] {
		case '&':
			decoded, n := decodeEntity(text[i:])
			plain.WriteString(decoded)
			i += n
		case '<':
			n, err := parseTag(text, i, &open)
			if err != nil {
				return "", err
			}
			i += n
		default:
			r, n := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n == 1 {
				return "", fmt.Errorf("strings must be encoded in UTF-8")
			}
			plain.WriteString(text[i : i+n])
			i += n
		}
	}
	if len(open) > 0 {
		return "", fmt.Errorf("Can't find end tag corresponding to start tag %q", open[len(open)-1])
	}
	return plain.String(), nil
}

// parseTag reads the tag starting at text[at] and updates the open tags.
func parseTag(text string, at int, open *[]string) (int, error) {
	s := text[at:]
	end := tagEnd(s)
	if end < 0 {
		return 0, fmt.Errorf("Unclosed start tag at byte offset %d", at)
	}
	inner := s[1:end]
	if strings.HasPrefix(inner, "/") {
		name := strings.ToLower(strings.TrimRight(inner[1:], " \t\n\r"))
		if len(*open) == 0 {
			return 0, fmt.Errorf("Unexpected end tag at byte offset %d", at)
		}
		if top := (*open)[len(*open)-1]; top != name {
			return 0, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", at, top, name)
		}
		*open = (*open)[:len(*open)-1]
		return end + 1, nil
	}
	nameEnd := strings.IndexAny(inner, " \t\n\r/")
	if nameEnd < 0 {
		nameEnd = len(inner)
	}
	name := strings.ToLower(inner[:nameEnd])
	if !supportedTags[name] {
		return 0, fmt.Errorf("Unsupported start tag %q at byte offset %d", name, at)
	}
	attrs, err := parseAttrs(inner[nameEnd:])
	if err != nil {
		return 0, fmt.Errorf("%v in tag %q at byte offset %d", err, name, at)
	}
	switch {
	case name == "span" && attrs["class"] != "tg-spoiler":
		return 0, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", at)
	case name == "a" && attrs["href"] == "":
		return 0, fmt.Errorf("Tag \"a\" must have attribute \"href\" at byte offset %d", at)
	case name == "tg-emoji" && attrs["emoji-id"] == "":
		return 0, fmt.Errorf("Tag \"tg-emoji\" must have attribute \"emoji-id\" at byte offset %d", at)
	}
	*open = append(*open, name)
	return end + 1, nil
}

// tagEnd returns the index of the '>' closing the tag at the start of s,
// skipping quoted attribute values, or -1.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		case c == '<':
			return -1
		}
	}
	return -1
}

// parseAttrs reads name="value" name='value' name=value and bare names.
func parseAttrs(s string) (map[string]string, error) {
	attrs := map[string]string{}
	s = strings.TrimSpace(s)
	for s != "" {
		if s == "/" {
			return nil, fmt.Errorf("self-closing tags are not supported")
		}
		i := strings.IndexAny(s, "= \t\n\r")
		if i < 0 {
			attrs[strings.ToLower(s)] = ""
			break
		}
		name := strings.ToLower(s[:i])
		s = strings.TrimLeft(s[i:], " \t\n\r")
		if !strings.HasPrefix(s, "=") {
			attrs[name] = ""
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\n\r")
		var value string
		if s != "" && (s[0] == '"' || s[0] == '\'') {
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, fmt.Errorf("unclosed attribute value")
			}
			value, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexAny(s, " \t\n\r")
			if end < 0 {
				end = len(s)
			}
			value, s = s[:end], s[end:]
		}
		decoded, _ := decodeAllEntities(value)
		attrs[name] = decoded
		s = strings.TrimSpace(s)
	}
	return attrs, nil
}

// decodeEntity decodes the entity at the start of s (which starts with '&').
// Unknown or malformed entities decode to a literal '&'.
func decodeEntity(s string) (decoded string, n int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 32 {
		return "&", 1
	}
	name := s[1:end]
	switch name {
	case "lt":
		return "<", end + 1
	case "gt":
		return ">", end + 1
	case "amp":
		return "&", end + 1
	case "quot":
		return `"`, end + 1
	}
	if strings.HasPrefix(name, "#") {
		var code uint64
		var err error
		if strings.HasPrefix(name, "#x") || strings.HasPrefix(name, "#X") {
			code, err = strconv.ParseUint(name[2:], 16, 32)
		} else {
			code, err = strconv.ParseUint(name[1:], 10, 32)
		}
		if err == nil && code > 0 && code <= utf8.MaxRune {
			return string(rune(code)), end + 1
		}
	}
	return "&", 1
}

func decodeAllEntities(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '&' {
			d, n := decodeEntity(s[i:])
			b.WriteString(d)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), nil
}

// Length counts text the way Telegram counts message length: in UTF-16
// code units.
func Length(text string) int {
	n := 0
	for _, r := range text {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}
