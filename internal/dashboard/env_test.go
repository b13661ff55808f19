package dashboard_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/dashboard"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// Dashboard credentials used by tests that turn Basic auth on.
const (
	testUser = "admin"
	testPass = "correct horse battery staple"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a whole nango server (server.Open on SQLite in a temp
// dir) behind httptest, with NANGO_SERVER_URL set to its own address.
type testServer struct {
	URL   string
	srv   *server.Server
	ts    *httptest.Server
	cfg   *config.Config
	store store.Store
	logs  *syncBuffer
}

// start runs a server with env added to hermetic defaults.
func start(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	full := map[string]string{
		"TELEMETRY":        "false",
		"LOG_LEVEL":        "debug",
		"LOG_FORMAT":       "json",
		"NANGO_DATA_DIR":   t.TempDir(),
		"NANGO_SERVER_URL": base,
	}
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
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	s := &testServer{URL: base, srv: srv, ts: ts, cfg: cfg, store: srv.Store(), logs: logs}
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return s
}

// withAuth is the environment that turns dashboard Basic auth on.
func withAuth(env map[string]string) map[string]string {
	out := map[string]string{"NANGO_DASHBOARD_USERNAME": testUser, "NANGO_DASHBOARD_PASSWORD": testPass}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// handler builds a dashboard.Handler on the server's store, to list its
// routes.
func (s *testServer) handler(t testing.TB) *dashboard.Handler {
	t.Helper()
	cat, err := provider.Load(s.cfg.ProvidersFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := dashboard.New(dashboard.Deps{Store: s.store, Tokens: noTokens{}, Catalog: cat, Config: s.cfg})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed, optional Basic credentials.
type client struct {
	t        testing.TB
	base     string
	hc       *http.Client
	user     string
	password string
}

func (s *testServer) client(t testing.TB, auth bool) *client {
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: s.URL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if auth {
		c.user, c.password = testUser, testPass
	}
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, body io.Reader, hdr map[string]string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) response { return c.do(http.MethodGet, path, nil, nil) }

// csrf loads a page and returns its CSRF token (the cookie is kept by the
// jar).
func (c *client) csrf() string {
	c.t.Helper()
	r := c.get("/integrations")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET /integrations: %d %s", r.status, r.body)
	}
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatal("no csrf-token meta tag on the page")
	}
	return m[1]
}

// post submits a form with the page's CSRF token.
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	form = cloneValues(form)
	form.Set("csrf_token", c.csrf())
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// noTokens is a TokenGetter for handlers built only to list routes.
type noTokens struct{}

func (noTokens) Get(context.Context, string, string, tokens.GetOptions) (store.Connection, error) {
	return store.Connection{}, store.ErrNotFound
}

// seedConnection stores an OAuth 2 connection with known tokens.
func seedConnection(t testing.TB, st store.Store, key, id string, mutate func(*store.Connection)) store.Connection {
	t.Helper()
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	c := store.Connection{
		ProviderConfigKey: key, ConnectionID: id,
		Credentials: store.Credentials{
			Type: store.OAuth2, AccessToken: secret.String("at-" + secret.RandomToken(24)), RefreshToken: secret.String("rt-" + secret.RandomToken(24)),
			ExpiresAt: &exp, Raw: map[string]any{"token_type": "bearer", "scope": "repo"},
		},
		ConnectionConfig: map[string]any{"subdomain": "acme"},
		Metadata:         map[string]any{"team": "core"},
	}
	if mutate != nil {
		mutate(&c)
	}
	c.Credentials.Raw["access_token"] = c.Credentials.AccessToken.Reveal()
	if _, err := st.UpsertConnection(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func seedIntegration(t testing.TB, st store.Store, key, provider string) {
	t.Helper()
	in := store.Integration{Key: key, Provider: provider, ClientID: "client-" + key, ClientSecret: secret.String("secret-" + key), Scopes: "repo,user"}
	if err := st.CreateIntegration(context.Background(), &in); err != nil {
		t.Fatal(err)
	}
}
