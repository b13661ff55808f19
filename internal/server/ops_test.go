package server_test

// Tests of the operations wiring (wire_ops.go): /ready on both drivers with
// the database gone, /metrics after a real OAuth flow, a refresh and a
// proxied call, the metrics modes, and telemetry against a local endpoint.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/telemetry"
)

// --- harness ------------------------------------------------------------------

// opsServer is a server behind an httptest server whose URL is the
// configured NANGO_SERVER_URL (so OAuth callbacks reach it).
type opsServer struct {
	srv    *server.Server
	http   *httptest.Server
	logs   *syncBuffer
	cfg    *config.Config
	closed atomic.Bool
}

func openOpsServer(t *testing.T, env map[string]string) *opsServer {
	t.Helper()
	var h atomic.Value
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	full := map[string]string{"TELEMETRY": "false", "LOG_LEVEL": "debug", "LOG_FORMAT": "json",
		"NANGO_SERVER_URL": "http://" + ts.Listener.Addr().String()}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := full[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		ts.Listener.Close()
		t.Fatalf("server.Open: %v", err)
	}
	h.Store(srv.Handler())
	ts.Start()
	s := &opsServer{srv: srv, http: ts, logs: logs, cfg: cfg}
	t.Cleanup(s.close)
	return s
}

func (s *opsServer) close() {
	if s.closed.Swap(true) {
		return
	}
	s.http.Close()
	_ = s.srv.Close()
}

// do sends a request with the secret key (when set) and returns status and
// body.
func (s *opsServer) do(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.http.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !s.cfg.SecretKey.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.cfg.SecretKey.Reveal())
	}
	return opsSend(t, req)
}

func opsSend(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func opsGet(t *testing.T, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return opsSend(t, req)
}

// opsProvider is a scripted OAuth 2 provider with a protected API: codes
// and tokens are random; every refresh rotates the refresh token; it
// remembers every secret it issued.
type opsProvider struct {
	srv          *httptest.Server
	clientID     string
	clientSecret string

	mu      sync.Mutex
	codes   map[string]bool
	tokens  map[string]bool // valid access tokens
	refresh map[string]bool // valid refresh tokens
	secrets []string
	reused  int
}

func newOpsProvider(t *testing.T) *opsProvider {
	p := &opsProvider{clientID: "ops-client-" + secret.RandomToken(8), clientSecret: "ops-cs-" + secret.RandomToken(20),
		codes: map[string]bool{}, tokens: map[string]bool{}, refresh: map[string]bool{}}
	p.secrets = append(p.secrets, p.clientID, p.clientSecret)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != p.clientID || q.Get("state") == "" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := "ops-code-" + secret.RandomToken(16)
		p.mu.Lock()
		p.codes[code] = true
		p.secrets = append(p.secrets, code, q.Get("state"))
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"state": {q.Get("state")}, "code": {code}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.PostForm
		p.mu.Lock()
		defer p.mu.Unlock()
		if f.Get("client_id") != p.clientID || f.Get("client_secret") != p.clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		switch f.Get("grant_type") {
		case "authorization_code":
			if !p.codes[f.Get("code")] {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
				return
			}
			delete(p.codes, f.Get("code"))
		case "refresh_token":
			if !p.refresh[f.Get("refresh_token")] {
				p.reused++
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
				return
			}
			delete(p.refresh, f.Get("refresh_token"))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"unsupported_grant_type"}`)
			return
		}
		at, rt := "ops-at-"+secret.RandomToken(24), "ops-rt-"+secret.RandomToken(24)
		p.tokens[at], p.refresh[rt] = true, true
		p.secrets = append(p.secrets, at, rt)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "refresh_token": rt, "expires_in": 3600, "token_type": "bearer"})
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		ok := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		p.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"me":"user"}`)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *opsProvider) issued() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.secrets...)
}

// providersFile writes the custom template "ops-oauth" for p.
func (p *opsProvider) providersFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "providers.yaml")
	yaml := fmt.Sprintf("ops-oauth:\n  auth_mode: OAUTH2\n  authorization_url: %s/authorize\n  token_url: %s/token\n  proxy:\n    base_url: %s\n",
		p.srv.URL, p.srv.URL, p.srv.URL)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// scenario runs a flow, a forced refresh, a read, a list and a proxied
// call against s, with integration key and connection id of its own.
type scenario struct {
	key, connectionID string
}

func newScenario() scenario {
	return scenario{key: "ops-key-" + secret.RandomToken(6), connectionID: "ops-user-" + secret.RandomToken(6)}
}

func (sc scenario) run(t *testing.T, s *opsServer, p *opsProvider) {
	t.Helper()
	if code, body := s.do(t, "POST", "/config", map[string]any{"provider_config_key": sc.key, "provider": "ops-oauth",
		"oauth_client_id": p.clientID, "oauth_client_secret": p.clientSecret, "oauth_scopes": "read"}); code/100 != 2 {
		t.Fatalf("POST /config = %d %s", code, body)
	}
	// The popup flow without the SDK (no ws_client_id: the legacy page).
	code, body := opsGet(t, s.http.URL+"/oauth/connect/"+sc.key+"?connection_id="+sc.connectionID)
	if code != 200 || !strings.Contains(body, "AUTHORIZATION_SUCEEDED") {
		t.Fatalf("flow = %d %s", code, body)
	}
	path := "/connection/" + sc.connectionID + "?provider_config_key=" + sc.key
	if code, body := s.do(t, "GET", path+"&force_refresh=true", nil); code != 200 {
		t.Fatalf("GET %s (forced refresh) = %d %s", path, code, body)
	}
	if code, body := s.do(t, "GET", path, nil); code != 200 {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	if code, body := s.do(t, "GET", "/connection", nil); code != 200 {
		t.Fatalf("GET /connection = %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", s.http.URL+"/proxy/api/me", nil)
	req.Header.Set("Connection-Id", sc.connectionID)
	req.Header.Set("Provider-Config-Key", sc.key)
	if !s.cfg.SecretKey.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.cfg.SecretKey.Reveal())
	}
	if code, body := opsSend(t, req); code != 200 || !strings.Contains(body, `"me"`) {
		t.Fatalf("proxy = %d %s", code, body)
	}
}

// driverEnv runs fn on SQLite and on PostgreSQL (when configured).
func opsForEachDriver(t *testing.T, fn func(t *testing.T, env map[string]string, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, map[string]string{"NANGO_DATA_DIR": t.TempDir()}, false) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_DATABASE_URL": pgtest.DSN(t)}, true)
	})
}

// --- /ready -------------------------------------------------------------------

func readyState(t *testing.T, s *opsServer) (int, map[string]string) {
	t.Helper()
	code, body := opsGet(t, s.http.URL+"/ready")
	var m map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("/ready body %q: %v", body, err)
	}
	return code, m
}

func TestReadySQLite(t *testing.T) {
	dir := t.TempDir()
	s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": dir})
	if code, m := readyState(t, s); code != 200 || m["result"] != "ok" || len(m) != 1 {
		t.Fatalf("/ready = %d %v, want 200 {result: ok}", code, m)
	}

	// A migration disappears from the record: the schema is behind.
	db, err := sql.Open("sqlite", filepath.Join(dir, "nango.db"))
	if err != nil {
		t.Fatal(err)
	}
	var latest int
	if err := db.QueryRow("SELECT max(version) FROM schema_migrations").Scan(&latest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM schema_migrations WHERE version = ?", latest); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	code, m := readyState(t, s)
	want := fmt.Sprintf("database migrations pending (schema %d, this server needs %d)", latest-1, latest)
	if code != 503 || m["result"] != "unavailable" || m["reason"] != want {
		t.Fatalf("/ready with a migration missing = %d %v, want 503 %q", code, m, want)
	}

	// The database goes away (the store is closed): not ready; /health stays up.
	_ = s.srv.Store().Close()
	if code, m := readyState(t, s); code != 503 || m["reason"] != "database unreachable" {
		t.Fatalf("/ready with the database closed = %d %v, want 503 database unreachable", code, m)
	}
	if code, _ := opsGet(t, s.http.URL+"/health"); code != 200 {
		t.Errorf("/health = %d, want 200: liveness does not depend on the database", code)
	}
	if !strings.Contains(s.logs.String(), `"msg":"not ready"`) {
		t.Error("the change to not ready was not logged")
	}
}

// tcpGate forwards loopback connections to target until closed; Close
// refuses new connections and cuts the open ones (a stopped database as
// seen from the server).
type tcpGate struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newTCPGate(t *testing.T, target string) *tcpGate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &tcpGate{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			g.mu.Lock()
			g.conns = append(g.conns, c, up)
			g.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(g.close)
	return g
}

func (g *tcpGate) close() {
	_ = g.ln.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		_ = c.Close()
	}
	g.conns = nil
}

func TestReadyPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	gate := newTCPGate(t, u.Host)
	u.Host = gate.ln.Addr().String()
	s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_DATABASE_URL": u.String()})
	if code, m := readyState(t, s); code != 200 || m["result"] != "ok" {
		t.Fatalf("/ready = %d %v, want 200", code, m)
	}
	gate.close() // the port is now closed and every pooled connection cut
	code, m := readyState(t, s)
	if code != 503 || m["reason"] != "database unreachable" {
		t.Fatalf("/ready with PostgreSQL gone = %d %v, want 503 database unreachable", code, m)
	}
	if strings.Contains(m["reason"], "127.0.0.1") || strings.Contains(m["reason"], "postgres") {
		t.Errorf("the public reason names the database: %q", m["reason"])
	}
}

// --- /metrics -----------------------------------------------------------------

// scrapeMetrics reads /metrics with the secret key.
func scrapeMetrics(t *testing.T, s *opsServer) string {
	t.Helper()
	code, body := s.do(t, "GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("GET /metrics = %d %s", code, body)
	}
	return body
}

// metricValue returns the value of the series line starting with prefix
// (name and labels, in the exposition's label order), or -1.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, series+" "), "%g", &v); err == nil {
				return v
			}
		}
	}
	return -1
}

func TestMetricsAfterFlowRefreshAndProxy(t *testing.T) {
	opsForEachDriver(t, func(t *testing.T, env map[string]string, pg bool) {
		p := newOpsProvider(t)
		env["NANGO_PROVIDERS_FILE"] = p.providersFile(t)
		env["NANGO_SECRET_KEY"] = "ops-secret-" + secret.RandomToken(12)
		env["NANGO_PROXY_ALLOW_PRIVATE_NETWORKS"] = "true"
		s := openOpsServer(t, env)
		sc := newScenario()
		sc.run(t, s, p)

		// The proxied call is observed as it ends and its request when the
		// middleware returns, both of which can come after the caller has
		// its answer; a counter and its histogram are two updates a scrape
		// can fall between. Wait for all three (the request's series is
		// updated last, after the in-flight gauge).
		var text string
		deadline := time.Now().Add(10 * time.Second)
		for {
			text = scrapeMetrics(t, s)
			if (metricValue(text, `nango_proxy_requests_total{provider="ops-oauth",status="200"}`) >= 1 &&
				metricValue(text, `nango_proxy_request_duration_seconds_count{provider="ops-oauth"}`) >= 1 &&
				metricValue(text, `nango_http_request_duration_seconds_count{method="GET",route="/proxy/"}`) >= 1) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		pool := "reader"
		if pg {
			pool = "main"
		}
		checks := []struct {
			name   string
			series string
			min    float64
			max    float64
		}{
			{"flow", `nango_oauth_flows_total{outcome="success",provider="ops-oauth"}`, 1, 1},
			{"flow duration", `nango_oauth_flow_duration_seconds_count{outcome="success"}`, 1, 1},
			{"refresh", `nango_token_refreshes_total{outcome="success",provider="ops-oauth"}`, 1, 1},
			{"refresh duration", `nango_token_refresh_duration_seconds_count{provider="ops-oauth"}`, 1, 1},
			{"proxy", `nango_proxy_requests_total{provider="ops-oauth",status="200"}`, 1, 1},
			{"proxy duration", `nango_proxy_request_duration_seconds_count{provider="ops-oauth"}`, 1, 1},
			{"connection reads", `nango_http_requests_total{method="GET",route="/connection/{connectionId...}",status="200"}`, 2, 2},
			{"list", `nango_http_requests_total{method="GET",route="/connection",status="200"}`, 1, 1},
			{"config", `nango_http_requests_total{method="POST",route="/config",status="200"}`, 1, 1},
			{"flow start", `nango_http_requests_total{method="GET",route="/oauth/connect/{providerConfigKey}",status="302"}`, 1, 1},
			{"callback", `nango_http_requests_total{method="GET",route="/oauth/callback",status="200"}`, 1, 1},
			{"proxy route", `nango_http_requests_total{method="GET",route="/proxy/",status="200"}`, 1, 1},
			{"latency", `nango_http_request_duration_seconds_count{method="GET",route="/connection/{connectionId...}"}`, 2, 2},
			{"in flight (this scrape)", `nango_http_requests_in_flight`, 1, 1},
			{"pool limit", fmt.Sprintf(`nango_db_pool_max_connections{pool="%s"}`, pool), 1, 1000},
			{"pool idle", fmt.Sprintf(`nango_db_pool_connections{pool="%s",state="idle"}`, pool), 0, 1000},
			{"pool waits", fmt.Sprintf(`nango_db_pool_waits_total{pool="%s"}`, pool), 0, 1e9},
			{"websockets", `nango_websocket_clients`, 0, 0},
			// The two reads and the proxied call fetch credentials (at least
			// the first from the database, the others perhaps from the token
			// cache: it starts once its event subscription is live); only the
			// forced read waits for a refresh (the others find fresh tokens).
			{"token fetches from the database", `nango_token_fetches_total{cache="miss",result="ok"}`, 1, 3},
			{"token fetches from the cache", `nango_token_fetches_total{cache="hit",result="ok"}`, 0, 2},
			{"refresh wait", `nango_token_refresh_wait_seconds_count`, 1, 1},
			{"go runtime", `go_goroutines`, 1, 1e6},
		}
		if testing.Verbose() {
			t.Log(text)
		}
		for _, c := range checks {
			v := metricValue(text, c.series)
			if v < c.min || v > c.max {
				t.Errorf("%s: %s = %g, want %g..%g", c.name, c.series, v, c.min, c.max)
			}
		}
		if n := metricValue(text, `nango_token_fetches_total{cache="miss",result="ok"}`) +
			metricValue(text, `nango_token_fetches_total{cache="hit",result="ok"}`); n != 3 {
			t.Errorf("token fetches (cache hits and misses) = %g, want 3", n)
		}
		if !regexp.MustCompile(`(?m)^nango_build_info\{commit="[^"]*",go_version="go[^"]+",version="[^"]*"\} 1$`).MatchString(text) {
			t.Error("nango_build_info missing")
		}
		// Labels never carry the connection id, the integration key or a token.
		for _, sensitive := range append(p.issued(), sc.key, sc.connectionID, s.cfg.SecretKey.Reveal()) {
			if strings.Contains(text, sensitive) {
				t.Errorf("/metrics contains %q", sensitive)
			}
		}
		if p.reused != 0 {
			t.Errorf("the provider saw %d reused refresh tokens", p.reused)
		}

		// Behind the secret key like the API.
		if code, _ := opsGet(t, s.http.URL+"/metrics"); code != 401 {
			t.Errorf("/metrics without the key = %d, want 401", code)
		}
	})
}

func TestMetricsModes(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_METRICS": "off"})
		if code, _ := opsGet(t, s.http.URL+"/metrics"); code != 404 {
			t.Errorf("/metrics = %d, want 404", code)
		}
	})
	t.Run("port", func(t *testing.T) {
		s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_METRICS": "port",
			"NANGO_METRICS_ADDR": "127.0.0.1:0", "NANGO_SECRET_KEY": "ops-port-key"})
		if code, _ := s.do(t, "GET", "/metrics", nil); code != 404 {
			t.Errorf("/metrics on the main port = %d, want 404", code)
		}
		m := regexp.MustCompile(`"msg":"metrics: serving /metrics on a separate port","addr":"([^"]+)"`).FindStringSubmatch(s.logs.String())
		if m == nil {
			t.Fatalf("no metrics address logged:\n%s", s.logs.String())
		}
		if code, body := opsGet(t, s.http.URL+"/health"); code != 200 {
			t.Fatalf("/health = %d %s", code, body)
		}
		code, body := opsGet(t, "http://"+m[1]+"/metrics")
		if code != 200 || metricValue(body, `nango_http_requests_total{method="GET",route="/health",status="200"}`) != 1 {
			t.Errorf("metrics port: %d, /health count %g", code, metricValue(body, `nango_http_requests_total{method="GET",route="/health",status="200"}`))
		}
		s.close()
		if _, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
			t.Error("the metrics port is still open after Close")
		}
	})
	t.Run("busy port fails the start", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		env := map[string]string{"TELEMETRY": "false", "NANGO_DATA_DIR": t.TempDir(), "NANGO_METRICS": "port", "NANGO_METRICS_ADDR": ln.Addr().String()}
		cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.Open(context.Background(), cfg, nil)
		if err == nil {
			_ = srv.Close()
			t.Fatal("Open succeeded on a busy metrics port")
		}
		if !strings.Contains(err.Error(), "NANGO_METRICS_ADDR") {
			t.Errorf("error %q does not name NANGO_METRICS_ADDR", err)
		}
	})
}

// --- telemetry ----------------------------------------------------------------

// telemetrySink is a local telemetry endpoint.
type telemetrySink struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   []string
	requests atomic.Int64
	hold     chan struct{} // when non-nil, requests wait for it to close
	entered  chan struct{}
}

func newTelemetrySink(t *testing.T, hold bool) *telemetrySink {
	k := &telemetrySink{entered: make(chan struct{}, 100)}
	if hold {
		k.hold = make(chan struct{})
	}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.requests.Add(1)
		b, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		k.bodies = append(k.bodies, string(b))
		k.mu.Unlock()
		k.entered <- struct{}{}
		if k.hold != nil {
			select {
			case <-k.hold:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(func() {
		if k.hold != nil {
			select {
			case <-k.hold:
			default:
				close(k.hold)
			}
		}
		k.srv.Close()
	})
	return k
}

func (k *telemetrySink) events(t *testing.T) map[string][]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string][]string{}
	for _, b := range k.bodies {
		var batch telemetry.Batch
		if err := json.Unmarshal([]byte(b), &batch); err != nil {
			t.Fatalf("telemetry body %q: %v", b, err)
		}
		for _, e := range batch.Events {
			out[e.Name] = append(out[e.Name], e.Properties["provider"])
		}
	}
	return out
}

func TestTelemetryEventsCarryNothingSensitive(t *testing.T) {
	p := newOpsProvider(t)
	sink := newTelemetrySink(t, false)
	key := "ops-secret-" + secret.RandomToken(12)
	encKey := "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXM="
	s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "TELEMETRY": "true",
		"NANGO_TELEMETRY_ENDPOINT": sink.srv.URL, "NANGO_PROVIDERS_FILE": p.providersFile(t), "NANGO_SECRET_KEY": key,
		"NANGO_ENCRYPTION_KEY": encKey, "NANGO_PROXY_ALLOW_PRIVATE_NETWORKS": "true"})
	sc := newScenario()
	sc.run(t, s, p)
	githubKey := "ops-gh-" + secret.RandomToken(6)
	if code, body := s.do(t, "POST", "/config", map[string]any{"provider_config_key": githubKey, "provider": "github",
		"oauth_client_id": "Iv1.ops-client", "oauth_client_secret": "ops-gh-secret", "oauth_scopes": "repo"}); code/100 != 2 {
		t.Fatalf("POST /config github = %d %s", code, body)
	}
	id, err := s.srv.Store().GetMeta(context.Background(), telemetry.MetaInstanceID)
	for i := 0; err != nil && i < 100; i++ { // the sender stores it when it starts
		time.Sleep(10 * time.Millisecond)
		id, err = s.srv.Store().GetMeta(context.Background(), telemetry.MetaInstanceID)
	}
	if err != nil {
		t.Fatalf("instance id not stored: %v", err)
	}
	s.close() // the last batch goes out when the server stops

	got := sink.events(t)
	want := map[string][]string{
		telemetry.ConfigCreated:         {"custom", "github"},
		telemetry.PreWSOAuth:            {""},
		telemetry.ConnectionUpserted:    {"custom"},
		telemetry.ConnectionFetched:     {"custom", "custom", "custom"}, // two reads and the proxied call
		telemetry.ConnectionListFetched: {""},
	}
	for name, w := range want {
		if strings.Join(got[name], ",") != strings.Join(w, ",") {
			t.Errorf("%s: providers %q, want %q", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected event %s", name)
		}
	}

	sink.mu.Lock()
	all := strings.Join(sink.bodies, "\n")
	sink.mu.Unlock()
	if !strings.Contains(all, `"instance_id":"`+id+`"`) {
		t.Errorf("batches lack the stored instance id %s", id)
	}
	sensitive := append(p.issued(), key, encKey, sc.key, sc.connectionID, githubKey, "Iv1.ops-client", "ops-gh-secret",
		s.cfg.ServerURL, strings.TrimPrefix(s.cfg.ServerURL, "http://"), p.srv.URL, strings.TrimPrefix(p.srv.URL, "http://"), "ops-oauth")
	for _, v := range sensitive {
		if v != "" && strings.Contains(all, v) {
			t.Errorf("telemetry sent %q", v)
		}
	}
}

func TestTelemetryFalseSendsAndStartsNothing(t *testing.T) {
	p := newOpsProvider(t)
	sink := newTelemetrySink(t, false)
	s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "TELEMETRY": "false",
		"NANGO_TELEMETRY_ENDPOINT": sink.srv.URL, "NANGO_PROVIDERS_FILE": p.providersFile(t),
		"NANGO_PROXY_ALLOW_PRIVATE_NETWORKS": "true"})
	newScenario().run(t, s, p)

	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(stacks, "internal/telemetry.") {
		t.Error("a telemetry goroutine runs with TELEMETRY=false")
	}
	if _, err := s.srv.Store().GetMeta(context.Background(), telemetry.MetaInstanceID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("instance id lookup = %v, want ErrNotFound (telemetry off creates no id)", err)
	}
	s.close()
	if n := sink.requests.Load(); n != 0 {
		t.Errorf("the endpoint got %d requests with TELEMETRY=false", n)
	}
}

// TestTelemetryDeadEndpointBlocksNothing: the endpoint accepts a batch and
// never answers. Requests made while it holds the sender are all served,
// so none waited for it.
func TestTelemetryDeadEndpointBlocksNothing(t *testing.T) {
	sink := newTelemetrySink(t, true)
	s := openOpsServer(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "TELEMETRY": "true",
		"NANGO_TELEMETRY_ENDPOINT": sink.srv.URL})
	// A full batch (telemetry.DefaultBatchSize list events) makes the
	// sender post at once; the sink then holds that request.
	for i := 0; i < telemetry.DefaultBatchSize; i++ {
		if code, body := s.do(t, "GET", "/connection", nil); code != 200 {
			t.Fatalf("GET /connection = %d %s", code, body)
		}
	}
	select {
	case <-sink.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the sender never reached the endpoint")
	}
	for i := 0; i < 3*telemetry.DefaultBatchSize; i++ {
		if code, body := s.do(t, "GET", "/connection", nil); code != 200 {
			t.Fatalf("GET /connection while the endpoint hangs = %d %s", code, body)
		}
	}
	if n := sink.requests.Load(); n != 1 {
		t.Errorf("the endpoint got %d requests, want the one it still holds", n)
	}
	select {
	case <-sink.hold:
		t.Fatal("unreachable")
	default: // still held: every request above was served while the sender waited
	}
	done := make(chan struct{})
	go func() { s.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close waited for the dead endpoint")
	}
}
