package tokens_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
	"github.com/nango-go/nango/internal/store/sqlite"
	"github.com/nango-go/nango/internal/tokens"
)

// benchGet measures Get of a connection whose token is not due: the read
// path every API call, proxied request and dashboard page takes.
func benchGet(b *testing.B, st store.Store) {
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	in := store.Integration{Key: "k", Provider: "p", ClientID: "id", ClientSecret: "s"}
	if err := st.CreateIntegration(ctx, &in); err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour)
	c := store.Connection{ProviderConfigKey: "k", ConnectionID: "c", Credentials: store.Credentials{
		Type: store.OAuth2, AccessToken: "at", RefreshToken: "rt", ExpiresAt: &exp, Raw: map[string]any{"access_token": "at"}}}
	if _, err := st.UpsertConnection(ctx, &c); err != nil {
		b.Fatal(err)
	}
	tmpl := &provider.Template{Name: "p", AuthMode: provider.OAuth2, TokenURL: "https://example.invalid/token"}
	svc := tokens.New(tokens.Options{Store: st, Templates: func(string) (*provider.Template, bool) { return tmpl, true }})
	defer svc.Close()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Get(ctx, "k", "c", tokens.GetOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGetNotDueSQLite(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchGet(b, st)
}

func BenchmarkGetNotDuePostgres(b *testing.B) {
	st, err := postgres.Open(context.Background(), postgres.Config{DSN: pgtest.DSN(b)}, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchGet(b, st)
}
