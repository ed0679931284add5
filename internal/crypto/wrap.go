package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrUnwrap is returned when a wrapped key does not authenticate under the
// key-encryption key: the key is the wrong one, or the wrapped bytes are
// corrupt.
var ErrUnwrap = errors.New("crypto: wrapped key does not authenticate under this key-encryption key")

// NewDataKey returns a fresh random AES-256 key.
func NewDataKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// Wrap encrypts dataKey under kek with AES-256-GCM and a random nonce,
// binding context as additional data. The result is nonce | ciphertext | tag.
func Wrap(kek, dataKey, context []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	n := make([]byte, aead.NonceSize(), aead.NonceSize()+len(dataKey)+aead.Overhead())
	if _, err := rand.Read(n); err != nil {
		return nil, err
	}
	return aead.Seal(n, n, dataKey, context), nil
}

// Unwrap reverses Wrap. It returns ErrUnwrap when authentication fails.
func Unwrap(kek, wrapped, context []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnwrap
	}
	k, err := aead.Open(nil, wrapped[:aead.NonceSize()], wrapped[aead.NonceSize():], context)
	if err != nil {
		return nil, ErrUnwrap
	}
	return k, nil
}

// Fingerprint returns a short, non-secret identifier of kek (a truncated
// HMAC-SHA256 of a constant), used to tell "wrong key" from "corrupt data".
func Fingerprint(kek []byte) string {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("orocloud-backup kek fingerprint v1"))
	return fmt.Sprintf("%x", m.Sum(nil)[:8])
}

// MAC returns HMAC-SHA256 of msg under a key derived from dataKey for the
// given purpose.
func MAC(dataKey []byte, purpose string, msg []byte) []byte {
	k, err := hkdf.Key(sha256.New, dataKey, nil, "orocloud-backup mac v1 "+purpose, KeySize)
	if err != nil { // only for an invalid hash or length, which are constants here
		k = dataKey
	}
	m := hmac.New(sha256.New, k)
	m.Write(msg)
	return m.Sum(nil)
}

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("crypto: key must be %d bytes, got %d", KeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
