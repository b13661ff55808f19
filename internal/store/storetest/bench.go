package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// BenchmarkListConnections measures ListConnections on about 100,000
// connections (100 written through the store with sealed credentials, then
// copied 1,000 times by SQL) spread over 4 integrations: first page, a deep
// page, one integration, and searches matching one row, every row and none
// — with the default count cap, as the server runs (totals above it come
// back as cap+1).
func BenchmarkListConnections(b *testing.B, f Factory) {
	db := f.NewDatabase(b)
	st := open(b, db, store.Options{Sealer: keyring(b, newKey())})
	ctx := context.Background()
	for i := range 4 {
		in := store.Integration{Key: fmt.Sprint("int-", i), Provider: "github"}
		must(b, st.CreateIntegration(ctx, &in), "CreateIntegration")
	}
	for i := range 100 {
		c := store.Connection{ProviderConfigKey: fmt.Sprint("int-", i%4), ConnectionID: fmt.Sprintf("user-%04d", i),
			Credentials: oauth2Creds(time.Now().Add(time.Hour)), Metadata: map[string]any{"instance_url": "https://x.example.com"}}
		_, err := st.UpsertConnection(ctx, &c)
		must(b, err, "UpsertConnection")
	}
	db.Exec(b, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
		INSERT INTO connections (provider_config_key, connection_id, auth_mode, expires_at, created_at, updated_at,
			last_refresh_error, refresh_failures, refresh_lease_holder, connection_config, metadata, credentials_key, credentials)
		SELECT c.provider_config_key, c.connection_id || '-' || n.i, c.auth_mode, c.expires_at, c.created_at, c.updated_at,
			c.last_refresh_error, c.refresh_failures, c.refresh_lease_holder, c.connection_config, c.metadata, c.credentials_key, c.credentials
		FROM n CROSS JOIN connections c`)
	// Steady state: what autovacuum (PostgreSQL) or a quiet database
	// reaches on its own.
	db.Exec(b, `VACUUM`)
	db.Exec(b, `ANALYZE`)
	const seeded = 100 * 1001
	capped := func(n int64) int64 { return min(n, int64(store.DefaultCountCap)+1) }
	page, err := st.ListConnections(ctx, store.ConnectionFilter{Limit: 1})
	must(b, err, "ListConnections")
	if page.Total != capped(seeded) || len(page.Connections) != 1 {
		b.Fatalf("seeded: Total %d, want %d (the cap's \"more\")", page.Total, capped(seeded))
	}
	mid := page.Connections[0].ID - seeded/2
	cases := []struct {
		name      string
		f         store.ConnectionFilter
		wantTotal int64
	}{
		{"first page", store.ConnectionFilter{Limit: 50}, capped(seeded)},
		{"deep page", store.ConnectionFilter{Limit: 50, BeforeID: mid}, capped(seeded)},
		{"integration", store.ConnectionFilter{Limit: 50, ProviderConfigKey: "int-2"}, capped(seeded / 4)},
		{"integration deep", store.ConnectionFilter{Limit: 50, ProviderConfigKey: "int-2", BeforeID: mid}, capped(seeded / 4)},
		{"search one", store.ConnectionFilter{Limit: 50, Search: "USER-0042-777"}, 1},
		{"search all", store.ConnectionFilter{Limit: 50, Search: "user"}, capped(seeded)},
		{"search none", store.ConnectionFilter{Limit: 50, Search: "nobody"}, 0},
		{"connection id", store.ConnectionFilter{ConnectionID: "user-0042-777"}, 1},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := st.ListConnections(ctx, bc.f)
				if err != nil {
					b.Fatal(err)
				}
				if p.Total != bc.wantTotal {
					b.Fatalf("Total = %d, want %d", p.Total, bc.wantTotal)
				}
			}
		})
	}
}

// BenchmarkGetConnection measures the token-fetch hot path: one
// GetConnection of an OAuth2 connection with sealed credentials.
func BenchmarkGetConnection(b *testing.B, f Factory) {
	db := f.NewDatabase(b)
	ctx := context.Background()
	for _, enc := range []bool{false, true} {
		opts := store.Options{}
		name := "plaintext"
		if enc {
			opts.Sealer, name = keyring(b, newKey()), "sealed"
		}
		st := open(b, db, opts)
		c := store.Connection{ProviderConfigKey: "gh", ConnectionID: "user-" + name, Credentials: oauth2Creds(time.Now().Add(time.Hour)),
			ConnectionConfig: map[string]any{"subdomain": "acme"}, Metadata: map[string]any{"instance_url": "https://x.example.com"}}
		_, err := st.UpsertConnection(ctx, &c)
		must(b, err, "UpsertConnection")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.GetConnection(ctx, "gh", c.ConnectionID); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+" parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := st.GetConnection(ctx, "gh", c.ConnectionID); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
