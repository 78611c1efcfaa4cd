package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// sign returns the webhook-signature header value for one attempt, as the
// Standard Webhooks specification defines it:
//
//	v1,<base64(HMAC-SHA256(key, id + "." + unix seconds + "." + body))>
//
// The id and timestamp are signed with the body so that neither can be
// swapped by someone replaying a captured request.
func sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
