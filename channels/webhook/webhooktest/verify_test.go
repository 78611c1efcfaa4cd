package webhooktest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The test vector of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go, TestWebhookSign): a verifier that accepts
// it computes what every Standard Webhooks library computes.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = "1614265330"
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vectorTime = time.Unix(1614265330, 0)

func vectorHeader() http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", vectorTimestamp)
	h.Set("webhook-signature", vectorSignature)
	return h
}

func TestVerify(t *testing.T) {
	otherSig := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	tests := []struct {
		name   string
		secret string
		header func(http.Header)
		body   string
		now    time.Time
		ok     bool
	}{
		{name: "spec vector", ok: true},
		{name: "secret without prefix", secret: strings.TrimPrefix(vectorSecret, "whsec_"), ok: true},
		{name: "rotation: the right one among others", ok: true, header: func(h http.Header) {
			h.Set("webhook-signature", otherSig+" v1a,"+otherSig[3:]+" "+vectorSignature)
		}},
		{name: "just inside the tolerance", now: vectorTime.Add(Tolerance), ok: true},
		{name: "just inside the tolerance, ahead", now: vectorTime.Add(-Tolerance), ok: true},

		{name: "tampered body", body: `{"test": 2432232315}`},
		{name: "body with a stray space", body: vectorBody + " "},
		{name: "other secret", secret: "whsec_" + strings.Repeat("A", 32)},
		{name: "secret that is not base64", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw-!"},
		{name: "tampered id", header: func(h http.Header) { h.Set("webhook-id", vectorID+"x") }},
		{name: "tampered timestamp", header: func(h http.Header) { h.Set("webhook-timestamp", "1614265331") }, now: vectorTime},
		{name: "wrong signature", header: func(h http.Header) { h.Set("webhook-signature", otherSig) }},
		{name: "right signature, wrong version", header: func(h http.Header) { h.Set("webhook-signature", "v2,"+vectorSignature[3:]) }},
		{name: "no id", header: func(h http.Header) { h.Del("webhook-id") }},
		{name: "no timestamp", header: func(h http.Header) { h.Del("webhook-timestamp") }},
		{name: "no signature", header: func(h http.Header) { h.Del("webhook-signature") }},
		{name: "too old", now: vectorTime.Add(Tolerance + time.Second)},
		{name: "too new", now: vectorTime.Add(-Tolerance - time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = vectorSecret
			}
			h := vectorHeader()
			if tt.header != nil {
				tt.header(h)
			}
			body := tt.body
			if body == "" {
				body = vectorBody
			}
			now := tt.now
			if now.IsZero() {
				now = vectorTime
			}
			err := Verify(secret, h, []byte(body), now)
			if (err == nil) != tt.ok {
				t.Errorf("Verify = %v; want ok=%v", err, tt.ok)
			}
		})
	}
}

// A request that fails verification is answered 401, recorded as a
// rejection and not as a delivery.
func TestReceiverRejectsBadSignature(t *testing.T) {
	r := New(t, vectorSecret)
	r.SetNow(func() time.Time { return vectorTime })
	r.ExpectRejections()

	h := vectorHeader()
	h.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
	req, err := http.NewRequest(http.MethodPost, r.URL, strings.NewReader(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d; want 401", resp.StatusCode)
	}
	if got := r.Received(); len(got) != 0 {
		t.Errorf("Received() = %d deliveries; want none", len(got))
	}
	if got := r.Rejected(); len(got) != 1 || got[0].Status != http.StatusUnauthorized {
		t.Errorf("Rejected() = %v; want one 401", got)
	}
}

// A correctly signed body that is not the contract's payload is refused: the
// receiver checks the shape, not only the signature.
func TestReceiverRejectsForeignPayload(t *testing.T) {
	r := New(t, vectorSecret)
	r.SetNow(func() time.Time { return vectorTime })
	r.ExpectRejections()

	req, err := http.NewRequest(http.MethodPost, r.URL, strings.NewReader(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = vectorHeader()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d; want 400", resp.StatusCode)
	}
	if got := r.Rejected(); len(got) != 1 || !strings.Contains(got[0].Reason, "payload") {
		t.Errorf("Rejected() = %v; want one payload rejection", got)
	}
}
