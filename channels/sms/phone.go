package sms

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Bounds of an E.164 number, counted in digits after the "+".
const (
	// MaxDigits is E.164's limit: country code plus subscriber number.
	MaxDigits = 15
	// MinDigits is the shortest number in use (a few small countries have
	// four-digit subscriber numbers after a three-digit country code).
	MinDigits = 7
)

// russianDigits is the length of a Russian (and Kazakh) number with its
// country code 7 or its trunk prefix 8: 7 912 345 67 89.
const russianDigits = 11

// Normalize returns phone in E.164 form ("+79123456789").
//
// It accepts what people type into a profile: spaces, dashes, dots and
// parentheses anywhere ("+7 (912) 345-67-89"), a leading "+" with any
// country code ("+44 20 7946 0958"), and, without "+", an 11-digit Russian
// number with the country code 7 or the trunk prefix 8 ("8 912 345 67 89"
// → "+79123456789"). Any other number without "+" is refused rather than
// guessed at: a wrong guess sends the SMS to a stranger in another country.
//
// The error says what is wrong and does not repeat the number, so it can be
// stored beside the message without copying personal data.
func Normalize(phone string) (string, error) {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return "", errors.New("phone number is empty")
	}
	plus := strings.HasPrefix(phone, "+")
	if plus {
		phone = phone[1:]
	}
	digits := make([]byte, 0, len(phone))
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
			// Separators people type; they carry no meaning.
		case unicode.IsLetter(r):
			return "", errors.New("phone number contains letters")
		case r == '+':
			return "", errors.New(`phone number has a "+" that is not at the start`)
		default:
			return "", fmt.Errorf("phone number contains %q, which is not a digit or a separator", r)
		}
	}
	n := len(digits)
	switch {
	case n == 0:
		return "", errors.New("phone number has no digits")
	case !plus && digits[0] == '8' && n != russianDigits:
		return "", fmt.Errorf("phone number starting with 8 has %d digits; a Russian number with the trunk prefix 8 has %d", n, russianDigits)
	case !plus && digits[0] == '8':
		digits[0] = '7' // Russian trunk prefix 8 → country code 7
	case !plus && (digits[0] != '7' || n != russianDigits):
		return "", errors.New(`phone number has no country code: write it with "+" and the country code, e.g. +44 20 7946 0958`)
	}
	switch {
	case digits[0] == '0':
		return "", errors.New("phone number's country code cannot start with 0")
	case digits[0] == '7' && n != russianDigits:
		return "", fmt.Errorf("phone number with country code 7 has %d digits; Russian and Kazakh numbers have %d", n, russianDigits)
	case n < MinDigits:
		return "", fmt.Errorf("phone number is too short: %d digits, at least %d with the country code", n, MinDigits)
	case n > MaxDigits:
		return "", fmt.Errorf("phone number is too long: %d digits, at most %d (E.164)", n, MaxDigits)
	}
	return "+" + string(digits), nil
}
