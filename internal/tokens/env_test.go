package tokens_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
	"github.com/nango-go/nango/internal/tokens"
)

// backend opens stores of one driver. newDB returns an opener of migrated
// store instances that all share one fresh database.
type backend struct {
	name  string
	newDB func(t *testing.T) func(t *testing.T) store.Store
}

var sqliteBackend = backend{name: "sqlite", newDB: func(t *testing.T) func(t *testing.T) store.Store {
	path := filepath.Join(t.TempDir(), "nango.db")
	return func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
}}

// eachBackend runs fn once per available driver.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// provider is a scripted OAuth token endpoint with rotating refresh
// tokens that rejects reuse: every refresh token works once.
type fakeProvider struct {
	*httptest.Server
	mu       sync.Mutex
	n        int
	valid    map[string]bool // refresh tokens that may be used
	used     map[string]bool
	access   map[string]bool // access tokens issued
	requests atomic.Int64
	reuses   atomic.Int64
	// hook, when set, runs before the answer; it may write the answer
	// itself and return true.
	hook  func(w http.ResponseWriter, r *http.Request, form url.Values) bool
	block chan struct{} // when non-nil, requests wait for it to close
}

func newProvider(t *testing.T) *fakeProvider {
	p := &fakeProvider{valid: map[string]bool{}, used: map[string]bool{}, access: map[string]bool{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// issue returns a fresh access token and a valid refresh token.
func (p *fakeProvider) issue() (at, rt string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	at, rt = fmt.Sprintf("at-%d-%s", p.n, secret.RandomToken(6)), fmt.Sprintf("rt-%d-%s", p.n, secret.RandomToken(6))
	p.valid[rt], p.access[at] = true, true
	return at, rt
}

// works reports whether the provider accepts the access token.
func (p *fakeProvider) works(at string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.access[at]
}

func (p *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	if p.block != nil {
		select {
		case <-p.block:
		case <-r.Context().Done():
			return
		}
	}
	if p.hook != nil && p.hook(w, r, form) {
		return
	}
	if form.Get("grant_type") != "refresh_token" || form.Get("client_secret") != "client-secret" {
		writeJSON(w, 400, map[string]any{"error": "invalid_request"})
		return
	}
	rt := form.Get("refresh_token")
	p.mu.Lock()
	if !p.valid[rt] {
		if p.used[rt] {
			p.reuses.Add(1)
		}
		p.mu.Unlock()
		writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "refresh token invalid or already used"})
		return
	}
	delete(p.valid, rt)
	p.used[rt] = true
	p.mu.Unlock()
	at, nrt := p.issue()
	writeJSON(w, 200, map[string]any{"access_token": at, "refresh_token": nrt, "expires_in": 3600, "token_type": "bearer"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// env is one test setup: a provider, a template, an integration and a
// store opener on one database.
type env struct {
	t     *testing.T
	open  func(t *testing.T) store.Store
	st    store.Store
	prov  *fakeProvider
	tmpls map[string]*provider.Template
}

func newEnv(t *testing.T, b backend) *env {
	e := &env{t: t, open: b.newDB(t), prov: newProvider(t)}
	e.st = e.open(t)
	e.tmpls = map[string]*provider.Template{
		"rotating": {Name: "rotating", AuthMode: provider.OAuth2, AuthorizationURL: e.prov.URL + "/auth", TokenURL: e.prov.URL + "/token"},
	}
	e.integration("rot", "rotating")
	return e
}

func (e *env) integration(key, tmpl string) {
	in := store.Integration{Key: key, Provider: tmpl, ClientID: "client-id", ClientSecret: "client-secret", Scopes: "read"}
	if err := e.st.CreateIntegration(context.Background(), &in); err != nil {
		e.t.Fatal(err)
	}
}

// connection stores an OAuth2 connection whose token expires in expiresIn
// (none when 0), with a valid refresh token unless noRefresh.
func (e *env) connection(key, id string, expiresIn time.Duration, noRefresh bool) store.Connection {
	e.t.Helper()
	at, rt := e.prov.issue()
	c := store.Connection{ProviderConfigKey: key, ConnectionID: id, Credentials: store.Credentials{
		Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: secret.String(rt), Raw: map[string]any{"access_token": at},
	}}
	if noRefresh {
		c.Credentials.RefreshToken = ""
	}
	if expiresIn != 0 {
		exp := time.Now().Add(expiresIn).UTC().Truncate(time.Millisecond)
		c.Credentials.ExpiresAt = &exp
	}
	if _, err := e.st.UpsertConnection(context.Background(), &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// service returns a token service on st (e.st when nil).
func (e *env) service(st store.Store, mod func(*tokens.Options)) *tokens.Service {
	if st == nil {
		st = e.st
	}
	o := tokens.Options{
		Store:     st,
		Templates: func(name string) (*provider.Template, bool) { t, ok := e.tmpls[name]; return t, ok },
		OAuth:     &oauth.Client{Timeout: 10 * time.Second},
		Logger:    slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&o)
	}
	s := tokens.New(o)
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

func (e *env) stored(key, id string) store.Connection {
	e.t.Helper()
	c, err := e.st.GetConnection(context.Background(), key, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
