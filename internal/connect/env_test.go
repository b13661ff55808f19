package connect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
)

// Test integration keys, each bound to one situation.
const (
	keyOK         = "test"       // testprov, complete
	keySub        = "sub"        // subprov: URLs need a subdomain
	keyGrant      = "gt"         // token_params.grant_type: client_credentials
	keyAPIKey     = "apikey"     // auth_mode API_KEY (no popup flow in this issue)
	keyIncomplete = "incomplete" // no client secret
	keyOrphan     = "orphan"     // template missing from the catalog

	testClientID     = "client-id"
	testClientSecret = "client-secret"
)

// clock is a settable offset on the real clock, shared by the store and
// the handlers.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// fakeProvider is a scripted OAuth 2 authorization server. /authorize
// checks the authorization request and redirects to the callback with a
// fresh code; /token checks the exchange (single-use code, redirect_uri,
// PKCE S256, client credentials) and answers tokens.
type fakeProvider struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	secret       string // the client secret the token endpoint accepts
	deny         [2]string
	omitCode     bool
	tokenFails   bool
	codes        map[string]issuedCode
	authRequests []url.Values
	tokenCalls   []url.Values
}

type issuedCode struct {
	challenge   string
	redirectURI string
}

func newFakeProvider(t *testing.T) *fakeProvider {
	p := &fakeProvider{t: t, secret: testClientSecret, codes: map[string]issuedCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize/", p.authorize)
	mux.HandleFunc("POST /token/", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authRequests = append(p.authRequests, q)
	if q.Get("response_type") != "code" || q.Get("client_id") != testClientID || q.Get("state") == "" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	switch {
	case p.deny[0] != "":
		back.Set("error", p.deny[0])
		back.Set("error_description", p.deny[1])
	case p.omitCode:
	default:
		code := "code-" + secret.RandomToken(12)
		p.codes[code] = issuedCode{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
		back.Set("code", code)
		back.Set("realmId", "realm-42")
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenCalls = append(p.tokenCalls, f)
	fail := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	issued, ok := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code"))
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case p.tokenFails:
		fail("invalid_grant", "The code has expired.")
	case f.Get("grant_type") != "authorization_code":
		fail("unsupported_grant_type", f.Get("grant_type"))
	case !ok:
		fail("invalid_grant", "unknown or reused code")
	case f.Get("redirect_uri") != issued.redirectURI:
		fail("invalid_grant", "redirect_uri differs")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != issued.challenge:
		fail("invalid_grant", "PKCE verification failed")
	case f.Get("client_id") != testClientID || f.Get("client_secret") != p.secret:
		fail("invalid_client", "bad client credentials")
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token":  "at-" + f.Get("code"),
			"refresh_token": "rt-" + f.Get("code"),
			"expires_in":    3600,
			"token_type":    "bearer",
			"instance_url":  "https://acme.example",
		})
	}
}

func (p *fakeProvider) tokenCallCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tokenCalls)
}

// catalogYAML is the test catalog, in Nango's providers.yaml schema.
func catalogYAML(base string) string {
	return strings.ReplaceAll(`
testprov:
  auth_mode: OAUTH2
  authorization_url: BASE/authorize/
  token_url: BASE/token/
  redirect_uri_metadata:
    - realmId
  token_response_metadata:
    - instance_url
subprov:
  auth_mode: OAUTH2
  authorization_url: BASE/authorize/${connectionConfig.params.subdomain}
  token_url: BASE/token/${connectionConfig.subdomain}
granttype:
  auth_mode: OAUTH2
  authorization_url: BASE/authorize/
  token_url: BASE/token/
  token_params:
    grant_type: client_credentials
apikey:
  auth_mode: API_KEY
`, "BASE", base)
}

// envOptions tune newEnv.
type envOptions struct {
	hmac  bool
	store store.Store // nil: a fresh SQLite file
	clock *clock
	prov  *fakeProvider // nil: a new one
	// serverTimeout, when set, is the HTTP server's read and write timeout
	// (production servers set both).
	serverTimeout time.Duration
}

// env is one server instance: store, handlers behind a real HTTP server,
// and the fake provider.
type env struct {
	t     *testing.T
	store store.Store
	h     *Handlers
	srv   *httptest.Server
	prov  *fakeProvider
	cfg   *config.Config
	clock *clock
	logs  *syncBuffer
}

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

const hmacKey = "hmac-test-key"

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: o.clock, logs: &syncBuffer{}}
	if e.clock == nil {
		e.clock = &clock{}
	}
	e.prov = o.prov
	if e.prov == nil {
		e.prov = newFakeProvider(t)
	}
	e.store = o.store
	if e.store == nil {
		e.store = openSQLite(t, e.clock)
		seedIntegrations(t, e.store)
	}
	cat, err := provider.Parse("test-catalog.yaml", []byte(catalogYAML(e.prov.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	})
	var hmu sync.RWMutex
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.RLock()
		hh := h
		hmu.RUnlock()
		hh.ServeHTTP(w, r)
	}))
	e.srv.Config.ReadTimeout, e.srv.Config.WriteTimeout = o.serverTimeout, o.serverTimeout
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.cfg = &config.Config{
		ServerURL:     e.srv.URL,
		CallbackURL:   e.srv.URL + "/oauth/callback",
		OAuthStateTTL: 15 * time.Minute,
		HMAC:          config.HMAC{Enabled: o.hmac, Key: hmacKey, Algorithm: "sha256"},
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.h = New(Deps{
		Store:   e.store,
		Catalog: cat,
		OAuth:   &oauth.Client{Timeout: 10 * time.Second, Now: e.clock.now},
		Config:  e.cfg,
		Logger:  log,
		Now:     e.clock.now,
	})
	mux := http.NewServeMux()
	e.h.Register(mux)
	hmu.Lock()
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWebSocketUpgrade(r) {
			e.h.ServeWebSocket(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	hmu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.h.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = e.h.Close()
	})
	return e
}

func openSQLite(t *testing.T, c *clock) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nango.db"), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func seedIntegrations(t *testing.T, st store.Store) {
	t.Helper()
	for _, in := range []store.Integration{
		{Key: keyOK, Provider: "testprov", ClientID: testClientID, ClientSecret: testClientSecret, Scopes: "read,write"},
		{Key: keySub, Provider: "subprov", ClientID: testClientID, ClientSecret: testClientSecret},
		{Key: keyGrant, Provider: "granttype", ClientID: testClientID, ClientSecret: testClientSecret},
		{Key: keyAPIKey, Provider: "apikey", ClientID: testClientID, ClientSecret: testClientSecret},
		{Key: keyIncomplete, Provider: "testprov", ClientID: testClientID},
		{Key: keyOrphan, Provider: "gone", ClientID: testClientID, ClientSecret: testClientSecret},
	} {
		in := in
		if err := st.CreateIntegration(context.Background(), &in); err != nil {
			t.Fatal(err)
		}
	}
}

// browserEncode percent-encodes what a browser encodes in a URL's query
// when navigating (controls, space, ", #, <, >, ' and non-ASCII) and keeps
// everything else as the SDK wrote it (the SDK itself encodes nothing).
func browserEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("\"#<>'", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sdkURL builds the popup URL like @nangohq/frontend 0.16: values not
// encoded, params as params[name]=value, ws_client_id appended last.
func (e *env) sdkURL(key, connectionID string, params [][2]string, hmac, wsClientID string) string {
	var q []string
	if connectionID != "" {
		q = append(q, "connection_id="+connectionID)
	}
	for _, p := range params {
		q = append(q, "params["+p[0]+"]="+p[1])
	}
	if hmac != "" {
		q = append(q, "hmac="+hmac)
	}
	u := e.srv.URL + "/oauth/connect/" + key
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	if wsClientID != "" {
		u += "&ws_client_id=" + wsClientID
	}
	return u
}

// dial opens the SDK's socket on the server's base URL and reads the ack.
func (e *env) dial(path string) (*websocket.Conn, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+path, &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"https://app.example.com"}},
	})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		e.t.Fatalf("dial status %d", resp.StatusCode)
	}
	e.t.Cleanup(func() { _ = c.CloseNow() })
	var ack map[string]string
	if err := readJSON(c, &ack); err != nil {
		e.t.Fatalf("reading the ack: %v", err)
	}
	if ack["message_type"] != "connection_ack" || !uuidV4RE.MatchString(ack["ws_client_id"]) || len(ack) != 2 {
		e.t.Fatalf("ack = %v", ack)
	}
	return c, ack["ws_client_id"]
}

var uuidV4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func readJSON(c *websocket.Conn, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		return err
	}
	if typ != websocket.MessageText {
		return fmt.Errorf("message type %v, want text", typ)
	}
	return json.Unmarshal(b, v)
}

// readResult reads the one result message and checks the server then
// closes the socket.
func readResult(t *testing.T, c *websocket.Conn) map[string]string {
	t.Helper()
	var msg map[string]string
	if err := readJSON(c, &msg); err != nil {
		t.Fatalf("reading the result: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err == nil {
		t.Fatalf("a second message after the result: %s", b)
	}
	if websocket.CloseStatus(err) == -1 {
		t.Fatalf("after the result: %v, want a close frame", err)
	}
	return msg
}

// browser follows redirects like the popup does.
var browser = &http.Client{Timeout: 10 * time.Second}

// page is the popup's final answer.
type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL // the URL that answered
}

func get(t *testing.T, u string) page {
	t.Helper()
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(b), url: resp.Request.URL}
}

var postMessageRE = regexp.MustCompile(`window\.opener\.postMessage\((.*), "\*"\);`)

// posted returns the message a legacy page posts to window.opener, or nil.
func (p page) posted(t *testing.T) map[string]any {
	t.Helper()
	m := postMessageRE.FindStringSubmatch(p.body)
	if m == nil {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(m[1]), &v); err != nil {
		t.Fatalf("posted message %s: %v", m[1], err)
	}
	return v
}

// checkPage checks the invariants of every popup page.
func (p page) check(t *testing.T, wantStatus int) {
	t.Helper()
	if p.status != wantStatus {
		t.Errorf("%s: status = %d, want %d; body:\n%s", p.url, p.status, wantStatus, p.body)
	}
	if ct := p.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, s := range []string{
		"<title>Authorization callback</title>",
		"<noscript>JavaScript is required to proceed with the authentication.</noscript>",
		"setTimeout(function () { window.close(); }, 300);",
	} {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q:\n%s", s, p.body)
		}
	}
	m := regexp.MustCompile(`<script nonce="([A-Za-z0-9_-]{20,})">`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no nonce script in:\n%s", p.body)
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") {
		t.Errorf("CSP %q does not allow exactly the page's script (nonce %s)", csp, m[1])
	}
	if strings.Count(p.body, "<script") != 1 || strings.Count(p.body, "</script>") != 1 {
		t.Errorf("page must hold exactly one script element:\n%s", p.body)
	}
}

// wantLegacyError checks a legacy page's posted error.
func (p page) wantLegacyError(t *testing.T, typ, desc string) {
	t.Helper()
	got := p.posted(t)
	want := map[string]any{"eventType": "AUTHORIZATION_FAILED", "data": map[string]any{"error": map[string]any{"type": typ, "message": desc}}}
	if !jsonEqual(got, want) {
		t.Errorf("posted %v\nwant   %v", got, want)
	}
}

// jsonEqual compares the JSON forms of a and b (object keys in any order).
func jsonEqual(a, b any) bool {
	return bytes.Equal(canonicalJSON(a), canonicalJSON(b))
}

func canonicalJSON(v any) []byte {
	b, _ := json.Marshal(v)
	var x any
	if json.Unmarshal(b, &x) != nil {
		return b
	}
	b, _ = json.Marshal(x)
	return b
}

// activity returns the oauth activity entries, newest first.
func (e *env) activity() []store.Activity {
	e.t.Helper()
	a, err := e.store.ListActivity(context.Background(), store.ActivityFilter{Action: "oauth"})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errStop = errors.New("stop")
