package smtptest

import (
	"encoding/base64"
	"strings"
)

func decodeBase64(s string) (string, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}
