package sms

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      string // as typed into a profile
		want    string // E.164; "" when refused
		wantErr string // substring of the error when refused
	}{
		{in: "+7 (912) 345-67-89", want: "+79123456789"},
		{in: "8 912 345 67 89", want: "+79123456789"},
		{in: "8(912)345.67.89", want: "+79123456789"},
		{in: "79123456789", want: "+79123456789"},
		{in: "  +79123456789 ", want: "+79123456789"},
		{in: "+44 20 7946 0958", want: "+442079460958"},
		{in: "+1-415-555-2671", want: "+14155552671"},
		{in: "+49 30 12345678901", want: "+493012345678901"}, // 15 digits, E.164's most
		{in: "+290 1234", want: "+2901234"},                  // St Helena: 7 digits
		{in: "", wantErr: "empty"},
		{in: "   ", wantErr: "empty"},
		{in: "+", wantErr: "no digits"},
		{in: "+7 912 CALL ME", wantErr: "letters"},
		{in: "тел. 89123456789", wantErr: "letters"},
		{in: "8 912 345 67", wantErr: "starting with 8 has 9 digits"},
		{in: "8 912 345 67 890", wantErr: "starting with 8 has 12 digits"},
		{in: "+7 912 345 67", wantErr: "country code 7 has 9 digits"},
		{in: "912 345 67 89", wantErr: "no country code"},
		{in: "442079460958", wantErr: "no country code"},
		{in: "+0 123 4567 890", wantErr: "cannot start with 0"},
		{in: "+44 123", wantErr: "too short"},
		{in: "+49 30 123456789012", wantErr: "too long: 16 digits"},
		{in: "+7 912 345-67-89 #2", wantErr: `contains '#'`},
		{in: "7+9123456789", wantErr: `"+" that is not at the start`},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Normalize(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
		case err != nil && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) && strings.TrimSpace(tt.in) != "" && strings.TrimSpace(tt.in) != "+":
			t.Errorf("Normalize(%q) error %q repeats the number", tt.in, err)
		}
	}
}
