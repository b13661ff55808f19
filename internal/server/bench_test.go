package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
)

// The request path in-process (no network): the whole handler — request
// id, log line, metrics, CORS, routing, secret-key check, the credential
// service and the JSON answer — as in production (secret key and
// encryption on, LOG_LEVEL=info into a discarding text handler). Run with
//
//	go test ./internal/server -run '^$' -bench . -benchmem
//
// bench/ measures the same over the network against a hello-world bound.

const benchSecret = "bench-secret-key"

// benchServer opens a server on env with 1,000 imported connections
// (far-future expiry, so no refresh) and returns its handler.
func benchServer(b *testing.B, env map[string]string) http.Handler {
	b.Helper()
	_, key := secret.GenerateKey()
	full := map[string]string{"TELEMETRY": "false", "LOG_LEVEL": "info", "NANGO_SECRET_KEY": benchSecret,
		"NANGO_ENCRYPTION_KEY": key.Reveal()}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := full[k]; return v, ok }})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	h := srv.Handler()
	send := func(method, path, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+benchSecret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
	send("POST", "/config", `{"provider_config_key":"gh","provider":"github","oauth_client_id":"cid","oauth_client_secret":"cs"}`)
	for i := range benchConnections {
		send("POST", "/connection", fmt.Sprintf(`{"provider_config_key":"gh","connection_id":"user-%04d",`+
			`"access_token":"gho_%036d","refresh_token":"ghr_%036d","expires_at":"2100-01-01T00:00:00Z",`+
			`"metadata":{"account":"acme"},"connection_config":{"tenant":"acme"}}`, i, i, i))
	}
	return h
}

const benchConnections = 1000

func forEachBenchDriver(b *testing.B, fn func(b *testing.B, h http.Handler)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, benchServer(b, map[string]string{"NANGO_DATA_DIR": b.TempDir()})) })
	b.Run("postgres", func(b *testing.B) {
		fn(b, benchServer(b, map[string]string{"NANGO_DATABASE_URL": pgtest.DSN(b)}))
	})
}

// BenchmarkTokenFetch is GET /connection/:id over random connections.
func BenchmarkTokenFetch(b *testing.B) {
	forEachBenchDriver(b, benchTokenFetch)
}

// BenchmarkTokenFetchTraced is the token fetch on SQLite with tracing on:
// every request sampled, its span exported to a local collector that
// discards it — the cost of a span per request.
func BenchmarkTokenFetchTraced(b *testing.B) {
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	b.Cleanup(col.Close)
	benchTokenFetch(b, benchServer(b, map[string]string{"NANGO_DATA_DIR": b.TempDir(), "OTEL_EXPORTER_OTLP_ENDPOINT": col.URL}))
}

func benchTokenFetch(b *testing.B, h http.Handler) {
	reqs := make([]*http.Request, benchConnections)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", fmt.Sprintf("/connection/user-%04d?provider_config_key=gh", i), nil)
		reqs[i].Header.Set("Authorization", "Bearer "+benchSecret)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, reqs[rng.IntN(len(reqs))])
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkHealth is GET /health: the middleware's cost around a trivial
// handler.
func BenchmarkHealth(b *testing.B) {
	h := benchServer(b, map[string]string{"NANGO_DATA_DIR": b.TempDir()})
	req := httptest.NewRequest("GET", "/health", nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}
