package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// ErrUndecryptable is wrapped by every error that reports a stored secret
// which cannot be opened: unknown key id, wrong key, tampered or moved
// ciphertext.
var ErrUndecryptable = errors.New("stored secret cannot be decrypted")

// Equal compares two secrets in time that depends only on their lengths'
// hashes, not on where they first differ.
func Equal(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// RandomToken returns n random bytes from crypto/rand, base64url-encoded
// without padding. Use n ≥ 16 for anything unguessable.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
