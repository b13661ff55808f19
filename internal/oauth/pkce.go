package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/nango-go/nango/internal/secret"
)

// NewCodeVerifier returns a fresh PKCE code verifier (RFC 7636 §4.1): 32
// random bytes in unpadded base64url, 43 characters of the unreserved set.
func NewCodeVerifier() secret.String {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails (it panics if the OS cannot supply entropy)
	return secret.String(base64.RawURLEncoding.EncodeToString(b[:]))
}

// CodeChallenge returns the S256 code challenge of verifier: the unpadded
// base64url of the SHA-256 of its ASCII text (RFC 7636 §4.2).
func CodeChallenge(verifier secret.String) string {
	sum := sha256.Sum256([]byte(verifier.Reveal()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
