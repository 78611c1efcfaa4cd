// Package tracking makes messages measurable without making the shop an
// open redirect: it signs the links a message carries, the open pixel and
// the unsubscribe address with a key the shop keeps among its secrets,
// rewrites the links of a rendered message to the shop's /r/{token}
// address, picks A/B variants, and defines the statistics view.
//
// A token names a message and, for a link, its index in the message's
// stored link list; it carries no URL. So a forged or altered token cannot
// point anywhere: the redirect goes only to an address the message itself
// contained, read back from the message's row.
package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Kind says what a token is for. It is signed with the rest, so a click
// token cannot be replayed as an unsubscribe token.
type Kind byte

// Token kinds; persisted inside every link a customer received, so never
// renumbered.
const (
	KindClick       Kind = 'c'
	KindOpen        Kind = 'o'
	KindUnsubscribe Kind = 'u'
)

// MaxLinks is how many distinct links of one message are signed: a link
// index is one byte. Links beyond it are left as they are.
const MaxLinks = 250

// macLen is the truncated HMAC-SHA256 length: 80 bits, far beyond what an
// online guesser can try against one shop.
const macLen = 10

// maxIDLen bounds a message id inside a token (PocketBase ids are 15
// characters; an app may choose longer ones).
const maxIDLen = 100

// ErrInvalid is any token that is not one this shop signed: malformed,
// altered, or signed with another key.
var ErrInvalid = errors.New("tracking: invalid token")

// Token is what a valid token says.
type Token struct {
	Kind    Kind
	Message string // the notifyMessages id
	Link    int    // the link's index, for KindClick
}

// Signer makes and checks tokens with one key. It is safe for concurrent
// use.
type Signer struct{ key []byte }

// NewSigner returns a signer using key (at least 32 bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("tracking: the signing key must be at least 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Sign returns the token for t: kind, id length, id, link index (clicks
// only), and the truncated HMAC of all of them, base64url without padding.
func (s *Signer) Sign(t Token) string {
	b := payload(t)
	b = append(b, s.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Parse checks a token and returns what it says; ErrInvalid when it is
// not one this signer made. It reads no database, so a flood of forged
// tokens costs only a hash each.
func (s *Signer) Parse(token string) (Token, error) {
	if len(token) > 2*(maxIDLen+macLen+3) {
		return Token{}, ErrInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 2+macLen {
		return Token{}, ErrInvalid
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(mac, s.mac(body)) {
		return Token{}, ErrInvalid
	}
	t := Token{Kind: Kind(body[0])}
	n := int(body[1])
	rest := body[2:]
	if n == 0 || n > len(rest) {
		return Token{}, ErrInvalid
	}
	t.Message, rest = string(rest[:n]), rest[n:]
	switch t.Kind {
	case KindClick:
		if len(rest) != 1 {
			return Token{}, ErrInvalid
		}
		t.Link = int(rest[0])
	case KindOpen, KindUnsubscribe:
		if len(rest) != 0 {
			return Token{}, ErrInvalid
		}
	default:
		return Token{}, ErrInvalid
	}
	return t, nil
}

func payload(t Token) []byte {
	id := t.Message
	if len(id) > maxIDLen {
		id = id[:maxIDLen] // never signed for a real message; Parse refuses nothing it made
	}
	b := make([]byte, 0, 3+len(id)+macLen)
	b = append(b, byte(t.Kind), byte(len(id)))
	b = append(b, id...)
	if t.Kind == KindClick {
		b = append(b, byte(t.Link))
	}
	return b
}

func (s *Signer) mac(b []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("pbnotify.tracking.v1\x00"))
	h.Write(b)
	return h.Sum(nil)[:macLen]
}
