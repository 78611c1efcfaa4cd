package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// decrypt opens an RFC 8291 aes128gcm push message addressed to a device with
// private key ua and authentication secret auth, the way a browser does. It
// uses only the standard library, so it checks webpush-go's encryption
// independently rather than running the same code backwards.
func decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	// RFC 8188 §2.1 header: salt (16) | rs (4) | idlen (1) | keyid (idlen).
	const fixed = 16 + 4 + 1
	if len(body) < fixed {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if rs < 18 {
		return nil, fmt.Errorf("record size %d is below the minimum of 18", rs)
	}
	// RFC 8291 §4: the key id is the sender's ephemeral public key.
	if idlen != 65 {
		return nil, fmt.Errorf("key id is %d bytes; want the 65-byte sender public key", idlen)
	}
	if len(body) < fixed+idlen {
		return nil, errors.New("body shorter than the key id")
	}
	asPublicBytes := body[fixed : fixed+idlen]
	ciphertext := body[fixed+idlen:]
	// RFC 8291 §4: a push message is a single record.
	if len(ciphertext) > int(rs) {
		return nil, fmt.Errorf("ciphertext of %d bytes spans several %d-byte records; push messages must be one record", len(ciphertext), rs)
	}
	if len(ciphertext) < 17 {
		return nil, errors.New("ciphertext shorter than the GCM tag and padding delimiter")
	}

	asPublic, err := ecdh.P256().NewPublicKey(asPublicBytes)
	if err != nil {
		return nil, fmt.Errorf("sender public key: %v", err)
	}
	ecdhSecret, err := ua.ECDH(asPublic)
	if err != nil {
		return nil, fmt.Errorf("ECDH: %v", err)
	}

	// RFC 8291 §3.4:
	//   PRK_key = HKDF-Extract(salt=auth_secret, IKM=ecdh_secret)
	//   IKM     = HKDF-Expand(PRK_key, "WebPush: info" 0x00 ua_public as_public, 32)
	info := "WebPush: info\x00" + string(ua.PublicKey().Bytes()) + string(asPublicBytes)
	ikm, err := hkdf.Key(sha256.New, ecdhSecret, auth, info, 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 §2.2, §2.3: CEK and nonce from the salt of this message.
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// The first record's sequence number is 0, so its nonce is the derived
	// nonce unchanged.
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, errors.New("AES-GCM authentication failed: wrong keys or corrupted body")
	}
	// RFC 8188 §2: content | delimiter | zero padding; 0x02 marks the last record.
	last := len(bytes.TrimRight(plain, "\x00"))
	if last == 0 {
		return nil, errors.New("plaintext has no padding delimiter")
	}
	switch plain[last-1] {
	case 0x02:
		return plain[:last-1], nil
	case 0x01:
		return nil, errors.New("padding delimiter 0x01 (more records follow) in a single-record message")
	default:
		return nil, fmt.Errorf("padding delimiter is 0x%02x; want 0x02", plain[last-1])
	}
}
