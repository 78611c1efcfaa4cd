package webhook

import (
	"net/http"
	"testing"
	"time"
)

// TestSignSpecVector checks the signer against the test vector of the
// Standard Webhooks reference libraries (libraries/go/webhook_test.go,
// TestWebhookSign), so the channel agrees with every library, not only
// with webhooktest.
func TestSignSpecVector(t *testing.T) {
	key, err := parseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Errorf("sign(spec vector) = %q; want %q", got, want)
	}
}

func TestDefaultClient(t *testing.T) {
	c, err := New(Config{URL: "https://crm.example/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	if c.client.Timeout != DefaultTimeout {
		t.Errorf("default client timeout = %s; want %s", c.client.Timeout, DefaultTimeout)
	}
	if c.client.CheckRedirect == nil || c.client.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("default client follows redirects")
	}
}
