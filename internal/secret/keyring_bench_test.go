package secret_test

import (
	"testing"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// benchCreds is a typical stored credentials object: an OAuth2 connection
// with the provider's raw token response kept alongside (about 600 bytes).
const benchCreds = `{"type":"OAUTH2","access_token":"ya29.a0AfB_byC8kQ3mZ1xR7vN2pL9sT4wH6jD0eF5gK8uY3iO1qA7zX2cV9bN4mM6lP0oI8uY7tR5eW3qS1aZ","refresh_token":"1//0gLk3Jh8Yq2NwCgYIARAAGBASNwF-L9IrT5vX8mQ2zR7kP4wN1sH6jD0eF5gK8uY3iO1qA7zX2cV9bN4mM6lP0o","expires_at":"2025-06-01T12:34:56.000Z","raw":{"access_token":"ya29.a0AfB_byC8kQ3mZ1xR7vN2pL9sT4wH6jD0eF5gK8uY3iO1qA7zX2cV9bN4mM6lP0oI8uY7tR5eW3qS1aZ","expires_in":3599,"refresh_token":"1//0gLk3Jh8Yq2NwCgYIARAAGBASNwF-L9IrT5vX8mQ2zR7kP4wN1sH6jD0eF5gK8uY3iO1qA7zX2cV9bN4mM6lP0o","scope":"https://www.googleapis.com/auth/calendar.readonly openid email","token_type":"Bearer","id_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln"}}`

func benchKeyring(b *testing.B) *secret.Keyring {
	k, _ := secret.GenerateKey()
	old, _ := secret.GenerateKey()
	kr, err := secret.NewKeyring(k, old)
	if err != nil {
		b.Fatal(err)
	}
	return kr
}

// BenchmarkSeal measures sealing one credentials object (AES-256-GCM with a
// fresh random nonce, then base64).
func BenchmarkSeal(b *testing.B) {
	kr := benchKeyring(b)
	ad := store.AD("connections", "credentials", "google-calendar", "user-1234")
	pt := []byte(benchCreds)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := kr.Seal(pt, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures opening one sealed credentials object (base64
// decode, then AES-256-GCM open).
func BenchmarkOpen(b *testing.B) {
	kr := benchKeyring(b)
	ad := store.AD("connections", "credentials", "google-calendar", "user-1234")
	pt := []byte(benchCreds)
	stored, id, _ := kr.Seal(pt, ad)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(stored, id, ad); err != nil {
			b.Fatal(err)
		}
	}
}
