package httpx

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/nango-go/nango/internal/secret"
)

// SecretKeyFromHeader extracts the secret key a client presented in an
// Authorization header: Basic base64("<key>:") (the password part is
// ignored, as in the reference) or Bearer <key>. ok is false when the header
// is neither, or its Basic part is not valid base64.
func SecretKeyFromHeader(h string) (key string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "bearer"):
		return rest, rest != ""
	case strings.EqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user, true
	}
	return "", false
}

// RequireSecretKey guards next with the API secret key (SPEC Part A, guard
// A). With an empty key every request passes and the header is ignored (the
// node SDK sends "Bearer " with an empty key). Otherwise a missing header is
// 401 missing_auth_header and anything but the right key, compared in
// constant time, is 401 invalid_secret_key.
func RequireSecretKey(key secret.String, next http.Handler) http.Handler {
	if key.IsZero() {
		return next
	}
	// secret.Equal hashes both sides; the key's digest is computed once.
	want := sha256.Sum256([]byte(key.Reveal()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if strings.TrimSpace(h) == "" {
			WriteError(w, r, E("missing_auth_header"))
			return
		}
		got, ok := SecretKeyFromHeader(h)
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			WriteError(w, r, E("invalid_secret_key"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// BasicCredentials returns the user and password of a Basic Authorization
// header.
func BasicCredentials(h string) (user, pass string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}
