package webpush_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels/webpush"
	"github.com/pbnotify/pbnotify/channels/webpush/pushtest"
)

func subJSON(endpoint, p256dh, auth string) []byte {
	b, _ := json.Marshal(map[string]any{
		"endpoint":       endpoint,
		"expirationTime": nil,
		"keys":           map[string]string{"p256dh": p256dh, "auth": auth},
	})
	return b
}

func TestParseSubscription(t *testing.T) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.PublicKey().Bytes()
	p256dh := base64.RawURLEncoding.EncodeToString(pub)
	// These bytes encode with '+' and '/' in standard base64 and with '-'
	// and '_' in base64url, so both alphabets are exercised.
	authBytes := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 6)[:16]
	auth := base64.RawURLEncoding.EncodeToString(authBytes)

	offCurve := append([]byte{4}, bytes.Repeat([]byte{1}, 64)...)
	const local = "http://127.0.0.1:9999"
	allowed := []string{local, "https://push.example.net/"}

	tests := []struct {
		name    string
		body    []byte
		wantErr string // substring of the error; "" means valid
	}{
		// Push services.
		{"FCM", subJSON("https://fcm.googleapis.com/fcm/send/abc:APA91b", p256dh, auth), ""},
		{"legacy GCM", subJSON("https://android.googleapis.com/gcm/send/abc", p256dh, auth), ""},
		{"Mozilla", subJSON("https://updates.push.services.mozilla.com/wpush/v2/gAAAA", p256dh, auth), ""},
		{"Mozilla look-alike", subJSON("https://push.services.mozilla.com.example.org/x", p256dh, auth), "not a known browser push service"},
		{"Mozilla region subdomain", subJSON("https://eu.push.services.mozilla.com/wpush/v1/x", p256dh, auth), ""},
		{"Apple", subJSON("https://web.push.apple.com/QGz-token", p256dh, auth), ""},
		{"WNS with query", subJSON("https://wns2-par02p.notify.windows.com/w/?token=BQYAAA%2b", p256dh, auth), ""},
		{"upper-case host", subJSON("https://FCM.GoogleAPIs.com/fcm/send/abc", p256dh, auth), ""},
		{"explicit port 443", subJSON("https://fcm.googleapis.com:443/fcm/send/abc", p256dh, auth), ""},
		{"allowed http origin", subJSON(local+"/push/d1", p256dh, auth), ""},
		{"allowed origin listed with a slash", subJSON("https://push.example.net/x", p256dh, auth), ""},

		// Endpoints refused.
		{"http FCM", subJSON("http://fcm.googleapis.com/fcm/send/abc", p256dh, auth), "https"},
		{"foreign origin", subJSON("https://evil.example.org/fcm/send/abc", p256dh, auth), "not a known browser push service"},
		{"look-alike suffix", subJSON("https://fcm.googleapis.com.evil.org/fcm/send/abc", p256dh, auth), "not a known browser push service"},
		{"look-alike prefix", subJSON("https://evilfcm.googleapis.com/x", p256dh, auth), "not a known browser push service"},
		{"look-alike Apple", subJSON("https://evilpush.apple.com/x", p256dh, auth), "not a known browser push service"},
		{"Apple bare domain", subJSON("https://push.apple.com/x", p256dh, auth), "not a known browser push service"},
		{"Apple under evil", subJSON("https://web.push.apple.com.evil.org/x", p256dh, auth), "not a known browser push service"},
		{"WNS bare domain", subJSON("https://notify.windows.com/w/", p256dh, auth), "not a known browser push service"},
		{"trailing dot", subJSON("https://fcm.googleapis.com./x", p256dh, auth), "not a known browser push service"},
		{"odd port", subJSON("https://fcm.googleapis.com:8443/x", p256dh, auth), "port"},
		{"user info", subJSON("https://fcm.googleapis.com@evil.org/x", p256dh, auth), "user name"},
		{"fragment", subJSON("https://fcm.googleapis.com/x#y", p256dh, auth), "fragment"},
		{"relative", subJSON("/fcm/send/abc", p256dh, auth), "absolute"},
		{"missing endpoint", subJSON("", p256dh, auth), "endpoint is missing"},
		{"space in endpoint", subJSON("https://fcm.googleapis.com/a b", p256dh, auth), "spaces"},
		{"too long", subJSON("https://fcm.googleapis.com/"+strings.Repeat("a", 2048), p256dh, auth), "longer than 2048"},
		{"allowed host, other port", subJSON("http://127.0.0.1:9998/push/d1", p256dh, auth), "https"},
		{"allowed host, other scheme", subJSON("https://127.0.0.1:9999/push/d1", p256dh, auth), "port 9999"},
		{"IP address", subJSON("https://127.0.0.1/push/d1", p256dh, auth), "not a known browser push service"},
		{"javascript scheme", subJSON("javascript:alert(1)", p256dh, auth), "absolute"},

		// Keys.
		{"padded base64url keys", subJSON("https://fcm.googleapis.com/x", base64.URLEncoding.EncodeToString(pub), base64.URLEncoding.EncodeToString(authBytes)), ""},
		{"std base64 keys", subJSON("https://fcm.googleapis.com/x", base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(authBytes)), ""},
		{"missing p256dh", subJSON("https://fcm.googleapis.com/x", "", auth), "keys.p256dh is missing"},
		{"bad base64 p256dh", subJSON("https://fcm.googleapis.com/x", "!!not*base64!!", auth), "keys.p256dh is not valid base64url"},
		{"short p256dh", subJSON("https://fcm.googleapis.com/x", base64.RawURLEncoding.EncodeToString(pub[:64]), auth), "65-byte"},
		{"compressed p256dh", subJSON("https://fcm.googleapis.com/x", base64.RawURLEncoding.EncodeToString(append([]byte{2}, pub[1:33]...)), auth), "65-byte"},
		{"p256dh off the curve", subJSON("https://fcm.googleapis.com/x", base64.RawURLEncoding.EncodeToString(offCurve), auth), "not a point on the P-256 curve"},
		{"15-byte auth", subJSON("https://fcm.googleapis.com/x", p256dh, base64.RawURLEncoding.EncodeToString(authBytes[:15])), "keys.auth must be 16 bytes, got 15"},
		{"17-byte auth", subJSON("https://fcm.googleapis.com/x", p256dh, base64.RawURLEncoding.EncodeToString(append(authBytes, 1))), "got 17"},
		{"bad base64 auth", subJSON("https://fcm.googleapis.com/x", p256dh, "a b c"), "keys.auth is not valid base64url"},
		{"missing auth", subJSON("https://fcm.googleapis.com/x", p256dh, ""), "keys.auth is missing"},

		// JSON.
		{"not JSON", []byte("endpoint=https://fcm.googleapis.com"), "PushSubscription.toJSON()"},
		{"keys as a string", []byte(`{"endpoint":"https://fcm.googleapis.com/x","keys":"x"}`), "PushSubscription.toJSON()"},
		{"expirationTime number", []byte(`{"endpoint":"https://fcm.googleapis.com/x","expirationTime":1735689600000,"keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`), ""},
		{"huge body", append(subJSON("https://fcm.googleapis.com/x", p256dh, auth), bytes.Repeat([]byte(" "), 9000)...), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := webpush.ParseSubscription(tt.body, allowed)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseSubscription(%.200q) error = %v; want nil", tt.body, err)
				}
				if sub.P256dh != p256dh || sub.Auth != auth {
					t.Errorf("ParseSubscription(%.200q) keys = %q, %q; want them as unpadded base64url %q, %q", tt.body, sub.P256dh, sub.Auth, p256dh, auth)
				}
				if sub.Endpoint == "" {
					t.Errorf("ParseSubscription(%.200q) endpoint is empty", tt.body)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseSubscription(%.200q) error = nil; want one containing %q", tt.body, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSubscription(%.200q) error = %v; want it to contain %q", tt.body, err, tt.wantErr)
			}
			if !errors.Is(err, webpush.ErrInvalidSubscription) {
				t.Errorf("ParseSubscription(%.200q) error = %v; want it to wrap ErrInvalidSubscription", tt.body, err)
			}
		})
	}
}

func TestParseSubscriptionFromPushtest(t *testing.T) {
	svc := pushtest.New(t)
	want := svc.NewSubscription()
	got, err := webpush.ParseSubscription(pushtest.SubscriptionJSON(want), []string{svc.URL})
	if err != nil {
		t.Fatalf("ParseSubscription(%s) error = %v; want nil", pushtest.SubscriptionJSON(want), err)
	}
	if got != want {
		t.Errorf("ParseSubscription = %+v; want %+v", got, want)
	}
	if _, err := webpush.ParseSubscription(pushtest.SubscriptionJSON(want), nil); err == nil {
		t.Errorf("ParseSubscription of a local endpoint without allowed origins error = nil; want refused")
	}
}

func TestKnownPushService(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"fcm.googleapis.com", true},
		{"android.googleapis.com", true},
		{"FCM.googleapis.COM", true},
		{"updates.push.services.mozilla.com", true},
		{"web.push.apple.com", true},
		{"wns2-bn3p.notify.windows.com", true},
		{"googleapis.com", false},
		{"www.googleapis.com", false},
		{"fcm.googleapis.com.evil.org", false},
		{"evil.org.fcm.googleapis.com", false},
		{"push.services.mozilla.com", false},
		{"push.apple.com", false},
		{"notify.windows.com", false},
		{"evilpush.apple.com", false},
		{"web..push.apple.com", false},
		{".push.apple.com", false},
		{"web.push.apple.com.", false},
		{"web%2epush.apple.com", false},
		{"fcm.googleapis.com:443", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := webpush.KnownPushService(tt.host); got != tt.want {
			t.Errorf("KnownPushService(%q) = %v; want %v", tt.host, got, tt.want)
		}
	}
}
