package sms

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		encoding string // want
		count    int    // want
	}{
		{"empty", "", GSM7, 0},
		{"short latin", "Your order 1001 has shipped", GSM7, 1},
		{"160 GSM-7 is one SMS", strings.Repeat("a", 160), GSM7, 1},
		{"161 GSM-7 is two parts", strings.Repeat("a", 161), GSM7, 2},
		{"306 GSM-7 is two parts", strings.Repeat("a", 306), GSM7, 2},
		{"307 GSM-7 is three parts", strings.Repeat("a", 307), GSM7, 3},
		{"GSM-7 accents and Greek", "Ça coûte 5€? ΔΩ äöüß @£$¥", UCS2, 1}, // û is not in GSM-7
		{"GSM-7 accents and Greek only", "Ça va? ΔΩ äöüß @£$¥ èéùìò", GSM7, 1},
		{"euro counts 2", strings.Repeat("€", 80), GSM7, 1},
		{"euro over 160 septets", strings.Repeat("€", 81), GSM7, 2},
		{"brace counts 2", strings.Repeat("{", 80) + "a", GSM7, 2},
		{"extension never split across parts", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), GSM7, 3}, // 306 septets, but € cannot straddle,
		{"backquote is not GSM-7", "`code`", UCS2, 1},
		{"russian is UCS-2", "Ваш заказ №1001 отправлен", UCS2, 1},
		{"70 russian is one SMS", strings.Repeat("я", 70), UCS2, 1},
		{"71 russian is two parts", strings.Repeat("я", 71), UCS2, 2},
		{"134 russian is two parts", strings.Repeat("я", 134), UCS2, 2},
		{"135 russian is three parts", strings.Repeat("я", 135), UCS2, 3},
		{"emoji is 2 code units", strings.Repeat("😀", 35), UCS2, 1},
		{"36 emoji overflow", strings.Repeat("😀", 36), UCS2, 2},
		{"surrogate pair never split across parts", strings.Repeat("я", 66) + "😀" + strings.Repeat("я", 66), UCS2, 3}, // 134 units, but 😀 cannot straddle,
		{"one emoji makes latin UCS-2", strings.Repeat("a", 69) + "😀", UCS2, 2},
	}
	for _, tt := range tests {
		encoding, count := Segments(tt.text)
		if encoding != tt.encoding || count != tt.count {
			t.Errorf("%s: Segments(%q) = %q, %d; want %q, %d", tt.name, tt.text, encoding, count, tt.encoding, tt.count)
		}
	}
}
