package tokens_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
	"github.com/nango-go/nango/internal/store/sqlite"
	"github.com/nango-go/nango/internal/tokens"
)

// benchCached measures Get over 1,000 connections with sealed credentials
// through the cache (all hits once warm) and without it (every Get reads
// and decrypts): the token-fetch hot path below HTTP.
func benchCached(b *testing.B, open func(opts store.Options) store.Store) {
	ctx := context.Background()
	k, _ := secret.GenerateKey()
	kr, err := secret.NewKeyring(k)
	if err != nil {
		b.Fatal(err)
	}
	st := open(store.Options{Sealer: kr})
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	in := store.Integration{Key: "k", Provider: "p", ClientID: "id", ClientSecret: "s"}
	if err := st.CreateIntegration(ctx, &in); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	exp := time.Now().Add(24 * time.Hour)
	for i := range n {
		at := fmt.Sprintf("at-%04d-0123456789abcdef0123456789", i)
		c := store.Connection{ProviderConfigKey: "k", ConnectionID: fmt.Sprint("c", i), Credentials: store.Credentials{
			Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: "rt", ExpiresAt: &exp, Raw: map[string]any{"access_token": at}},
			Metadata: map[string]any{"account": "acme"}}
		if _, err := st.UpsertConnection(ctx, &c); err != nil {
			b.Fatal(err)
		}
	}
	tmpl := &provider.Template{Name: "p", AuthMode: provider.OAuth2, TokenURL: "https://example.invalid/token"}
	templates := func(string) (*provider.Template, bool) { return tmpl, true }
	for _, withCache := range []bool{false, true} {
		name := "uncached"
		o := tokens.Options{Store: st, Templates: templates}
		if withCache {
			name = "cached"
			c := tokens.NewCache(tokens.CacheOptions{})
			b.Cleanup(func() { _ = c.Close() })
			o.Store, o.Cache = c.Track(st), c
			for deadline := time.Now().Add(10 * time.Second); !c.Stats().Live; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("cache not live")
				}
			}
		}
		svc := tokens.New(o)
		b.Cleanup(func() { _ = svc.Close() })
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint("c", i)
			_, _ = svc.Get(ctx, "k", ids[i], tokens.GetOptions{})
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
				for pb.Next() {
					if _, err := svc.Get(ctx, "k", ids[rng.IntN(n)], tokens.GetOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkGetSealedSQLite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	benchCached(b, func(opts store.Options) store.Store {
		st, err := sqlite.Open(context.Background(), path, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st
	})
}

func BenchmarkGetSealedPostgres(b *testing.B) {
	dsn := pgtest.DSN(b)
	benchCached(b, func(opts store.Options) store.Store {
		st, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn}, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st
	})
}
