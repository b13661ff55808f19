package proxy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/proxy"
	"github.com/nango-go/nango/internal/store"
)

// echo answers with what it received, as JSON.
func echo(w http.ResponseWriter, r *http.Request, _ int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.EscapedPath(), "query": r.URL.RawQuery, "body": string(body)})
}

// simple sets up integration "api" (template "t-api" pointing at up) with
// connection "u1" holding OAuth 2 access token "at-1".
func simple(t *testing.T, o envOptions, up *upstream) *env {
	e := newEnv(t, o)
	e.addTemplates(oauth2Template("t-api", up.URL))
	e.integration("api", "t-api", "cid", "csecret")
	e.connection("api", "u1", bearer("at-1"), nil)
	return e
}

func TestMethodsWithAndWithoutBody(t *testing.T) {
	up := newUpstream(t, echo)
	e := simple(t, envOptions{}, up)
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "PROPFIND"}
	for _, m := range methods {
		for _, withBody := range []bool{false, true} {
			name := fmt.Sprintf("%s body=%v", m, withBody)
			t.Run(name, func(t *testing.T) {
				c := call{method: m, path: "/proxy/items/7", key: "api", id: "u1"}
				want := ""
				if withBody {
					want = `{"n":1,"m":"` + m + `"}`
					c.body = strings.NewReader(want)
					c.header = map[string]string{"Content-Type": "application/json"}
				}
				resp := e.do(c)
				got := readAll(t, resp)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, got)
				}
				s := up.last(t)
				if s.Method != m || s.Path != "/items/7" {
					t.Errorf("upstream saw %s %s, want %s /items/7", s.Method, s.Path, m)
				}
				if string(s.Body) != want {
					t.Errorf("upstream body %q, want %q", s.Body, want)
				}
				if withBody && s.Header.Get("Content-Type") != "application/json" {
					t.Errorf("content type %q not forwarded", s.Header.Get("Content-Type"))
				}
				if got := s.Header.Get("Authorization"); got != "Bearer at-1" {
					t.Errorf("upstream Authorization %q", got)
				}
				if m == http.MethodHead {
					if got != "" {
						t.Errorf("HEAD answered a body %q", got)
					}
					return
				}
				var back map[string]any
				if err := json.Unmarshal([]byte(got), &back); err != nil || back["body"] != want || back["method"] != m {
					t.Errorf("response %q does not echo the request", got)
				}
			})
		}
	}
}

func TestPathAndQueryPassing(t *testing.T) {
	up := newUpstream(t, echo)
	e := newEnv(t, envOptions{})
	e.addTemplates(oauth2Template("t-root", up.URL) + oauth2Template("t-sub", up.URL+"/api/v2/"))
	e.integration("root", "t-root", "c", "s")
	e.integration("sub", "t-sub", "c", "s")
	e.connection("root", "u", bearer("x"), nil)
	e.connection("sub", "u", bearer("x"), nil)
	tests := []struct {
		name, key, path       string
		wantPath, wantRawPath string
		wantQuery             string
	}{
		{"plain", "root", "/proxy/user", "/user", "/user", ""},
		{"double slash (node SDK with a leading /)", "root", "/proxy//user", "/user", "/user", ""},
		{"base path kept, one slash between", "sub", "/proxy//repos/x", "/api/v2/repos/x", "/api/v2/repos/x", ""},
		{"no slash between", "sub", "/proxy/repos", "/api/v2/repos", "/api/v2/repos", ""},
		{"encoded slash survives", "root", "/proxy/files/a%2Fb.txt", "/files/a/b.txt", "/files/a%2Fb.txt", ""},
		{"encoded space and unicode", "root", "/proxy/n/a%20b/%C3%A9", "/n/a b/é", "/n/a%20b/%C3%A9", ""},
		{"no path cleaning", "root", "/proxy/a/./b//c/", "/a/./b//c/", "/a/./b//c/", ""},
		{"query passed raw", "root", "/proxy/search?q=a%20b&tag=x&tag=y&empty=&flag", "/search", "/search", "q=a%20b&tag=x&tag=y&empty=&flag"},
		{"query with plus and encoded ampersand", "root", "/proxy/s?q=a+b%26c", "/s", "/s", "q=a+b%26c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(call{path: tt.path, key: tt.key, id: "u"})
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			s := up.last(t)
			if s.Path != tt.wantPath || s.RawPath != tt.wantRawPath || s.RawQuery != tt.wantQuery {
				t.Errorf("upstream saw path %q raw %q query %q; want %q %q %q", s.Path, s.RawPath, s.RawQuery, tt.wantPath, tt.wantRawPath, tt.wantQuery)
			}
		})
	}
}

func TestHeaderForwardingAndStripping(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		h := w.Header()
		h.Set("X-Upstream", "kept")
		h.Set("X-Ratelimit-Remaining", "41")
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		h.Set("Connection", "X-Private-Hop")
		h.Set("X-Private-Hop", "must not cross")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Upgrade", "h2c")
		h.Set(proxy.HeaderAttempts, "forged")
		w.WriteHeader(201)
		_, _ = io.WriteString(w, "created")
	})
	e := simple(t, envOptions{}, up)
	resp := e.do(call{method: "POST", path: "/proxy/things", key: "api", id: "u1", body: strings.NewReader("x=1"), header: map[string]string{
		"Authorization":                   "Bearer the-nango-secret-key",
		"Content-Type":                    "application/x-www-form-urlencoded",
		"Accept":                          "application/vnd.github+json",
		"X-Not-Forwarded":                 "nope",
		"User-Agent":                      "caller-agent",
		"Cookie":                          "session=caller",
		"Nango-Proxy-X-Trace":             "trace-42",
		"nango-proxy-x-lower":             "lower",
		"Nango-Proxy-Connection":          "close",
		"Nango-Proxy-Transfer-Encoding":   "chunked",
		"Nango-Proxy-Keep-Alive":          "1",
		"Nango-Proxy-Upgrade":             "websocket",
		"Nango-Proxy-Host":                "evil.example",
		"Nango-Proxy-Content-Length":      "999",
		"Nango-Proxy-Proxy-Authorization": "Basic eA==",
		"Connection":                      "Nango-Proxy-X-Hop",
		"Nango-Proxy-X-Hop":               "listed in Connection",
		"Retries":                         "1",
	}})
	body := readAll(t, resp)
	if resp.StatusCode != 201 || body != "created" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	s := up.last(t)
	wantSent := map[string]string{
		"Authorization": "Bearer at-1",
		"Content-Type":  "application/x-www-form-urlencoded",
		"Accept":        "application/vnd.github+json",
		"X-Trace":       "trace-42",
		"X-Lower":       "lower",
	}
	for k, v := range wantSent {
		if got := s.Header.Get(k); got != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"X-Not-Forwarded", "Cookie", "Connection-Id", "Provider-Config-Key", "Retries", "Keep-Alive",
		"Upgrade", "Proxy-Authorization", "X-Hop", "Nango-Proxy-X-Trace", "Transfer-Encoding"} {
		if v := s.Header.Values(k); len(v) > 0 {
			t.Errorf("upstream received %s: %q", k, v)
		}
	}
	if s.Host == "evil.example" {
		t.Error("the caller chose the upstream Host header")
	}
	if strings.Contains(fmt.Sprint(s.Header), "the-nango-secret-key") {
		t.Error("the caller's Authorization reached the upstream")
	}
	if ua := s.Header.Get("User-Agent"); ua == "caller-agent" {
		t.Errorf("User-Agent forwarded without the prefix")
	}
	if string(s.Body) != "x=1" {
		t.Errorf("body %q", s.Body)
	}

	rh := resp.Header
	if rh.Get("X-Upstream") != "kept" || rh.Get("X-Ratelimit-Remaining") != "41" || len(rh.Values("Set-Cookie")) != 2 {
		t.Errorf("end-to-end response headers lost: %v", rh)
	}
	for _, k := range []string{"X-Private-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
		if v := rh.Values(k); len(v) > 0 {
			t.Errorf("hop-by-hop response header %s = %q came back", k, v)
		}
	}
	if got := rh.Get(proxy.HeaderAttempts); got != "1" {
		t.Errorf("%s = %q, want 1 (set by the proxy, not the upstream)", proxy.HeaderAttempts, got)
	}
}

func TestCallerMayOverrideAuthorization(t *testing.T) {
	up := newUpstream(t, nil)
	e := simple(t, envOptions{}, up)
	resp := e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Nango-Proxy-Authorization": "token custom"}})
	readAll(t, resp)
	if got := up.last(t).Header.Get("Authorization"); got != "token custom" {
		t.Errorf("Authorization %q, want the caller's Nango-Proxy-Authorization", got)
	}
}

func TestUpstreamErrorsPassThrough(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"teapot json", 418, "application/json", `{"status":418,"message":"status 418 requested"}`},
		{"not found", 404, "application/json", `{"message":"Not Found"}`},
		{"forbidden", 403, "text/plain", "scope missing"},
		{"server error html", 500, "text/html", "<h1>boom</h1>"},
		{"unavailable", 503, "application/json", `{"retry":true}`},
		{"redirect", 304, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.Header().Set("X-Error-Id", "e-1")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			e := simple(t, envOptions{}, up)
			resp := e.do(call{path: "/proxy/x", key: "api", id: "u1"})
			body := readAll(t, resp)
			if resp.StatusCode != tt.status || body != tt.body || resp.Header.Get("X-Error-Id") != "e-1" || resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("got %d %q %v; want %d %q unchanged", resp.StatusCode, body, resp.Header, tt.status, tt.body)
			}
			if resp.Header.Get(proxy.HeaderAttempts) != "1" {
				t.Errorf("upstream answer lacks %s", proxy.HeaderAttempts)
			}
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	other := newUpstream(t, nil)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	})
	e := simple(t, envOptions{}, up)
	resp := e.do(call{path: "/proxy/x", key: "api", id: "u1"})
	readAll(t, resp)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != other.URL+"/steal" {
		t.Errorf("got %d Location %q; want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
}

func TestNangoSideErrors(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t, envOptions{})
	e.addTemplates(oauth2Template("t-api", up.URL) + `
t-nobase:
  auth_mode: OAUTH2
  authorization_url: https://example.com/auth
  token_url: https://example.com/token
`)
	e.integration("api", "t-api", "c", "s")
	e.integration("nobase", "t-nobase", "c", "s")
	e.integration("gone", "t-removed", "c", "s")
	e.connection("api", "u1", bearer("x"), nil)
	e.connection("nobase", "u1", bearer("x"), nil)
	tests := []struct {
		name   string
		c      call
		status int
		typ    string
	}{
		{"missing Connection-Id", call{path: "/proxy/x", key: "api"}, 400, "missing_connection_id"},
		{"missing Provider-Config-Key", call{path: "/proxy/x", id: "u1"}, 400, "missing_provider_config_key"},
		{"missing both: connection id first", call{path: "/proxy/x"}, 400, "missing_connection_id"},
		{"unknown connection", call{path: "/proxy/x", key: "api", id: "nobody"}, 400, "unkown_connection"},
		{"unknown integration", call{path: "/proxy/x", key: "nope", id: "u1"}, 400, "unkown_connection"},
		{"template without base url", call{path: "/proxy/x", key: "nobase", id: "u1"}, 400, "missing_base_api_url"},
		{"template no longer in the catalog", call{path: "/proxy/x", key: "gone", id: "u1"}, 400, "unknown_provider_template"},
		{"empty endpoint", call{path: "/proxy/", key: "api", id: "u1"}, 400, "missing_endpoint"},
		{"only slashes", call{path: "/proxy///", key: "api", id: "u1"}, 400, "missing_endpoint"},
		{"bare /proxy", call{path: "/proxy", key: "api", id: "u1"}, 400, "missing_endpoint"},
		{"bad Retries", call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Retries": "many"}}, 400, "invalid_request"},
		{"negative Retries", call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Retries": "-1"}}, 400, "invalid_request"},
		{"overlong connection id", call{path: "/proxy/x", key: "api", id: strings.Repeat("a", 300)}, 400, "invalid_connection_id"},
		{"override disabled", call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Base-Url-Override": up.URL}}, 403, "base_url_override_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(tt.c), tt.status, tt.typ)
		})
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("the upstream received %d requests from failed calls", n)
	}
}

func TestUnreachableUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	e := newEnv(t, envOptions{})
	e.addTemplates(oauth2Template("t-dead", "http://"+addr))
	e.integration("dead", "t-dead", "c", "s")
	e.connection("dead", "u", bearer("x"), nil)
	env := wantError(t, e.do(call{path: "/proxy/x", key: "dead", id: "u", header: map[string]string{"Retries": "2"}}), 502, "upstream_unreachable")
	if env.Payload["attempts"] != float64(2) {
		t.Errorf("payload %v: want 2 attempts", env.Payload)
	}
	if !strings.Contains(env.Error, addr) {
		t.Errorf("message %q does not name the upstream", env.Error)
	}
}

func TestUpstreamHangTimesOut(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	const timeout = 300 * time.Millisecond
	e := simple(t, envOptions{cfg: config.Proxy{ResponseTimeout: timeout}}, up)
	start := time.Now()
	env := wantError(t, e.do(call{path: "/proxy/slow", key: "api", id: "u1", header: map[string]string{"Retries": "2"}}), 502, "upstream_timeout")
	took := time.Since(start)
	if took < 2*timeout || took > 10*time.Second {
		t.Errorf("answered after %s; want two attempts of %s each, well under 10s", took, timeout)
	}
	if n := len(up.requests()); n != 2 || env.Payload["attempts"] != float64(2) {
		t.Errorf("upstream saw %d attempts, payload %v; want 2", n, env.Payload)
	}
}

func TestCredentialInjection(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t, envOptions{})
	e.addTemplates(oauth2Template("t-oauth2", up.URL) + `
t-cc:
  auth_mode: OAUTH2_CC
  token_url: https://example.com/token
  proxy:
    base_url: ` + up.URL + `
t-key-header:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    headers:
      x-api-key: ${apiKey}
      x-tenant: ${connectionConfig.tenant}
t-key-query:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `/v1
    query:
      api_key: ${apiKey}
      format: json
t-key-bearer:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    headers:
      authorization: Bearer ${apiKey}
t-basic:
  auth_mode: BASIC
  proxy:
    base_url: ` + up.URL + `
t-basic-custom:
  auth_mode: BASIC
  proxy:
    base_url: ` + up.URL + `
    headers:
      authorization: Token ${base64(${credentials.username})}
t-path-config:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `/${connectionConfig.account}/api
    headers:
      x-api-key: ${apiKey}
t-signed:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    headers:
      x-signature: ${hmacSha1Hex(${method} ${path}?${params}, ${apiKey})}
      x-digest: ${sha256Base64(${bodyCanonicalParams})}
t-access-token-header:
  auth_mode: OAUTH2
  authorization_url: https://example.com/auth
  token_url: https://example.com/token
  proxy:
    base_url: ` + up.URL + `
    headers:
      x-shop-token: ${accessToken}
`)
	type conn struct {
		key, tmpl string
		cr        store.Credentials
		cc        map[string]any
	}
	for _, c := range []conn{
		{"oauth2", "t-oauth2", bearer("at-9"), nil},
		{"cc", "t-cc", store.Credentials{Type: store.OAuth2CC, AccessToken: "cc-token"}, nil},
		{"key-header", "t-key-header", store.Credentials{Type: store.APIKey, APIKey: "k-123"}, map[string]any{"tenant": "acme"}},
		{"key-query", "t-key-query", store.Credentials{Type: store.APIKey, APIKey: "k &=/"}, nil},
		{"key-bearer", "t-key-bearer", store.Credentials{Type: store.APIKey, APIKey: "k-b"}, nil},
		{"basic", "t-basic", store.Credentials{Type: store.Basic, Username: "ann", Password: "p:w"}, nil},
		{"basic-custom", "t-basic-custom", store.Credentials{Type: store.Basic, Username: "bob", Password: "pw"}, nil},
		{"path-config", "t-path-config", store.Credentials{Type: store.APIKey, APIKey: "k"}, map[string]any{"account": "a-77"}},
		{"signed", "t-signed", store.Credentials{Type: store.APIKey, APIKey: "sign-key"}, nil},
		{"access-token-header", "t-access-token-header", bearer("shp-1"), nil},
	} {
		e.integration(c.key, c.tmpl, "cid", "cs")
		e.connection(c.key, "u", c.cr, c.cc)
	}
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	tests := []struct {
		name, key, path string
		body            string
		wantHeader      map[string]string
		noHeader        []string
		wantPath        string
		wantQuery       string
	}{
		{name: "oauth2 bearer", key: "oauth2", wantHeader: map[string]string{"Authorization": "Bearer at-9"}},
		{name: "client credentials bearer", key: "cc", wantHeader: map[string]string{"Authorization": "Bearer cc-token"}},
		{name: "api key header and config", key: "key-header", wantHeader: map[string]string{"X-Api-Key": "k-123", "X-Tenant": "acme"}, noHeader: []string{"Authorization"}},
		{name: "api key query after the caller's", key: "key-query", path: "/proxy/items?page=2", wantPath: "/v1/items", wantQuery: "page=2&api_key=k+%26%3D%2F&format=json", noHeader: []string{"Authorization"}},
		{name: "caller's query parameter wins", key: "key-query", path: "/proxy/items?format=xml", wantPath: "/v1/items", wantQuery: "format=xml&api_key=k+%26%3D%2F"},
		{name: "api key as bearer", key: "key-bearer", wantHeader: map[string]string{"Authorization": "Bearer k-b"}},
		{name: "basic without template header", key: "basic", wantHeader: map[string]string{"Authorization": basic("ann", "p:w")}},
		{name: "basic with the template's own authorization", key: "basic-custom", wantHeader: map[string]string{"Authorization": "Token " + base64.StdEncoding.EncodeToString([]byte("bob"))}},
		{name: "connection config in the base path", key: "path-config", path: "/proxy/users", wantPath: "/a-77/api/users"},
		{name: "access token in a template header plus bearer", key: "access-token-header", wantHeader: map[string]string{"X-Shop-Token": "shp-1", "Authorization": "Bearer shp-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/proxy/x"
			}
			resp := e.do(call{path: path, key: tt.key, id: "u"})
			if body := readAll(t, resp); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			s := up.last(t)
			for k, v := range tt.wantHeader {
				if got := s.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.noHeader {
				if got := s.Header.Get(k); got != "" {
					t.Errorf("%s = %q, want none", k, got)
				}
			}
			if tt.wantPath != "" && s.Path != tt.wantPath {
				t.Errorf("path %q, want %q", s.Path, tt.wantPath)
			}
			if tt.wantQuery != "" && s.RawQuery != tt.wantQuery {
				t.Errorf("query %q, want %q", s.RawQuery, tt.wantQuery)
			}
		})
	}

	t.Run("signing placeholders see the outgoing request", func(t *testing.T) {
		body := `{"amount":5}`
		resp := e.do(call{method: "POST", path: "/proxy/pay?b=2&a=1", key: "signed", id: "u", body: strings.NewReader(body), header: map[string]string{"Content-Type": "application/json"}})
		if b := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		s := up.last(t)
		sum := sha256.Sum256(s.Body)
		if got, want := s.Header.Get("X-Digest"), base64.StdEncoding.EncodeToString(sum[:]); got != want || string(s.Body) != body {
			t.Errorf("x-digest %q over %q, want %q", got, s.Body, want)
		}
		if got, want := s.Header.Get("X-Signature"), hmacSHA1Hex("POST /pay?a=1&b=2", "sign-key"); got != want {
			t.Errorf("x-signature %q, want %q", got, want)
		}
	})

}

func TestBaseURLFromConnectionConfig(t *testing.T) {
	up := newUpstream(t, nil)
	host := strings.TrimPrefix(up.URL, "http://") // 127.0.0.1:port
	tmpl := `
t-host:
  auth_mode: API_KEY
  proxy:
    base_url: http://${connectionConfig.host}/api
    headers:
      x-api-key: ${apiKey}
t-whole:
  auth_mode: API_KEY
  proxy:
    base_url: ${connectionConfig.instance_url} || http://` + host + `/fallback
`
	setup := func(t *testing.T, cfg config.Proxy) *env {
		e := newEnv(t, envOptions{cfg: cfg})
		e.addTemplates(tmpl)
		e.integration("host", "t-host", "c", "s")
		e.integration("whole", "t-whole", "c", "s")
		key := store.Credentials{Type: store.APIKey, APIKey: "k"}
		e.connection("host", "ok", key, map[string]any{"host": host})
		e.connection("host", "slash", key, map[string]any{"host": "evil.example/x?"})
		e.connection("host", "at", key, map[string]any{"host": "evil.example@" + host})
		e.connection("host", "hash", key, map[string]any{"host": host + "#"})
		e.connection("host", "none", key, nil)
		e.connection("whole", "url", key, map[string]any{"instance_url": up.URL + "/inst"})
		e.connection("whole", "fallback", key, nil)
		e.connection("whole", "bad-url", key, map[string]any{"instance_url": "http://user:pw@" + host})
		return e
	}

	t.Run("private addresses refused by default", func(t *testing.T) {
		e := setup(t, config.Proxy{})
		env := wantError(t, e.do(call{path: "/proxy/x", key: "host", id: "ok"}), 403, "upstream_not_allowed")
		if !strings.Contains(env.Error, "127.0.0.1") {
			t.Errorf("message %q does not name the address", env.Error)
		}
		// A host written in the template itself is the operator's choice.
		resp := e.do(call{path: "/proxy/x", key: "whole", id: "fallback"})
		if b := readAll(t, resp); resp.StatusCode != 200 || up.last(t).Path != "/fallback/x" {
			t.Errorf("literal template host: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("allowed when the operator says so", func(t *testing.T) {
		e := setup(t, config.Proxy{AllowPrivateNetworks: true})
		tests := []struct {
			id       string
			key      string
			status   int
			typ      string
			wantPath string
		}{
			{"ok", "host", 200, "", "/api/x"},
			{"url", "whole", 200, "", "/inst/x"},
			{"fallback", "whole", 200, "", "/fallback/x"},
			{"slash", "host", 400, "invalid_connection_config", ""},
			{"at", "host", 400, "invalid_connection_config", ""},
			{"hash", "host", 400, "invalid_connection_config", ""},
			{"none", "host", 400, "missing_connection_config", ""},
			{"bad-url", "whole", 400, "invalid_connection_config", ""},
		}
		for _, tt := range tests {
			t.Run(tt.id, func(t *testing.T) {
				before := len(up.requests())
				resp := e.do(call{path: "/proxy/x", key: tt.key, id: tt.id})
				if tt.status != 200 {
					wantError(t, resp, tt.status, tt.typ)
					if len(up.requests()) != before {
						t.Error("the upstream was called")
					}
					return
				}
				if b := readAll(t, resp); resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, b)
				}
				if got := up.last(t).Path; got != tt.wantPath {
					t.Errorf("path %q, want %q", got, tt.wantPath)
				}
			})
		}
	})
}

func TestBaseURLOverride(t *testing.T) {
	up := newUpstream(t, nil)
	other := newUpstream(t, nil)
	e := simple(t, envOptions{cfg: config.Proxy{AllowBaseURLOverride: true}}, up)
	wantError(t, e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Base-Url-Override": other.URL}}), 403, "upstream_not_allowed")
	wantError(t, e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Base-Url-Override": "ftp://x"}}), 400, "invalid_base_url_override")
	if len(other.requests()) != 0 {
		t.Fatal("the override host was called")
	}

	e2 := simple(t, envOptions{cfg: config.Proxy{AllowBaseURLOverride: true, AllowPrivateNetworks: true}}, up)
	resp := e2.do(call{path: "/proxy/y", key: "api", id: "u1", header: map[string]string{"Base-Url-Override": other.URL + "/v3"}})
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if s := other.last(t); s.Path != "/v3/y" || s.Header.Get("Authorization") != "Bearer at-1" {
		t.Errorf("override host saw %s with %q", s.Path, s.Header.Get("Authorization"))
	}
}

func TestTemplateBodyMerge(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t, envOptions{})
	e.addTemplates(`
t-mandrill:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    body:
      key: ${apiKey}
      auth:
        account: ${connectionConfig.acct}
`)
	e.integration("m", "t-mandrill", "c", "s")
	e.connection("m", "u", store.Credentials{Type: store.APIKey, APIKey: "mk"}, map[string]any{"acct": "A1"})
	tests := []struct {
		name, method, body, ctype string
		want                      map[string]any
	}{
		{"merged into the caller's object", "POST", `{"message":{"to":"x"},"auth":{"user":"u"}}`, "application/json",
			map[string]any{"message": map[string]any{"to": "x"}, "key": "mk", "auth": map[string]any{"user": "u", "account": "A1"}}},
		{"caller's keys win", "POST", `{"key":"mine"}`, "application/json", map[string]any{"key": "mine", "auth": map[string]any{"account": "A1"}}},
		{"no body: the template's alone", "POST", "", "", map[string]any{"key": "mk", "auth": map[string]any{"account": "A1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := call{method: tt.method, path: "/proxy/send", key: "m", id: "u"}
			if tt.body != "" {
				c.body = strings.NewReader(tt.body)
				c.header = map[string]string{"Content-Type": tt.ctype}
			}
			resp := e.do(c)
			if b := readAll(t, resp); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			s := up.last(t)
			var got map[string]any
			if err := json.Unmarshal(s.Body, &got); err != nil {
				t.Fatalf("upstream body %q: %v", s.Body, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("upstream body %v, want %v", got, tt.want)
			}
			if ct := s.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
	t.Run("GET without body gets none", func(t *testing.T) {
		resp := e.do(call{path: "/proxy/info", key: "m", id: "u"})
		readAll(t, resp)
		if b := up.last(t).Body; len(b) != 0 {
			t.Errorf("GET sent body %q", b)
		}
	})
}

func TestSignedBodyTooLarge(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t, envOptions{cfg: config.Proxy{ReplayBodyMax: 64}})
	e.addTemplates(`
t-signed:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    headers:
      x-digest: ${sha256Base64(${bodyCanonicalParams})}
`)
	e.integration("s", "t-signed", "c", "s")
	e.connection("s", "u", store.Credentials{Type: store.APIKey, APIKey: "k"}, nil)
	wantError(t, e.do(call{method: "POST", path: "/proxy/x", key: "s", id: "u", body: strings.NewReader(strings.Repeat("a", 65))}), 413, "request_too_large")
	resp := e.do(call{method: "POST", path: "/proxy/x", key: "s", id: "u", body: strings.NewReader(strings.Repeat("a", 64))})
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("64-byte body: %d %s", resp.StatusCode, b)
	}
}

func TestDecompress(t *testing.T) {
	const plain = `{"hello":"world, compressed"}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, plain)
	_ = zw.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(w, plain)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(gz.Len()))
		_, _ = w.Write(gz.Bytes())
	})
	e := newEnv(t, envOptions{})
	e.addTemplates(oauth2Template("t-plain", up.URL) + `
t-decompress:
  auth_mode: OAUTH2
  authorization_url: https://example.com/auth
  token_url: https://example.com/token
  proxy:
    base_url: ` + up.URL + `
    decompress: true
`)
	e.integration("plain", "t-plain", "c", "s")
	e.integration("dec", "t-decompress", "c", "s")
	e.connection("plain", "u", bearer("x"), nil)
	e.connection("dec", "u", bearer("x"), nil)
	// The test client must not decompress on its own.
	e.srv.Client().Transport.(*http.Transport).DisableCompression = true
	tests := []struct {
		name, key, acceptEncoding string
		wantEncoding              string
		wantBody                  []byte
	}{
		{"default: the proxy asks for gzip and decompresses", "plain", "", "", []byte(plain)},
		{"caller asks for gzip: passed through compressed", "plain", "gzip", "gzip", gz.Bytes()},
		{"template decompress: decompressed even when asked", "dec", "gzip", "", []byte(plain)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := call{path: "/proxy/x", key: tt.key, id: "u"}
			if tt.acceptEncoding != "" {
				c.header = map[string]string{"Nango-Proxy-Accept-Encoding": tt.acceptEncoding}
			}
			resp := e.do(c)
			body := readAll(t, resp)
			if resp.Header.Get("Content-Encoding") != tt.wantEncoding || body != string(tt.wantBody) {
				t.Errorf("encoding %q body %q; want %q %q", resp.Header.Get("Content-Encoding"), body, tt.wantEncoding, tt.wantBody)
			}
			if cl := resp.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(body)) {
				t.Errorf("stale Content-Length %s for %d bytes", cl, len(body))
			}
		})
	}
}

func TestActivityRecorded(t *testing.T) {
	var flaky atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if r.URL.Path == "/flaky" && flaky.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		_, _ = io.WriteString(w, "secret-body-content")
	})
	e := simple(t, envOptions{}, up)
	readAll(t, e.do(call{path: "/proxy/users?page=2&token=query-secret", key: "api", id: "u1", header: map[string]string{"Nango-Proxy-X-Secret": "header-secret"}}))
	readAll(t, e.do(call{method: "POST", path: "/proxy/flaky", key: "api", id: "u1", header: map[string]string{"Retries": "3"}, body: strings.NewReader("body-secret")}))
	readAll(t, e.do(call{path: "/proxy/missing", key: "api", id: "u1"}))
	readAll(t, e.do(call{path: "/proxy/x", key: "api", id: "nobody"}))
	acts := e.activity()
	if len(acts) != 4 {
		t.Fatalf("%d activity entries, want 4: %+v", len(acts), acts)
	}
	// Newest first.
	want := []struct {
		method, endpoint string
		status, attempts int
		success          bool
	}{
		{"GET", "/x", 400, 0, false},
		{"GET", "/missing", 404, 1, false},
		{"POST", "/flaky", 200, 2, true},
		{"GET", "/users?page&token", 200, 1, true},
	}
	for i, w := range want {
		a := acts[i]
		if a.Action != "proxy" || a.Method != w.method || a.Endpoint != w.endpoint || a.Status != w.status || a.Attempts != w.attempts || a.Success != w.success || a.ProviderConfigKey != "api" {
			t.Errorf("entry %d = %+v, want %+v", i, a, w)
		}
		all := fmt.Sprintf("%+v", a)
		for _, s := range []string{"query-secret", "header-secret", "body-secret", "secret-body-content", "at-1"} {
			if strings.Contains(all, s) {
				t.Errorf("entry %d holds %q: %s", i, s, all)
			}
		}
	}
	if acts[2].Duration < 10*time.Millisecond {
		t.Errorf("the retried call lasted %s, less than its back-off", acts[2].Duration)
	}
	if acts[3].Provider != "t-api" {
		t.Errorf("provider %q", acts[3].Provider)
	}
}

// hmacSHA1Hex computes the expected x-signature of the signing test.
func hmacSHA1Hex(msg, key string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// slowBatcher is a store whose activity writes are slow, and that can
// write several entries at once.
type slowBatcher struct {
	store.Store
	mu      sync.Mutex
	batches []int
}

func (s *slowBatcher) AddActivity(ctx context.Context, a *store.Activity) error {
	return s.AddActivities(ctx, []store.Activity{*a})
}

func (s *slowBatcher) AddActivities(ctx context.Context, entries []store.Activity) error {
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	s.batches = append(s.batches, len(entries))
	s.mu.Unlock()
	for i := range entries {
		if err := s.Store.AddActivity(ctx, &entries[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestActivityBatchedWhenTheStoreCan(t *testing.T) {
	up := newUpstream(t, nil)
	var sb *slowBatcher
	e := simple(t, envOptions{activity: func(s store.Store) proxy.Store { sb = &slowBatcher{Store: s}; return sb }}, up)
	const calls = 30
	for i := 0; i < calls; i++ {
		readAll(t, e.do(call{path: "/proxy/x", key: "api", id: "u1"}))
	}
	if n := len(e.activity()); n != calls {
		t.Fatalf("%d entries, want %d", n, calls)
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	biggest := 0
	for _, b := range sb.batches {
		biggest = max(biggest, b)
	}
	if biggest < 2 || len(sb.batches) >= calls {
		t.Errorf("batches %v: entries queued behind a slow write were not written together", sb.batches)
	}
}

func TestClientIDPlaceholders(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t, envOptions{})
	e.addTemplates(`
t-cc:
  auth_mode: OAUTH2_CC
  token_url: https://example.com/token
  proxy:
    base_url: ` + up.URL + `
    headers:
      x-client: ${clientId}:${clientSecret}
`)
	e.integration("cc", "t-cc", "int-cid", "int-secret")
	e.connection("cc", "shared", store.Credentials{Type: store.OAuth2CC, AccessToken: "t1"}, nil)
	e.connection("cc", "own", store.Credentials{Type: store.OAuth2CC, AccessToken: "t2", ClientID: "conn-cid", ClientSecret: "conn-secret"}, nil)
	for id, want := range map[string]string{"shared": "int-cid:int-secret", "own": "conn-cid:conn-secret"} {
		readAll(t, e.do(call{path: "/proxy/x", key: "cc", id: id}))
		if got := up.last(t).Header.Get("X-Client"); got != want {
			t.Errorf("connection %s: x-client %q, want %q", id, got, want)
		}
	}
}

func TestOnCallSeesEveryCall(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) { w.WriteHeader(502) })
	var mu sync.Mutex
	var got []store.Activity
	e := newEnv(t, envOptions{onCall: func(a store.Activity) { mu.Lock(); got = append(got, a); mu.Unlock() }})
	e.addTemplates(oauth2Template("t-api", up.URL))
	e.integration("api", "t-api", "c", "s")
	e.connection("api", "u1", bearer("x"), nil)
	readAll(t, e.do(call{path: "/proxy/a?q=1", key: "api", id: "u1", header: map[string]string{"Retries": "2"}}))
	readAll(t, e.do(call{path: "/proxy/b", key: "api", id: "nobody"}))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Endpoint != "/a?q" || got[0].Status != 502 || got[0].Attempts != 2 || got[1].Status != 400 {
		t.Errorf("OnCall saw %+v", got)
	}
}

// A header or query parameter built only from connection-config values the
// template declares optional is left out when the connection lacks them
// (stripe-api-key's stripe-context, google-ads' login-customer-id...); a
// required value that is missing is still a 400.
func TestOptionalConfigValuesOmitted(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t, envOptions{})
	e.addTemplates(`
t-optional:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    headers:
      x-api-key: ${apiKey}
      x-context: ${connectionConfig.context}
      x-tenant: ${connectionConfig.tenant}
    query:
      region: ${connectionConfig.region}
  connection_config:
    context:
      type: string
      optional: true
    region:
      type: string
      optional: true
    tenant:
      type: string
`)
	e.integration("opt", "t-optional", "", "")
	e.connection("opt", "without", store.Credentials{Type: store.APIKey, APIKey: "k1"}, map[string]any{"tenant": "acme"})
	e.connection("opt", "with", store.Credentials{Type: store.APIKey, APIKey: "k2"}, map[string]any{"tenant": "acme", "context": "acct_1", "region": "eu"})
	e.connection("opt", "no-tenant", store.Credentials{Type: store.APIKey, APIKey: "k3"}, map[string]any{"context": "acct_1"})

	if resp := e.do(call{path: "/proxy/v1/x", key: "opt", id: "without"}); resp.StatusCode != 200 {
		t.Fatalf("without optional values: %d %s", resp.StatusCode, readAll(t, resp))
	} else {
		readAll(t, resp)
	}
	got := up.last(t)
	if _, ok := got.Header["X-Context"]; ok || got.RawQuery != "" || got.Header.Get("X-Tenant") != "acme" || got.Header.Get("X-Api-Key") != "k1" {
		t.Errorf("upstream saw headers %v query %q", got.Header, got.RawQuery)
	}

	readAll(t, e.do(call{path: "/proxy/v1/x", key: "opt", id: "with"}))
	got = up.last(t)
	if got.Header.Get("X-Context") != "acct_1" || got.RawQuery != "region=eu" {
		t.Errorf("with optional values: headers %v query %q", got.Header, got.RawQuery)
	}

	env := wantError(t, e.do(call{path: "/proxy/v1/x", key: "opt", id: "no-tenant"}), 400, "missing_connection_config")
	if !strings.Contains(env.Error, "tenant") {
		t.Errorf("error = %q, want it to name tenant", env.Error)
	}
}
