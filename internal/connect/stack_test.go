package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/proxy"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// stack is the server's public and secret-key routes wired as the server
// wires them — connect handlers, /connection API, proxy — over one real
// HTTP server and a real SQLite store, with a test catalog.
type stack struct {
	t      *testing.T
	st     store.Store
	cat    *provider.Catalog
	cfg    *config.Config
	h      *Handlers
	tokens *tokens.Service
	srv    *httptest.Server
	logs   *syncBuffer
}

type stackOptions struct {
	hmac bool
	// allowPrivate is NANGO_PROXY_ALLOW_PRIVATE_NETWORKS.
	allowPrivate bool
	store        store.Store
	// catalog replaces the YAML catalog when set.
	catalog *provider.Catalog
}

func newStack(t *testing.T, catalog string, integrations []store.Integration, o stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, logs: &syncBuffer{}}
	cat := o.catalog
	if cat == nil {
		var err error
		if cat, err = provider.Parse("stack-catalog.yaml", []byte(catalog)); err != nil {
			t.Fatal(err)
		}
	}
	s.cat = cat
	s.st = o.store
	if s.st == nil {
		s.st = openSQLite(t, &clock{})
	}
	for _, in := range integrations {
		in := in
		if err := s.st.CreateIntegration(context.Background(), &in); err != nil {
			t.Fatal(err)
		}
	}
	var mux http.ServeMux
	s.srv = httptest.NewServer(proxy.RawPaths(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWebSocketUpgrade(r) {
			s.h.ServeWebSocket(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})))
	t.Cleanup(s.srv.Close)
	s.cfg = &config.Config{
		ServerURL:     s.srv.URL,
		CallbackURL:   s.srv.URL + "/oauth/callback",
		OAuthStateTTL: 15 * time.Minute,
		HMAC:          config.HMAC{Enabled: o.hmac, Key: hmacKey, Algorithm: "sha256"},
		Proxy:         config.Proxy{AllowPrivateNetworks: o.allowPrivate},
	}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	oc := &oauth.Client{Timeout: 10 * time.Second, Logger: log}
	s.tokens = tokens.New(tokens.Options{Store: s.st, Templates: cat.Get, OAuth: oc, Logger: log})
	t.Cleanup(func() { _ = s.tokens.Close() })
	s.h = New(Deps{Store: s.st, Catalog: cat, OAuth: oc, Config: s.cfg, Logger: log})
	s.h.Register(&mux)
	api.New(api.Deps{Store: s.st, Tokens: s.tokens, Logger: log, Templates: cat.Get}).Register(&mux)
	ph := proxy.New(proxy.Options{Tokens: s.tokens, Store: s.st, Templates: cat.Get, Logger: log,
		Config: config.Proxy{AllowPrivateNetworks: true}})
	t.Cleanup(func() { _ = ph.Close() })
	mux.HandleFunc("/proxy/", ph.ServeHTTP)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = s.h.Close() })
	return s
}

// response is a JSON answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

// do sends a request to the stack.
func (s *stack) do(method, path string, body any, header map[string]string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// connection is GET /connection/{id}?provider_config_key=key.
func (s *stack) connection(key, id string) map[string]any {
	s.t.Helper()
	r := s.do("GET", "/connection/"+id+"?provider_config_key="+key, nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /connection/%s: %d %s", id, r.status, r.body)
	}
	return r.json(s.t)
}

// proxyCall calls the proxy as a connection.
func (s *stack) proxyCall(method, key, id, endpoint string, body string, header map[string]string) response {
	s.t.Helper()
	h := map[string]string{"Connection-Id": id, "Provider-Config-Key": key}
	for k, v := range header {
		h[k] = v
	}
	var b any
	if body != "" {
		b = body
	}
	return s.do(method, "/proxy/"+strings.TrimPrefix(endpoint, "/"), b, h)
}
