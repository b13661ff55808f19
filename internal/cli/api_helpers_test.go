package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

// cliSecretKey is the test servers' NANGO_SECRET_KEY.
const cliSecretKey = "sk-cli-test"

// upstream is a provider for the CLI tests: an OAuth 2 token endpoint
// (refresh_token grant) under /token and an API under /api that records
// each request and echoes it as JSON.
type upstream struct {
	srv       *httptest.Server
	refreshes atomic.Int64
	fail503   atomic.Int64 // answer 503 to this many API calls first

	mu      sync.Mutex
	refuse  bool
	lastReq *recorded
}

// recorded is what the API saw of one request.
type recorded struct {
	Method, Path, Query, Auth, Trace, ContentType, APIKey string
	Body                                                  string
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		u.mu.Lock()
		refuse := u.refuse
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("grant_type") == "client_credentials" {
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "cc-" + r.PostForm.Get("client_id"), "expires_in": 3600})
			return
		}
		if refuse || r.PostForm.Get("grant_type") != "refresh_token" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"token revoked by the user"}`)
			return
		}
		n := u.refreshes.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-new-%d", n), "refresh_token": fmt.Sprintf("rt-new-%d", n), "expires_in": 3600})
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := &recorded{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"),
			Trace: r.Header.Get("X-Trace"), ContentType: r.Header.Get("Content-Type"), APIKey: r.Header.Get("X-Api-Key"), Body: string(body),
		}
		u.mu.Lock()
		u.lastReq = rec
		u.mu.Unlock()
		if u.fail503.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "try again")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "yes")
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(rec)
	})
	u.srv = httptest.NewServer(mux)
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) last() *recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastReq
}

func (u *upstream) setRefuse(b bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.refuse = b
}

// cliProviders is a provider file with one template per auth mode, all
// pointing at the upstream.
func cliProviders(base string) string {
	return strings.ReplaceAll(`t-oauth2:
  auth_mode: OAUTH2
  authorization_url: BASE/authorize
  token_url: BASE/token
  proxy:
    base_url: BASE/api
t-cc:
  auth_mode: OAUTH2_CC
  token_url: BASE/token
t-oauth1:
  auth_mode: OAUTH1
  request_url: BASE/request
  authorization_url: BASE/authorize
  token_url: BASE/access
t-apikey:
  auth_mode: API_KEY
  proxy:
    base_url: BASE/api
    headers:
      x-api-key: ${apiKey}
t-basic:
  auth_mode: BASIC
  proxy:
    base_url: BASE/api
`, "BASE", base)
}

// cliServer is a real nango server (SQLite in a temporary directory, the
// secret key set) behind httptest, and the upstream its templates use.
type cliServer struct {
	url string
	srv *server.Server
	up  *upstream
}

// startCLIServer starts a server with the test templates (t-oauth2,
// t-cc, t-oauth1, t-apikey, t-basic) plus env.
func startCLIServer(t *testing.T, env map[string]string) *cliServer {
	t.Helper()
	up := newUpstream(t)
	dir := t.TempDir()
	providers := filepath.Join(dir, "providers.yaml")
	if err := os.WriteFile(providers, []byte(cliProviders(up.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{
		"TELEMETRY": "false", "NANGO_DATA_DIR": dir, "NANGO_SECRET_KEY": cliSecretKey,
		"NANGO_PROVIDERS_FILE": providers,
	}
	for k, v := range env {
		full[k] = v
	}
	return startServerWith(t, full, up)
}

func startServerWith(t *testing.T, env map[string]string, up *upstream) *cliServer {
	t.Helper()
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
	return &cliServer{url: h.URL, srv: srv, up: up}
}

// store is the server's store, for asserting state.
func (s *cliServer) store() store.Store { return s.srv.Store() }

// result is one CLI run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// runCLI runs the CLI in-process with env as its whole environment.
func runCLI(env map[string]string, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, IO{
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin), DotenvPath: "-",
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// env is the CLI environment pointing at s.
func (s *cliServer) env() map[string]string {
	return map[string]string{"NANGO_HOSTPORT": s.url, "NANGO_SECRET_KEY": cliSecretKey}
}

// run runs the CLI against s.
func (s *cliServer) run(args ...string) result { return runCLI(s.env(), "", args...) }

// runStdin runs the CLI against s with stdin.
func (s *cliServer) runStdin(stdin string, args ...string) result {
	return runCLI(s.env(), stdin, args...)
}

// mustRun runs a command that must succeed.
func (s *cliServer) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := s.run(args...)
	if r.code != ExitOK {
		t.Fatalf("nango %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// decodeJSON parses a --json stdout, failing the test if it is not one
// JSON value.
func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%v", err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%v", r)
	}
}

// wantServerError checks a run that the server refused: exit 1 and
// "❌ <message> (<type>)" on stderr, nothing on stdout.
func wantServerError(t *testing.T, r result, message, typ string) {
	t.Helper()
	want := fmt.Sprintf("❌ %s (%s)", message, typ)
	if r.code != ExitError || !strings.Contains(r.stderr, want) || r.stdout != "" {
		t.Fatalf("want exit 1 with %q on stderr and no stdout; got %v", want, r)
	}
}

// createIntegrations creates one integration per test template: oauth2,
// cc, oauth1, apikey, basic.
func (s *cliServer) createIntegrations(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{
		{"oauth2", "t-oauth2", "cid", "csecret", "read,write"},
		{"cc", "t-cc", "cid", "csecret"},
		{"oauth1", "t-oauth1", "ck", "cs"},
		{"apikey", "t-apikey"},
		{"basic", "t-basic"},
	} {
		s.mustRun(t, append([]string{"config:create"}, args...)...)
	}
}
