package encryption_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
)

// benchCredentials is a typical OAuth2 credentials object with the
// provider's raw token response (about 600 bytes of JSON once stored).
func benchCredentials() store.Credentials {
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	at := "ya29.a0AfB_byC8kQ3mZ1xR7vN2pL9sT4wH6jD0eF5gK8uY3iO1qA7zX2cV9bN4mM6lP0oI8uY7tR5eW3qS1aZ"
	rt := "1//0gLk3Jh8Yq2NwCgYIARAAGBASNwF-L9IrT5vX8mQ2zR7kP4wN1sH6jD0eF5gK8uY3iO1qA7zX2cV9bN4mM6lP0o"
	return store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: secret.String(rt), ExpiresAt: &exp,
		Raw: map[string]any{"access_token": at, "refresh_token": rt, "expires_in": 3599, "token_type": "Bearer",
			"scope": "https://www.googleapis.com/auth/calendar.readonly openid email", "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln"}}
}

// BenchmarkGetConnection measures the token-fetch hot path on SQLite —
// one GetConnection of an OAuth2 connection — in plaintext, sealed with
// the current key, and sealed with a previous key (during a rotation).
func BenchmarkGetConnection(b *testing.B) {
	ctx := context.Background()
	cur, _ := secret.GenerateKey()
	old, _ := secret.GenerateKey()
	oldOnly, _ := secret.NewKeyring(old)
	rotating, _ := secret.NewKeyring(cur, old)
	withCur, _ := secret.NewKeyring(cur)
	cases := []struct {
		name        string
		write, read store.Sealer
		wantKeyID   string
	}{
		{"plaintext", store.Plaintext{}, store.Plaintext{}, ""},
		{"encrypted", withCur, withCur, cur.ID()},
		{"encrypted previous key", oldOnly, rotating, old.ID()},
	}
	for _, bc := range cases {
		path := filepath.Join(b.TempDir(), "nango.db")
		w, err := sqlite.Open(ctx, path, store.Options{Sealer: bc.write})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		c := store.Connection{ProviderConfigKey: "google-calendar", ConnectionID: "user-1234", Credentials: benchCredentials(),
			ConnectionConfig: map[string]any{"subdomain": "acme"}, Metadata: map[string]any{"instance_url": "https://x.example.com"}}
		if _, err := w.UpsertConnection(ctx, &c); err != nil {
			b.Fatal(err)
		}
		ku, _ := w.KeyUsage(ctx)
		if len(ku) != 1 || ku[0].KeyID != bc.wantKeyID {
			b.Fatalf("stored with %+v, want key id %q", ku, bc.wantKeyID)
		}
		_ = w.Close()
		st, err := sqlite.Open(ctx, path, store.Options{Sealer: bc.read})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID); err != nil {
					b.Fatal(err)
				}
			}
		})
		_ = st.Close()
	}
}
