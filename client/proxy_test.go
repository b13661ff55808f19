package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nango-go/nango/client"
	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

// pxStack is a real nango server (SQLite, secret key set) whose integration
// "api" proxies to an upstream that echoes what it receives.
type pxStack struct {
	url string
	key string
	srv *server.Server
}

func pxStart(t *testing.T) *pxStack {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream-Path", r.URL.EscapedPath())
		w.Header().Set("X-Upstream-Query", r.URL.RawQuery)
		w.Header().Set("X-Upstream-Method", r.Method)
		w.Header().Set("X-Upstream-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Upstream-Trace", r.Header.Get("X-Trace"))
		w.Header().Set("X-Upstream-Accept", r.Header.Get("Accept"))
		w.Header().Set("X-Upstream-Content-Type", r.Header.Get("Content-Type"))
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	providers := filepath.Join(dir, "providers.yaml")
	yaml := "t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: https://example.com/t\n  proxy:\n    base_url: " + up.URL + "\n"
	if err := os.WriteFile(providers, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TELEMETRY": "false", "NANGO_DATA_DIR": dir, "NANGO_PROVIDERS_FILE": providers, "NANGO_SECRET_KEY": "sk-proxy-test"}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { h.Close(); _ = srv.Close() })
	ctx := context.Background()
	st := srv.Store()
	if err := st.CreateIntegration(ctx, &store.Integration{Key: "api", Provider: "t-api", ClientID: "c", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "api", ConnectionID: "u1",
		Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String("at-1")}}); err != nil {
		t.Fatal(err)
	}
	return &pxStack{url: h.URL, key: "sk-proxy-test", srv: srv}
}

func (s *pxStack) client(t *testing.T, key string) *client.Client {
	t.Helper()
	c, err := client.New(s.url, client.WithSecretKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pxBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProxy(t *testing.T) {
	s := pxStart(t)
	c := s.client(t, s.key)
	ctx := context.Background()

	t.Run("GET with query, headers and escapes", func(t *testing.T) {
		resp, err := c.Proxy(ctx, client.ProxyRequest{
			Endpoint: "/files/a%2Fb c?x=1", ProviderConfigKey: "api", ConnectionID: "u1",
			Query:   url.Values{"page": {"2"}},
			Headers: http.Header{"X-Trace": {"t-1"}, "Accept": {"application/vnd.api+json"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		pxBody(t, resp)
		h := resp.Header
		want := map[string]string{
			"X-Upstream-Method": "GET", "X-Upstream-Path": "/files/a%2Fb%20c", "X-Upstream-Query": "x=1&page=2",
			"X-Upstream-Auth": "Bearer at-1", "X-Upstream-Trace": "t-1", "X-Upstream-Accept": "application/vnd.api+json",
			client.ProxyAttemptsHeader: "1",
		}
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})

	t.Run("endpoint escaping", func(t *testing.T) {
		for in, want := range map[string]string{
			"100%":            "/100%25",
			"//user":          "/user",
			"a%2fb/ü":         "/a%2fb/%C3%BC",
			"repos/o/r:x@y!z": "/repos/o/r:x@y!z",
		} {
			resp, err := c.Proxy(ctx, client.ProxyRequest{Endpoint: in, ProviderConfigKey: "api", ConnectionID: "u1"})
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			pxBody(t, resp)
			if got := resp.Header.Get("X-Upstream-Path"); got != want {
				t.Errorf("endpoint %q reached %q, want %q", in, got, want)
			}
		}
	})

	t.Run("POST streams the body", func(t *testing.T) {
		resp, err := c.Proxy(ctx, client.ProxyRequest{
			Method: "post", Endpoint: "items", ProviderConfigKey: "api", ConnectionID: "u1", Retries: 3,
			Headers: http.Header{"Content-Type": {"application/json"}}, Body: bytes.NewReader([]byte(`{"a":1}`)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if body := pxBody(t, resp); body != `{"a":1}` || resp.Header.Get("X-Upstream-Method") != "POST" || resp.Header.Get("X-Upstream-Content-Type") != "application/json" {
			t.Errorf("upstream got %s %q as %q", resp.Header.Get("X-Upstream-Method"), body, resp.Header.Get("X-Upstream-Content-Type"))
		}
	})

	t.Run("an upstream error is a response, not an error", func(t *testing.T) {
		resp, err := c.Proxy(ctx, client.ProxyRequest{Endpoint: "missing", ProviderConfigKey: "api", ConnectionID: "u1"})
		if err != nil {
			t.Fatalf("err = %v", err)
		}
		if body := pxBody(t, resp); resp.StatusCode != 404 || body != `{"message":"Not Found"}` {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})

	tests := []struct {
		name   string
		c      *client.Client
		req    client.ProxyRequest
		status int
		typ    string
	}{
		{"unknown connection", c, client.ProxyRequest{Endpoint: "x", ProviderConfigKey: "api", ConnectionID: "nobody"}, 400, "unkown_connection"},
		{"wrong secret key", s.client(t, "wrong"), client.ProxyRequest{Endpoint: "x", ProviderConfigKey: "api", ConnectionID: "u1"}, 401, "invalid_secret_key"},
		{"override refused", c, client.ProxyRequest{Endpoint: "x", ProviderConfigKey: "api", ConnectionID: "u1", BaseURLOverride: "https://example.com"}, 403, "base_url_override_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.c.Proxy(ctx, tt.req)
			if resp != nil {
				t.Fatalf("got a response (%d) with the error", resp.StatusCode)
			}
			var e *client.APIError
			if !errors.As(err, &e) || e.Status != tt.status || e.Type != tt.typ {
				t.Fatalf("err = %v, want *APIError %d %s", err, tt.status, tt.typ)
			}
		})
	}

	t.Run("missing arguments", func(t *testing.T) {
		for _, r := range []client.ProxyRequest{
			{Endpoint: "x", ConnectionID: "u1"},
			{Endpoint: "x", ProviderConfigKey: "api"},
			{Endpoint: "/", ProviderConfigKey: "api", ConnectionID: "u1"},
			{Endpoint: "x", ProviderConfigKey: "api", ConnectionID: "u1", Retries: -1},
			{Endpoint: "x#frag", ProviderConfigKey: "api", ConnectionID: "u1"},
		} {
			if _, err := c.Proxy(ctx, r); err == nil || strings.Contains(err.Error(), "HTTP") {
				t.Errorf("%+v: err = %v, want a local error", r, err)
			}
		}
	})
}
