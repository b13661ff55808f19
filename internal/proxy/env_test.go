package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/proxy"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
	"github.com/nango-go/nango/internal/tokens"
)

// env is a proxy served over real HTTP (through proxy.RawPaths and a
// ServeMux, as the server mounts it) on a real store, with a real credential
// service. Templates are parsed from YAML with the catalog's own parser.
type env struct {
	t      testing.TB
	st     store.Store
	tokens *tokens.Service
	h      *proxy.Handler
	srv    *httptest.Server

	mu        sync.Mutex
	templates map[string]*provider.Template
}

type envOptions struct {
	cfg     config.Proxy
	backoff time.Duration // BackoffBase; default 20ms
	open    func(t testing.TB) store.Store
	// server adjusts the http.Server the proxy is served by (timeouts).
	server func(*http.Server)
	// activity replaces the store the proxy records activity in.
	activity func(store.Store) proxy.Store
	// onCall is proxy.Options.OnCall.
	onCall func(store.Activity)
}

func openSQLite(t testing.TB) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nango.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.open == nil {
		o.open = openSQLite
	}
	if o.backoff == 0 {
		o.backoff = 20 * time.Millisecond
	}
	e := &env{t: t, st: o.open(t), templates: map[string]*provider.Template{}}
	e.tokens = tokens.New(tokens.Options{Store: e.st, Templates: e.template, OAuth: &oauth.Client{Timeout: 5 * time.Second}})
	t.Cleanup(func() { _ = e.tokens.Close() })
	var ps proxy.Store = e.st
	if o.activity != nil {
		ps = o.activity(e.st)
	}
	e.h = proxy.New(proxy.Options{
		Tokens: e.tokens, Store: ps, Templates: e.template, Config: o.cfg,
		BackoffBase: o.backoff, BackoffMax: 10 * o.backoff, OnCall: o.onCall,
	})
	mux := http.NewServeMux()
	mux.Handle("/proxy/", e.h)
	e.srv = httptest.NewUnstartedServer(proxy.RawPaths(mux))
	if o.server != nil {
		o.server(e.srv.Config)
	}
	e.srv.Start()
	// Like any API client, but redirects are the caller's to follow.
	e.srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() {
		e.srv.Close()
		_ = e.h.Close()
	})
	return e
}

func (e *env) template(name string) (*provider.Template, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.templates[name]
	return t, ok
}

// addTemplates parses a providers.yaml fragment and adds its templates.
func (e *env) addTemplates(yaml string) {
	e.t.Helper()
	c, err := provider.Parse("test.yaml", []byte(yaml))
	if err != nil {
		e.t.Fatalf("templates: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tm := range c.Templates() {
		e.templates[tm.Name] = tm
	}
}

// integration creates integration key of template provider.
func (e *env) integration(key, provider, clientID, clientSecret string) {
	e.t.Helper()
	in := &store.Integration{Key: key, Provider: provider, ClientID: clientID, ClientSecret: secret.String(clientSecret)}
	if err := e.st.CreateIntegration(context.Background(), in); err != nil {
		e.t.Fatal(err)
	}
}

// connection stores a connection.
func (e *env) connection(key, id string, cr store.Credentials, cc map[string]any) {
	e.t.Helper()
	c := &store.Connection{ProviderConfigKey: key, ConnectionID: id, Credentials: cr, ConnectionConfig: cc}
	if _, err := e.st.UpsertConnection(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

func bearer(tok string) store.Credentials {
	return store.Credentials{Type: store.OAuth2, AccessToken: secret.String(tok)}
}

// call is one request to the proxy.
type call struct {
	method, path string
	body         io.Reader
	length       int64 // ContentLength when body is set; 0 = let net/http decide
	key, id      string
	header       map[string]string
}

func (e *env) do(c call) *http.Response {
	e.t.Helper()
	resp, err := e.send(c)
	if err != nil {
		e.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	return resp
}

func (e *env) send(c call) (*http.Response, error) {
	if c.method == "" {
		c.method = http.MethodGet
	}
	req, err := http.NewRequest(c.method, e.srv.URL, c.body)
	if err != nil {
		return nil, err
	}
	// Set the raw path as a client would send it (NewRequest would clean
	// nothing, but keep "//" and escapes exact).
	path, query, _ := strings.Cut(c.path, "?")
	req.URL.Opaque = path
	req.URL.RawQuery = query
	if c.body != nil && c.length != 0 {
		req.ContentLength = c.length
	}
	if c.key != "" {
		req.Header.Set("Provider-Config-Key", c.key)
	}
	if c.id != "" {
		req.Header.Set("Connection-Id", c.id)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return e.srv.Client().Do(req)
}

// readAll reads and closes a response body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return string(b)
}

// envelope is the proxy's own error answer.
type envelope struct {
	Error   string         `json:"error"`
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload"`
}

// wantError checks a Nango-side error answer.
func wantError(t *testing.T, resp *http.Response, status int, typ string) envelope {
	t.Helper()
	body := readAll(t, resp)
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("status %d body %q is not an error envelope", resp.StatusCode, body)
	}
	if resp.StatusCode != status || env.Type != typ {
		t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, env.Type, env.Error, status, typ)
	}
	if resp.Header.Get(proxy.HeaderAttempts) != "" {
		t.Errorf("a Nango-side error carries %s", proxy.HeaderAttempts)
	}
	return env
}

// seen is one request an upstream received.
type seen struct {
	Method, Path, RawPath, RawQuery, Host string
	Header                                http.Header
	Body                                  []byte
	At                                    time.Time
}

// upstream is an httptest API recording what it receives; answer decides
// the response (default: 200 "ok").
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []seen
	answer func(w http.ResponseWriter, r *http.Request, n int, body []byte)
}

func newUpstream(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int, body []byte)) *upstream {
	u := &upstream{answer: answer}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Host: r.Host, Header: r.Header.Clone(), Body: b, At: time.Now()})
		n := len(u.reqs)
		u.mu.Unlock()
		if u.answer == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		u.answer(w, r, n, b)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	r := u.requests()
	if len(r) == 0 {
		t.Fatal("the upstream received no request")
	}
	return r[len(r)-1]
}

// activity stops the server — waiting for its handlers: a caller can read
// a whole answer before its handler has queued the call's entry — then
// flushes the handler's activity log and returns the entries, newest first.
func (e *env) activity() []store.Activity {
	e.t.Helper()
	e.srv.Close()
	_ = e.h.Close()
	acts, err := e.st.ListActivity(context.Background(), store.ActivityFilter{Action: "proxy"})
	if err != nil {
		e.t.Fatal(err)
	}
	return acts
}

// basicTemplates is a catalog fragment whose base URL is base.
func oauth2Template(name, base string) string {
	return name + ":\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/auth\n  token_url: https://example.com/token\n  proxy:\n    base_url: " + base + "\n"
}
