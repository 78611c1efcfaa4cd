package webpush

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// KeyPair is a VAPID key pair, both halves unpadded base64url as
// GenerateKeys and webpush-go produce: Public is the 65-byte uncompressed
// P-256 point browsers take as applicationServerKey, Private the 32-byte
// scalar.
type KeyPair struct {
	Public  string
	Private string
}

// GenerateKeys returns a new VAPID key pair.
func GenerateKeys() (KeyPair, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		Public:  base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(key.Bytes()),
	}, nil
}

// normalizeKeys checks that the pair is a P-256 key pair whose halves belong
// together, and re-encodes it as unpadded base64url, the only form
// webpush-go decodes reliably.
func normalizeKeys(k KeyPair) (KeyPair, error) {
	if k.Public == "" || k.Private == "" {
		return KeyPair{}, errors.New("webpush: set both VAPID keys or neither")
	}
	pub, err := decodeBase64(strings.TrimSpace(k.Public))
	if err != nil {
		return KeyPair{}, errors.New("webpush: the VAPID public key is not base64url")
	}
	priv, err := decodeBase64(strings.TrimSpace(k.Private))
	if err != nil {
		return KeyPair{}, errors.New("webpush: the VAPID private key is not base64url")
	}
	key, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return KeyPair{}, errors.New("webpush: the VAPID private key is not a 32-byte P-256 key")
	}
	// A mismatched pair signs tokens the push service verifies against the
	// wrong key: every send would fail with 403.
	if string(key.PublicKey().Bytes()) != string(pub) {
		return KeyPair{}, errors.New("webpush: the VAPID public key does not belong to the private key")
	}
	return KeyPair{
		Public:  base64.RawURLEncoding.EncodeToString(pub),
		Private: base64.RawURLEncoding.EncodeToString(priv),
	}, nil
}

// vapidSubscriber validates Subject and converts it to what webpush-go
// expects: it puts "mailto:" in front of anything that does not start with
// "https:", so a "mailto:" subject must lose its prefix or the JWT would say
// "mailto:mailto:...", which push services reject.
func vapidSubscriber(subject string) (string, error) {
	subject = strings.TrimSpace(subject)
	lower := strings.ToLower(subject)
	switch {
	case strings.HasPrefix(lower, "mailto:"):
		addr := subject[len("mailto:"):]
		if !strings.Contains(addr, "@") || strings.ContainsAny(addr, " ,;<>") || strings.Contains(strings.ToLower(addr), "mailto:") {
			return "", fmt.Errorf("webpush: VAPID subject %q must be one address, like mailto:admin@example.org", subject)
		}
		return addr, nil
	case strings.HasPrefix(lower, "https:"):
		u, err := url.Parse(subject)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("webpush: VAPID subject %q is not a valid https URL", subject)
		}
		// webpush-go checks the exact prefix "https:".
		return "https:" + subject[len("https:"):], nil
	default:
		return "", fmt.Errorf("webpush: VAPID subject %q must start with mailto: or https://", subject)
	}
}
