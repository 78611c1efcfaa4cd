package sms

import (
	"strings"
	"unicode/utf16"
)

// Encodings reported by Segments.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Segment sizes. A message that does not fit one SMS is sent as parts, each
// of which gives 7 septets (GSM-7) or 3 code units (UCS-2) to the
// concatenation header, so parts carry less than a single SMS.
const (
	GSM7Single = 160 // septets in a single GSM-7 SMS
	GSM7Part   = 153 // septets in one part of a long GSM-7 SMS
	UCS2Single = 70  // UTF-16 code units in a single UCS-2 SMS
	UCS2Part   = 67  // UTF-16 code units in one part of a long UCS-2 SMS
)

// gsm7Basic is the GSM 03.38 default alphabet (one septet each), in table
// order; the escape code 0x1B is left out.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension is the GSM 03.38 extension table: each is sent as the escape
// septet plus one, so it counts 2.
const gsm7Extension = "\f^{}\\[~]|€"

// Segments reports how text travels as SMS: the encoding (GSM7 when every
// character is in the GSM 03.38 alphabet, else UCS2) and the number of SMS
// it is billed as (0 for an empty text).
//
// GSM-7 counts septets (extension characters such as "€" and "{" count 2),
// UCS-2 counts UTF-16 code units (an emoji counts 2). Up to 160 septets or
// 70 units is one SMS; longer texts are split into parts of 153 or 67. As
// phones and providers do, a part never splits an extension character or a
// surrogate pair, so such a character at a boundary starts the next part.
func Segments(text string) (encoding string, count int) {
	widths := make([]int, 0, len(text))
	encoding = GSM7
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			widths = append(widths, 1)
		case strings.ContainsRune(gsm7Extension, r):
			widths = append(widths, 2)
		default:
			encoding = UCS2
		}
		if encoding == UCS2 {
			break
		}
	}
	single, part := GSM7Single, GSM7Part
	if encoding == UCS2 {
		single, part = UCS2Single, UCS2Part
		widths = widths[:0]
		for _, r := range text {
			widths = append(widths, utf16.RuneLen(r))
		}
	}
	total := 0
	for _, w := range widths {
		total += w
	}
	switch {
	case total == 0:
		return encoding, 0
	case total <= single:
		return encoding, 1
	}
	count, used := 1, 0
	for _, w := range widths {
		if used+w > part {
			count, used = count+1, 0
		}
		used += w
	}
	return encoding, count
}
