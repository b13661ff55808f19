package dashboard_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// BenchmarkConnectionsPage measures the server time of GET /connections
// (the whole handler: guard, store queries, template) with 100,000
// connections in the database (SQLite, credentials encrypted): the first
// page, a deep page, an integration's pages, and searches matching one,
// every and no connection. Run it with
//
//	go test ./internal/dashboard -run '^$' -bench ConnectionsPage -benchtime 50x
func BenchmarkConnectionsPage(b *testing.B) {
	s := start(b, map[string]string{"NANGO_ENCRYPTION_KEY": "q83vEjz3HxcHq5KJ6aC2Xl3I7NaUbQ1AbvjXhGg0pTs=", "LOG_LEVEL": "warn"})
	total := seed100k(b, s)
	mid := total / 2
	h := s.srv.Handler()
	cases := []struct {
		name, query string
		wantTotal   int64
	}{
		{"first page", "", total},
		{"deep page", "before=" + strconv.FormatInt(mid, 10), total},
		{"integration", "integration=int-2", total / 4},
		{"integration deep page", "integration=int-2&before=" + strconv.FormatInt(mid, 10), total / 4},
		{"search one", "q=USER-0042-777", 1},
		{"search all", "q=user", total},
		{"search none", "q=nobody", 0},
		{"search in integration", "q=user-0042&integration=int-2", 1001},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			want := fmtTotal(bc.wantTotal)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/connections?"+bc.query, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				if !strings.Contains(rec.Body.String(), want) {
					i := strings.Index(rec.Body.String(), "connection(s)")
					b.Fatalf("the page does not show %q: %q", want, rec.Body.String()[max(0, i-60):i+15])
				}
			}
		})
	}
}

// fmtTotal is how the page shows a total: counts stop at the store's cap
// (store.DefaultCountCap), shown as "10,000+".
func fmtTotal(n int64) string {
	suffix := ""
	if n > store.DefaultCountCap {
		n, suffix = store.DefaultCountCap, "&#43;" // html/template escapes "+"
	}
	s := strconv.FormatInt(n, 10)
	if n >= 1000 {
		s = s[:len(s)-3] + "," + s[len(s)-3:]
	}
	return ">" + s + suffix + " connection(s)"
}

// seed100k writes 100 connections through the store (sealed credentials)
// over 4 integrations, then copies them 1,000 times by SQL, and returns
// the number of connections.
func seed100k(b *testing.B, s *testServer) int64 {
	b.Helper()
	ctx := b.Context()
	for i := range 4 {
		seedIntegration(b, s.store, fmt.Sprint("int-", i), "github")
	}
	exp := time.Now().Add(time.Hour)
	for i := range 100 {
		c := store.Connection{ProviderConfigKey: fmt.Sprint("int-", i%4), ConnectionID: fmt.Sprintf("user-%04d", i),
			Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(secret.RandomToken(32)),
				RefreshToken: secret.String(secret.RandomToken(32)), ExpiresAt: &exp, Raw: map[string]any{"scope": "repo"}},
			Metadata: map[string]any{"team": "core"}}
		if _, err := s.store.UpsertConnection(ctx, &c); err != nil {
			b.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+s.cfg.DB.SQLitePath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
		INSERT INTO connections (provider_config_key, connection_id, auth_mode, expires_at, created_at, updated_at,
			last_refresh_error, refresh_failures, refresh_lease_holder, connection_config, metadata, credentials_key, credentials)
		SELECT c.provider_config_key, c.connection_id || '-' || n.i, c.auth_mode, c.expires_at, c.created_at, c.updated_at,
			c.last_refresh_error, c.refresh_failures, c.refresh_lease_holder, c.connection_config, c.metadata, c.credentials_key, c.credentials
		FROM n CROSS JOIN connections c`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var total int64
	if err := db.QueryRow(`SELECT count(*) FROM connections`).Scan(&total); err != nil || total != 100_100 {
		b.Fatalf("seeded %d connections (%v), want 100,100", total, err)
	}
	return total
}
