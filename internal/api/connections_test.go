package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
	"github.com/nango-go/nango/internal/tokens"
)

// apiBackend opens a fresh migrated store of one driver.
type apiBackend struct {
	name string
	open func(t *testing.T) store.Store
}

var sqliteAPIBackend = apiBackend{"sqlite", func(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nango.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}}

func eachAPIBackend(t *testing.T, fn func(t *testing.T, b apiBackend)) {
	for _, b := range apiBackends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// tokenServer is a scripted token endpoint; reply decides each answer.
type tokenServer struct {
	*httptest.Server
	requests atomic.Int64
	reply    atomic.Value // func(http.ResponseWriter)
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.setReply(200, `{"access_token":"at-new","refresh_token":"rt-new","expires_in":3600}`)
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		_, _ = io.ReadAll(r.Body)
		ts.reply.Load().(func(http.ResponseWriter))(w)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) setReply(status int, body string) {
	ts.reply.Store(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// apiEnv is an API served over real HTTP on a real store.
type apiEnv struct {
	t     *testing.T
	st    store.Store
	srv   *httptest.Server
	token *tokenServer
}

func newAPIEnv(t *testing.T, b apiBackend) *apiEnv {
	e := &apiEnv{t: t, st: b.open(t), token: newTokenServer(t)}
	tmpls := map[string]*provider.Template{
		"oauthy":  {Name: "oauthy", AuthMode: provider.OAuth2, AuthorizationURL: e.token.URL + "/auth", TokenURL: e.token.URL + "/token"},
		"oauth1y": {Name: "oauth1y", AuthMode: provider.OAuth1, AuthorizationURL: e.token.URL + "/auth", TokenURL: e.token.URL + "/token"},
		"keyed":   {Name: "keyed", AuthMode: provider.APIKey},
		"basicy":  {Name: "basicy", AuthMode: provider.Basic},
	}
	lookup := func(name string) (*provider.Template, bool) { t, ok := tmpls[name]; return t, ok }
	svc := tokens.New(tokens.Options{Store: e.st, Templates: lookup, OAuth: &oauth.Client{Timeout: 5 * time.Second}})
	t.Cleanup(func() { _ = svc.Close() })
	mux := http.NewServeMux()
	api.New(api.Deps{
		Store: e.st, Tokens: svc,
		Templates: lookup,
	}).Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	for key, tmpl := range map[string]string{"oa": "oauthy", "o1": "oauth1y", "key": "keyed", "basic": "basicy", "lost": "not-in-catalog"} {
		in := store.Integration{Key: key, Provider: tmpl, ClientID: "cid", ClientSecret: "csecret"}
		if err := e.st.CreateIntegration(context.Background(), &in); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (e *apiEnv) do(method, path, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &out.body)
	}
	return out
}

func (r response) errType() string { s, _ := r.body["type"].(string); return s }

// oauthConn stores an OAuth2 connection expiring in exp.
func (e *apiEnv) oauthConn(id string, exp time.Duration) store.Connection {
	e.t.Helper()
	t := time.Now().Add(exp).UTC().Truncate(time.Millisecond)
	c := store.Connection{ProviderConfigKey: "oa", ConnectionID: id,
		Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "at-old", RefreshToken: "rt-old", ExpiresAt: &t,
			Raw: map[string]any{"access_token": "at-old", "refresh_token": "rt-old", "expires_at": store.FormatTime(t)}},
		ConnectionConfig: map[string]any{"subdomain": "acme"}, Metadata: map[string]any{"realmId": "42"}}
	if _, err := e.st.UpsertConnection(context.Background(), &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestGetConnectionShape(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		e := newAPIEnv(t, b)
		c := e.oauthConn("user-42", time.Hour)
		r := e.do("GET", "/connection/user-42?provider_config_key=oa&force_refresh=false", "")
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("content type %q", ct)
		}
		want := []string{"account_id", "connection_config", "connection_id", "created_at", "credentials", "id", "metadata", "provider_config_key", "updated_at"}
		if got := keysOf(r.body); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("keys %v, want %v", got, want)
		}
		if r.body["id"] != float64(c.ID) || r.body["connection_id"] != "user-42" || r.body["provider_config_key"] != "oa" || r.body["account_id"] != float64(0) {
			t.Errorf("body %s", r.raw)
		}
		cr := r.body["credentials"].(map[string]any)
		if cr["type"] != "OAUTH2" || cr["access_token"] != "at-old" || cr["refresh_token"] != "rt-old" || cr["expires_at"] != store.FormatTime(*c.Credentials.ExpiresAt) {
			t.Errorf("credentials %v", cr)
		}
		if raw := cr["raw"].(map[string]any); raw["expires_at"] != cr["expires_at"] {
			t.Errorf("raw.expires_at %v", raw["expires_at"])
		}
		if cc := r.body["connection_config"].(map[string]any); cc["subdomain"] != "acme" {
			t.Errorf("connection_config %v (plain keys)", cc)
		}
		if md := r.body["metadata"].(map[string]any); md["realmId"] != "42" {
			t.Errorf("metadata %v", md)
		}
		for _, k := range []string{"created_at", "updated_at"} {
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", r.body[k].(string)); err != nil {
				t.Errorf("%s = %v: %v", k, r.body[k], err)
			}
		}
		if e.token.requests.Load() != 0 {
			t.Errorf("a fresh token was refreshed")
		}
	})
}

func TestGetConnectionRefresh(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		tests := []struct {
			name     string
			exp      time.Duration
			query    string
			status   int
			body     string
			wantCode int
			wantType string
			wantReqs int64
			wantTok  string
		}{
			{name: "due: refreshed", exp: time.Minute, wantCode: 200, wantReqs: 1, wantTok: "at-new"},
			{name: "not due: stored", exp: time.Hour, wantCode: 200, wantReqs: 0, wantTok: "at-old"},
			{name: "force_refresh=true", exp: time.Hour, query: "&force_refresh=true", wantCode: 200, wantReqs: 1, wantTok: "at-new"},
			{name: "force_refresh=TRUE is not true", exp: time.Hour, query: "&force_refresh=TRUE", wantCode: 200, wantReqs: 0, wantTok: "at-old"},
			{name: "force_refresh=1 is not true", exp: time.Hour, query: "&force_refresh=1", wantCode: 200, wantReqs: 0, wantTok: "at-old"},
			{name: "provider rejects: 400", exp: time.Minute, status: 400, body: `{"error":"invalid_grant","error_description":"Token has been revoked."}`, wantCode: 400, wantType: "refresh_token_external_error", wantReqs: 1},
			{name: "provider down: 502", exp: time.Minute, status: 503, body: `{"message":"maintenance"}`, wantCode: 502, wantType: "refresh_token_external_error", wantReqs: 1},
			{name: "unusable answer: 502 parsing", exp: time.Minute, status: 200, body: `{"token_type":"bearer"}`, wantCode: 502, wantType: "refresh_token_parsing_error", wantReqs: 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newAPIEnv(t, b)
				if tt.status != 0 {
					e.token.setReply(tt.status, tt.body)
				}
				e.oauthConn("c1", tt.exp)
				r := e.do("GET", "/connection/c1?provider_config_key=oa"+tt.query, "")
				if r.status != tt.wantCode || r.errType() != tt.wantType {
					t.Fatalf("status %d type %q, want %d %q: %s", r.status, r.errType(), tt.wantCode, tt.wantType, r.raw)
				}
				if n := e.token.requests.Load(); n != tt.wantReqs {
					t.Errorf("token requests %d, want %d", n, tt.wantReqs)
				}
				if strings.Contains(r.raw, "rt-old") && r.status != 200 {
					t.Errorf("error body leaks the refresh token: %s", r.raw)
				}
				if strings.Contains(r.raw, "csecret") {
					t.Errorf("body leaks the client secret: %s", r.raw)
				}
				if tt.wantType != "" {
					p, _ := r.body["payload"].(map[string]any)
					if m, _ := p["external_message"].(string); m == "" {
						t.Errorf("payload without external_message: %s", r.raw)
					}
					if msg, _ := r.body["error"].(string); msg == "" {
						t.Errorf("no error message: %s", r.raw)
					}
					if tt.status == 400 && (p["external_error"] != "invalid_grant" || p["retryable"] != false) {
						t.Errorf("payload %v", p)
					}
					return
				}
				cr := r.body["credentials"].(map[string]any)
				if cr["access_token"] != tt.wantTok {
					t.Errorf("access_token %v, want %s", cr["access_token"], tt.wantTok)
				}
			})
		}
	})
}

func TestConnectionErrors(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		e := newAPIEnv(t, b)
		e.oauthConn("c1", time.Hour)
		orphan := store.Connection{ProviderConfigKey: "gone", ConnectionID: "c1", Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "a"}}
		if _, err := e.st.UpsertConnection(context.Background(), &orphan); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("x", 256)
		tests := []struct {
			name, method, path string
			wantCode           int
			wantType           string
		}{
			{"get without provider_config_key", "GET", "/connection/c1", 400, "missing_provider_config"},
			{"get unknown connection", "GET", "/connection/nope?provider_config_key=oa", 400, "unkown_connection"},
			{"get unknown key", "GET", "/connection/c1?provider_config_key=zz", 400, "unkown_connection"},
			{"get with integration gone", "GET", "/connection/c1?provider_config_key=gone", 400, "unknown_provider_config"},
			{"get id too long", "GET", "/connection/" + long + "?provider_config_key=oa", 400, "invalid_connection_id"},
			{"get key too long", "GET", "/connection/c1?provider_config_key=" + long, 400, "invalid_provider_config"},
			{"get id with control character", "GET", "/connection/a%01b?provider_config_key=oa", 400, "invalid_connection_id"},
			{"get empty id", "GET", "/connection/?provider_config_key=oa", 400, "missing_connection"},
			{"delete without provider_config_key", "DELETE", "/connection/c1", 400, "missing_provider_config"},
			{"delete unknown", "DELETE", "/connection/nope?provider_config_key=oa", 400, "unkown_connection"},
			{"list with bad filter", "GET", "/connection?connectionId=" + long, 400, "invalid_connection_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do(tt.method, tt.path, "")
				if r.status != tt.wantCode || r.errType() != tt.wantType {
					t.Fatalf("status %d type %q, want %d %q: %s", r.status, r.errType(), tt.wantCode, tt.wantType, r.raw)
				}
				if _, ok := r.body["payload"].(map[string]any); !ok {
					t.Errorf("envelope without payload: %s", r.raw)
				}
			})
		}
	})
}

func TestListAndDeleteConnections(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		e := newAPIEnv(t, b)
		r := e.do("GET", "/connection", "")
		if r.status != 200 || r.raw != "{\"connections\":[]}\n" {
			t.Fatalf("empty list: %d %q", r.status, r.raw)
		}
		a := e.oauthConn("alpha", time.Hour)
		e.oauthConn("beta", time.Hour)
		r = e.do("GET", "/connection", "")
		list := r.body["connections"].([]any)
		if len(list) != 2 {
			t.Fatalf("list %s", r.raw)
		}
		r = e.do("GET", "/connection?connectionId=alpha", "")
		list = r.body["connections"].([]any)
		if len(list) != 1 {
			t.Fatalf("filtered list %s", r.raw)
		}
		item := list[0].(map[string]any)
		if strings.Join(keysOf(item), ",") != "connection_id,created,id,provider" || item["provider"] != "oa" || item["connection_id"] != "alpha" || item["id"] != float64(a.ID) {
			t.Errorf("item %v", item)
		}
		if strings.Contains(r.raw, "at-old") {
			t.Errorf("list carries credentials: %s", r.raw)
		}
		r = e.do("DELETE", "/connection/alpha?provider_config_key=oa", "")
		if r.status != 200 || r.raw != "" || r.header.Get("Content-Type") != "" {
			t.Fatalf("delete: %d %q %q", r.status, r.raw, r.header.Get("Content-Type"))
		}
		if r := e.do("GET", "/connection/alpha?provider_config_key=oa", ""); r.errType() != "unkown_connection" {
			t.Errorf("deleted connection still readable: %s", r.raw)
		}
		if r := e.do("DELETE", "/connection/alpha?provider_config_key=oa", ""); r.status != 400 || r.errType() != "unkown_connection" {
			t.Errorf("second delete: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/connection?connectionId=beta", ""); len(r.body["connections"].([]any)) != 1 {
			t.Errorf("other connection gone: %s", r.raw)
		}
	})
}

func TestOddConnectionIDsRoundTrip(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		e := newAPIEnv(t, b)
		ids := []string{"user 42", "a+b", "ünïcødé-用户", "a/b", "50%", "q?x#y", "a%2Fb", "...", "a..b", "-", "' OR 1=1 --"}
		for _, id := range ids {
			t.Run(id, func(t *testing.T) {
				body, _ := json.Marshal(map[string]any{"connection_id": id, "provider_config_key": "key", "api_key": "sk-" + id})
				if r := e.do("POST", "/connection", string(body)); r.status != 201 || r.body["connection_id"] != id {
					t.Fatalf("import: %d %s", r.status, r.raw)
				}
				path := "/connection/" + url.PathEscape(id) + "?provider_config_key=key"
				r := e.do("GET", path, "")
				if r.status != 200 || r.body["connection_id"] != id {
					t.Fatalf("get %s: %d %s", path, r.status, r.raw)
				}
				if cr := r.body["credentials"].(map[string]any); cr["apiKey"] != "sk-"+id {
					t.Errorf("credentials %v", cr)
				}
				r = e.do("GET", "/connection?connectionId="+url.QueryEscape(id), "")
				if l := r.body["connections"].([]any); len(l) != 1 || l[0].(map[string]any)["connection_id"] != id {
					t.Errorf("list filter: %s", r.raw)
				}
				if r := e.do("DELETE", path, ""); r.status != 200 {
					t.Fatalf("delete: %d %s", r.status, r.raw)
				}
			})
		}
		// An unencoded slash (the node SDK does not encode ids) reaches the
		// same connection.
		body := `{"connection_id":"team/user","provider_config_key":"key","api_key":"k"}`
		if r := e.do("POST", "/connection", body); r.status != 201 {
			t.Fatal(r.raw)
		}
		if r := e.do("GET", "/connection/team/user?provider_config_key=key", ""); r.status != 200 || r.body["connection_id"] != "team/user" {
			t.Errorf("raw slash: %d %s", r.status, r.raw)
		}
	})
}

func TestImportConnection(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		e := newAPIEnv(t, b)
		tests := []struct {
			name     string
			body     string
			ct       string // Content-Type override
			wantCode int
			wantType string
			wantIn   string // text the error message must contain
		}{
			{name: "empty body", body: " ", wantCode: 400, wantType: "missing_body"},
			{name: "not JSON", body: "{nope", wantCode: 400, wantType: "invalid_body"},
			{name: "array", body: "[1]", wantCode: 400, wantType: "invalid_body"},
			{name: "trailing data", body: `{"connection_id":"a"} x`, wantCode: 400, wantType: "invalid_body"},
			{name: "form content type", body: `{}`, ct: "application/x-www-form-urlencoded", wantCode: 415, wantType: "invalid_content_type"},
			{name: "no connection_id", body: `{"provider_config_key":"oa","access_token":"a"}`, wantCode: 400, wantType: "missing_connection"},
			{name: "no provider_config_key", body: `{"connection_id":"c","access_token":"a"}`, wantCode: 400, wantType: "missing_provider_config"},
			{name: "connection_id a number", body: `{"connection_id":5,"provider_config_key":"oa"}`, wantCode: 400, wantType: "invalid_body", wantIn: "connection_id"},
			{name: "unknown integration", body: `{"connection_id":"c","provider_config_key":"zz","access_token":"a"}`, wantCode: 400, wantType: "unknown_provider_config"},
			{name: "template not in catalog", body: `{"connection_id":"c","provider_config_key":"lost","access_token":"a"}`, wantCode: 400, wantType: "unsupported_auth_mode"},
			{name: "oauth2 without access_token", body: `{"connection_id":"c","provider_config_key":"oa","refresh_token":"r"}`, wantCode: 400, wantType: "missing_access_token"},
			{name: "oauth2 empty access_token", body: `{"connection_id":"c","provider_config_key":"oa","access_token":""}`, wantCode: 400, wantType: "missing_access_token"},
			{name: "access_token a number", body: `{"connection_id":"c","provider_config_key":"oa","access_token":5}`, wantCode: 400, wantType: "invalid_body", wantIn: "access_token"},
			{name: "expires_at not ISO", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","expires_at":"next tuesday"}`, wantCode: 400, wantType: "invalid_body", wantIn: "expires_at"},
			{name: "expires_at date only", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","expires_at":"2024-05-06"}`, wantCode: 400, wantType: "invalid_body", wantIn: "expires_at"},
			{name: "expires_at a number", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","expires_at":1714982889}`, wantCode: 400, wantType: "invalid_body", wantIn: "expires_at"},
			{name: "expires_in a string", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","expires_in":"3600"}`, wantCode: 400, wantType: "invalid_body", wantIn: "expires_in"},
			{name: "expires_in negative", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","expires_in":-5}`, wantCode: 400, wantType: "invalid_body", wantIn: "expires_in"},
			{name: "raw not an object", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","raw":"x"}`, wantCode: 400, wantType: "invalid_body", wantIn: "raw"},
			{name: "metadata not an object", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","metadata":[1]}`, wantCode: 400, wantType: "invalid_body", wantIn: "metadata"},
			{name: "connection_config not an object", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a","connection_config":1}`, wantCode: 400, wantType: "invalid_body", wantIn: "connection_config"},
			{name: "oauth1 without token", body: `{"connection_id":"c","provider_config_key":"o1","oauth_token_secret":"s"}`, wantCode: 400, wantType: "missing_oauth_token"},
			{name: "oauth1 without secret", body: `{"connection_id":"c","provider_config_key":"o1","oauth_token":"t"}`, wantCode: 400, wantType: "missing_oauth_token_secret"},
			{name: "basic without username", body: `{"connection_id":"c","provider_config_key":"basic","password":"p"}`, wantCode: 400, wantType: "missing_basic_username"},
			{name: "basic without password", body: `{"connection_id":"c","provider_config_key":"basic","username":"u"}`, wantCode: 400, wantType: "missing_basic_password"},
			{name: "api key missing", body: `{"connection_id":"c","provider_config_key":"key"}`, wantCode: 400, wantType: "missing_api_key"},
			{name: "connection_id too long", body: `{"connection_id":"` + strings.Repeat("x", 300) + `","provider_config_key":"key","api_key":"k"}`, wantCode: 400, wantType: "invalid_connection_id"},
			{name: "oauth2 ok", body: `{"connection_id":"c","provider_config_key":"oa","access_token":"a"}`, wantCode: 201},
			{name: "oauth1 ok", body: `{"connection_id":"c","provider_config_key":"o1","oauth_token":"t","oauth_token_secret":"s"}`, wantCode: 201},
			{name: "basic ok with empty password", body: `{"connection_id":"c","provider_config_key":"basic","username":"u","password":""}`, wantCode: 201},
			{name: "api key ok", body: `{"connection_id":"c","provider_config_key":"key","api_key":"k"}`, wantCode: 201},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", e.srv.URL+"/connection", strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				if tt.ct != "" {
					req.Header.Set("Content-Type", tt.ct)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var body map[string]any
				_ = json.Unmarshal(raw, &body)
				typ, _ := body["type"].(string)
				if resp.StatusCode != tt.wantCode || typ != tt.wantType {
					t.Fatalf("status %d type %q, want %d %q: %s", resp.StatusCode, typ, tt.wantCode, tt.wantType, raw)
				}
				if msg, _ := body["error"].(string); !strings.Contains(msg, tt.wantIn) {
					t.Errorf("message %q does not name %q", msg, tt.wantIn)
				}
			})
		}
	})
}

func TestImportStoresAndReplaces(t *testing.T) {
	eachAPIBackend(t, func(t *testing.T, b apiBackend) {
		e := newAPIEnv(t, b)
		r := e.do("POST", "/connection", `{"connection_id":"imp","provider_config_key":"oa","access_token":"at-1","refresh_token":"rt-1",
			"expires_at":"2099-01-02T03:04:05.678+01:00","raw":{"access_token":"at-1","scope":"a b"},
			"metadata":{"realmId":"9"},"connection_config":{"subdomain":"acme"}}`)
		if r.status != 201 {
			t.Fatalf("import: %d %s", r.status, r.raw)
		}
		r = e.do("GET", "/connection/imp?provider_config_key=oa", "")
		cr := r.body["credentials"].(map[string]any)
		if cr["access_token"] != "at-1" || cr["refresh_token"] != "rt-1" || cr["expires_at"] != "2099-01-02T02:04:05.678Z" {
			t.Errorf("credentials %v", cr)
		}
		raw := cr["raw"].(map[string]any)
		if raw["scope"] != "a b" || raw["expires_at"] != "2099-01-02T02:04:05.678Z" {
			t.Errorf("raw %v", raw)
		}
		if r.body["metadata"].(map[string]any)["realmId"] != "9" || r.body["connection_config"].(map[string]any)["subdomain"] != "acme" {
			t.Errorf("metadata/config %s", r.raw)
		}
		id := r.body["id"]
		created := r.body["created_at"]

		// expires_in, re-import: credentials replaced, config and metadata kept, same row.
		before := time.Now()
		r = e.do("POST", "/connection", `{"connection_id":"imp","provider_config_key":"oa","access_token":"at-2","expires_in":7200}`)
		if r.status != 201 {
			t.Fatalf("re-import: %d %s", r.status, r.raw)
		}
		r = e.do("GET", "/connection/imp?provider_config_key=oa", "")
		cr = r.body["credentials"].(map[string]any)
		exp, err := time.Parse(time.RFC3339, cr["expires_at"].(string))
		if err != nil || exp.Before(before.Add(2*time.Hour-time.Second)) || exp.After(time.Now().Add(2*time.Hour+time.Second)) {
			t.Errorf("expires_at %v from expires_in 7200", cr["expires_at"])
		}
		if cr["access_token"] != "at-2" || cr["refresh_token"] != nil {
			t.Errorf("credentials not replaced: %v", cr)
		}
		if raw := cr["raw"].(map[string]any); raw["access_token"] != "at-2" || raw["expires_in"] != float64(7200) || raw["expires_at"] != cr["expires_at"] {
			t.Errorf("built raw %v", raw)
		}
		if r.body["id"] != id || r.body["created_at"] != created {
			t.Errorf("re-import made a new row")
		}
		if r.body["metadata"].(map[string]any)["realmId"] != "9" || r.body["connection_config"].(map[string]any)["subdomain"] != "acme" {
			t.Errorf("re-import dropped config/metadata: %s", r.raw)
		}
		if list := e.do("GET", "/connection?connectionId=imp", "").body["connections"].([]any); len(list) != 1 {
			t.Errorf("%d rows after re-import", len(list))
		}
		// Stored shapes of the other modes.
		e.do("POST", "/connection", `{"connection_id":"b1","provider_config_key":"basic","username":"u","password":"p w"}`)
		if cr := e.do("GET", "/connection/b1?provider_config_key=basic", "").body["credentials"].(map[string]any); cr["type"] != "BASIC" || cr["username"] != "u" || cr["password"] != "p w" {
			t.Errorf("basic %v", cr)
		}
		e.do("POST", "/connection", `{"connection_id":"k1","provider_config_key":"key","api_key":"sk"}`)
		if cr := e.do("GET", "/connection/k1?provider_config_key=key", "").body["credentials"].(map[string]any); cr["type"] != "API_KEY" || cr["apiKey"] != "sk" {
			t.Errorf("api key %v", cr)
		}
		e.do("POST", "/connection", `{"connection_id":"t1","provider_config_key":"o1","oauth_token":"t","oauth_token_secret":"s"}`)
		if cr := e.do("GET", "/connection/t1?provider_config_key=o1", "").body["credentials"].(map[string]any); cr["type"] != "OAUTH1" || cr["oauth_token"] != "t" || cr["oauth_token_secret"] != "s" {
			t.Errorf("oauth1 %v", cr)
		}
	})
}
