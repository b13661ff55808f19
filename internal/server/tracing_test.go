package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

// TestTracingEndToEnd runs a whole server with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at a local collector. A proxied call on an expired connection
// (a refresh, then the upstream call), sent with a W3C traceparent, gives
// one trace: the request's server span, child of the caller's span, with
// the token request and the upstream call as client spans beneath it. The
// export carries the configured header and none of the request's values
// (tokens, secret key, connection id, query, path); the request's log line
// names the trace.
func TestTracingEndToEnd(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
		keys   []string
	)
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		keys = append(keys, r.URL.Path+" "+r.Header.Get("X-Collector-Key"))
		mu.Unlock()
	}))
	t.Cleanup(col.Close)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"at-fresh-secret","refresh_token":"rt-2-secret","expires_in":3600}`)
			return
		}
		if r.Header.Get("Traceparent") != "" {
			t.Errorf("the upstream (a third party) received a traceparent header")
		}
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)

	dir := t.TempDir()
	providers := filepath.Join(dir, "providers.yaml")
	yaml := "t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: " + up.URL + "/token\n  proxy:\n    base_url: " + up.URL + "/api\n"
	if err := os.WriteFile(providers, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TELEMETRY": "false", "NANGO_DATA_DIR": dir, "NANGO_PROVIDERS_FILE": providers, "NANGO_SECRET_KEY": "sk-trace-secret",
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL, "OTEL_EXPORTER_OTLP_HEADERS": "X-Collector-Key=ck-1", "OTEL_SERVICE_NAME": "nango-test"}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := server.Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = srv.Close()
		}
	})
	ctx := context.Background()
	if err := srv.Store().CreateIntegration(ctx, &store.Integration{Key: "api", Provider: "t-api", ClientID: "c", ClientSecret: "cs-secret"}); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	if _, err := srv.Store().UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "api", ConnectionID: "conn-id-secret",
		Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String("at-old-secret"), RefreshToken: secret.String("rt-1-secret"), ExpiresAt: &past}}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	const callerTrace, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/proxy/users/path-secret?q=query-secret", nil)
	req.Header.Set("Connection-Id", "conn-id-secret")
	req.Header.Set("Provider-Config-Key", "api")
	req.Header.Set("Authorization", "Bearer sk-trace-secret")
	req.Header.Set("Traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "upstream" {
		t.Fatalf("proxy answered %d %q", resp.StatusCode, b)
	}
	// The caller can read the whole answer before the handler (and the
	// middleware ending its span) has returned: stop the HTTP server first,
	// which waits for its handlers, as nango serve's shutdown does.
	ts.Close()
	closed = true
	if err := srv.Close(); err != nil { // flushes the queued spans
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) == 0 {
		t.Fatal("the collector received nothing")
	}
	for _, k := range keys {
		if k != "/v1/traces ck-1" {
			t.Fatalf("export to %q (path, header)", k)
		}
	}
	type span struct {
		TraceID, SpanID, ParentSpanID, Name string
		Kind                                int
	}
	var spans []span
	for _, body := range bodies {
		for _, s := range []string{"secret", "path-secret", "query-secret", "/users"} {
			if strings.Contains(body, s) {
				t.Fatalf("the export holds %q: %s", s, body)
			}
		}
		var doc struct {
			ResourceSpans []struct {
				ScopeSpans []struct{ Spans []span }
			}
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		for _, rs := range doc.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
		if !strings.Contains(body, `"nango-test"`) {
			t.Fatalf("service.name missing: %s", body)
		}
	}
	byName := map[string]span{}
	for _, s := range spans {
		if s.TraceID != callerTrace {
			t.Fatalf("span %+v is not in the caller's trace", s)
		}
		byName[s.Name] = s
	}
	root, ok := byName["GET /proxy/"]
	if !ok || root.ParentSpanID != callerSpan || root.Kind != 2 {
		t.Fatalf("server span missing or not the caller's child: %+v", spans)
	}
	host := strings.TrimPrefix(up.URL, "http://")
	host = host[:strings.IndexByte(host, ':')]
	for _, name := range []string{"oauth POST " + host, "proxy GET " + host} {
		s, ok := byName[name]
		if !ok || s.ParentSpanID != root.SpanID || s.Kind != 3 {
			t.Fatalf("client span %q missing or not the request's child: %+v", name, spans)
		}
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+callerTrace+`"`) {
		t.Fatalf("the request log line does not name the trace:\n%s", logs)
	}
}
