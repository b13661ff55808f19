package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nango-go/nango/client"
	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/server"
)

// apiServer is a real nango server (SQLite in a temporary directory)
// behind httptest.
type apiServer struct {
	URL  string
	srv  *server.Server
	http *httptest.Server
	dir  string
	// extra is another directory Close removes.
	extra string
}

// openAPIServer starts a server with env on top of hermetic defaults. The
// SQLite database lives in a new temporary directory that Close removes.
func openAPIServer(env map[string]string) (*apiServer, error) {
	dir, err := os.MkdirTemp("", "nango-client-test-")
	if err != nil {
		return nil, err
	}
	full := map[string]string{"TELEMETRY": "false", "NANGO_DATA_DIR": dir}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := full[k]; return v, ok }})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	srv, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	h := httptest.NewServer(srv.Handler())
	return &apiServer{URL: h.URL, srv: srv, http: h, dir: dir}, nil
}

// Close stops the server and removes its database.
func (s *apiServer) Close() {
	s.http.Close()
	_ = s.srv.Close()
	_ = os.RemoveAll(s.dir)
	if s.extra != "" {
		_ = os.RemoveAll(s.extra)
	}
}

// startAPIServer is openAPIServer for a test.
func startAPIServer(t *testing.T, env map[string]string) *apiServer {
	t.Helper()
	s, err := openAPIServer(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// newAPIClient returns a client of s.
func newAPIClient(t *testing.T, s *apiServer, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeFile writes data to a new file in dir and returns its path.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeProvider is an OAuth 2 token endpoint (refresh_token grant) and an
// API that records the Authorization header it receives.
type fakeProvider struct {
	srv       *httptest.Server
	refreshes atomic.Int64
	issued    atomic.Int64 // client-credentials tokens issued

	mu       sync.Mutex
	refused  bool     // answer invalid_grant
	seenRTs  []string // refresh tokens received
	lastAuth string   // Authorization of the last API call
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	p := &fakeProvider{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && r.PostForm.Get("grant_type") == "client_credentials" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"access_token": fmt.Sprintf("cc-issued-%s-%d", r.PostForm.Get("client_id"), p.issued.Add(1)), "expires_in": 3600,
			})
			return
		}
		if r.PostForm.Get("grant_type") != "refresh_token" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.seenRTs = append(p.seenRTs, r.PostForm.Get("refresh_token"))
		refused := p.refused
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if refused {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token revoked"}`))
			return
		}
		n := p.refreshes.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("at-refreshed-%d", n), "refresh_token": fmt.Sprintf("rt-%d", n),
			"expires_in": 3600, "token_type": "bearer",
		})
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.lastAuth = r.Header.Get("Authorization")
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProvider) refuse(b bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused = b
}

func (p *fakeProvider) auth() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuth
}

func (p *fakeProvider) refreshTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seenRTs...)
}

// testProviders is a provider file with one template per auth mode, all
// pointing at the fake provider.
func testProviders(base string) string {
	return strings.ReplaceAll(`
test-oauth2:
  auth_mode: OAUTH2
  authorization_url: BASE/authorize
  token_url: BASE/token
  proxy:
    base_url: BASE/api
test-cc:
  auth_mode: OAUTH2_CC
  token_url: BASE/token
test-oauth1:
  auth_mode: OAUTH1
  request_url: BASE/request
  authorization_url: BASE/authorize
  token_url: BASE/access
test-apikey:
  auth_mode: API_KEY
  proxy:
    base_url: BASE/api
    headers:
      x-api-key: ${apiKey}
test-basic:
  auth_mode: BASIC
  proxy:
    base_url: BASE/api
`, "BASE", base)
}

// fixture is a server with the test templates, one integration per auth
// mode (keys "oauth2", "cc", "oauth1", "apikey", "basic"), and its
// secret key set.
type fixture struct {
	srv      *apiServer
	provider *fakeProvider
	c        *client.Client
}

const testSecretKey = "sk-client-test"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p := newFakeProvider(t)
	s := startAPIServer(t, map[string]string{
		"NANGO_SECRET_KEY":     testSecretKey,
		"NANGO_PROVIDERS_FILE": writeFile(t, "providers.yaml", testProviders(p.srv.URL)),
	})
	c := newAPIClient(t, s, client.WithSecretKey(testSecretKey))
	ctx := context.Background()
	for key, tmpl := range map[string]string{"oauth2": "test-oauth2", "cc": "test-cc", "oauth1": "test-oauth1", "apikey": "test-apikey", "basic": "test-basic"} {
		if _, err := c.CreateIntegration(ctx, client.IntegrationInput{
			ProviderConfigKey: key, Provider: tmpl, OAuthClientID: "cid", OAuthClientSecret: "csecret",
		}); err != nil {
			t.Fatalf("creating %s: %v", key, err)
		}
	}
	return &fixture{srv: s, provider: p, c: c}
}
