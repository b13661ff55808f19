package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

// proxyServer is a whole server (SQLite, secret key, NANGO_PROXY_*
// settings from env) with integration "api" proxying to up.
func proxyServer(t *testing.T, up *httptest.Server, env map[string]string) *server.Server {
	t.Helper()
	dir := t.TempDir()
	providers := filepath.Join(dir, "providers.yaml")
	yaml := "t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: https://example.com/t\n  proxy:\n    base_url: " + up.URL + "/api\n"
	if err := os.WriteFile(providers, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{"TELEMETRY": "false", "NANGO_DATA_DIR": dir, "NANGO_PROVIDERS_FILE": providers, "NANGO_SECRET_KEY": "sk-wire"}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := full[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	if err := srv.Store().CreateIntegration(ctx, &store.Integration{Key: "api", Provider: "t-api", ClientID: "c", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store().UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "api", ConnectionID: "u1",
		Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String("at-1")}}); err != nil {
		t.Fatal(err)
	}
	return srv
}

func proxyGet(t *testing.T, base, rawPath, auth string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = rawPath // sent verbatim, "//" included
	req.Header.Set("Connection-Id", "u1")
	req.Header.Set("Provider-Config-Key", "api")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestProxyRouteWiring(t *testing.T) {
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.EscapedPath()+" "+r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	srv := proxyServer(t, up, map[string]string{"NANGO_PROXY_MAX_ATTEMPTS": "2"})
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(h.Close)

	t.Run("secret key required", func(t *testing.T) {
		resp := proxyGet(t, h.URL, "/proxy/user", "")
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), "missing_auth_header") {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} {
		t.Run(method+" reaches the upstream with the connection's token", func(t *testing.T) {
			req, _ := http.NewRequest(method, h.URL+"/proxy/user", strings.NewReader("b"))
			req.Header.Set("Connection-Id", "u1")
			req.Header.Set("Provider-Config-Key", "api")
			req.Header.Set("Authorization", "Bearer sk-wire")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || seen[len(seen)-1] != "/api/user Bearer at-1" {
				t.Errorf("got %d, upstream saw %q", resp.StatusCode, seen[len(seen)-1])
			}
		})
	}

	// ServeMux redirects "//" paths to their cleaned form before any
	// pattern matches; proxy.RawPaths in front of the mux prevents it.
	t.Run("double slash through the server's own handler", func(t *testing.T) {
		resp := proxyGet(t, h.URL, "/proxy//user", "Bearer sk-wire")
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || seen[len(seen)-1] != "/api/user Bearer at-1" {
			t.Errorf("got %d, upstream saw %q", resp.StatusCode, seen[len(seen)-1])
		}
	})
}
