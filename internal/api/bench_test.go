package api

import (
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// BenchmarkConnectionJSON encodes GET /connection/:id's answer for a
// typical OAuth 2 connection (what a token-cache hit saves: the cache keeps
// this encoding with the connection).
func BenchmarkConnectionJSON(b *testing.B) {
	exp := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	at := "gho_0123456789abcdef0123456789abcdef0123"
	c := store.Connection{ID: 42, ProviderConfigKey: "github", ConnectionID: "user-0000042",
		Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: "ghr_0123456789abcdef0123456789abcdef0123",
			ExpiresAt: &exp, Raw: map[string]any{"access_token": at, "token_type": "bearer", "scope": "repo,user", "expires_in": 28800.0}},
		ConnectionConfig: map[string]any{"tenant": "acme"}, Metadata: map[string]any{"account": "acme", "plan": "pro"},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeConnection(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnectionJSONDecode decodes that answer back into a connection:
// what a token-cache hit costs a caller that needs the whole connection
// (the proxy, the dashboard); a token fetch returns the bytes as they are.
func BenchmarkConnectionJSONDecode(b *testing.B) {
	exp := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	at := "gho_0123456789abcdef0123456789abcdef0123"
	c := store.Connection{ID: 42, ProviderConfigKey: "github", ConnectionID: "user-0000042",
		Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: "ghr_0123456789abcdef0123456789abcdef0123",
			ExpiresAt: &exp, Raw: map[string]any{"access_token": at, "token_type": "bearer", "scope": "repo,user", "expires_in": 28800.0}},
		ConnectionConfig: map[string]any{"tenant": "acme"}, Metadata: map[string]any{"account": "acme", "plan": "pro"}}
	enc, err := encodeConnection(c)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeConnection(enc); err != nil {
			b.Fatal(err)
		}
	}
}
