package server_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/connect"
	"github.com/nango-go/nango/internal/dashboard"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/tokens"
)

// The hostile-input suite (issue 11): every route of the API, the proxy,
// the public OAuth and credential endpoints and the dashboard is sent
// malformed, truncated, mistyped, oversized, badly encoded, traversing and
// injecting input, overlong ids, missing and duplicated parameters and the
// wrong methods. Every answer must be a 4xx (or, for input that is merely
// odd, a normal answer) in the route's own error form — never a 5xx, never
// a hang — and the integrations, connections and OAuth sessions must be
// exactly as before (the activity log may grow).

const (
	hostileKey       = "hostile-secret-key-0123456789"
	hostileDashUser  = "admin"
	hostileDashPass  = "dash-password-9876543210"
	hostileHMACKey   = "hostile-hmac-key-abcdef"
	hostileClientSec = "client-secret-for-hostile"
	hostileAPIKey    = "stored-api-key-5678"
)

// hostileClient bounds every request: a hang is a failure.
var hostileClient = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// routeKind is what a route answers errors with.
type routeKind int

const (
	kindAPI       routeKind = iota // JSON envelope, secret key
	kindPublic                     // /oauth/*: popup page; /api-auth/*: JSON envelope
	kindDashboard                  // HTML page, dashboard login and CSRF
	kindDashAPI                    // JSON, dashboard login and CSRF (header)
	kindOpen                       // /health, /ready, /metrics, /sdk/nango.js
)

// route is one ServeMux pattern of the server.
type route struct {
	method, pattern string
	kind            routeKind
}

func (r route) String() string { return r.method + " " + r.pattern }

// recorder is a Router that records patterns.
type recorder struct{ patterns []string }

func (r *recorder) HandleFunc(p string, _ func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, p)
}

// allRoutes lists the server's routes from the packages that register
// them (the same Register functions the server calls), plus the server's
// own.
func allRoutes(t *testing.T, inst *instance) []route {
	t.Helper()
	var out []route
	add := func(kind routeKind, patterns ...string) {
		for _, p := range patterns {
			m, path, ok := strings.Cut(p, " ")
			if !ok {
				m, path = "*", p
			}
			out = append(out, route{method: m, pattern: path, kind: kind})
		}
	}
	add(kindOpen, "GET /health", "GET /ready", "GET /metrics")

	var a recorder
	api.New(api.Deps{}).Register(&a)
	add(kindAPI, a.patterns...)
	add(kindAPI, "/proxy/") // server.registerProxy: every method

	cat, err := provider.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := connect.New(connect.Deps{Store: inst.srv.Store(), Catalog: cat, OAuth: &oauth.Client{}, Config: &config.Config{}})
	var c recorder
	ch.Register(&c)
	_ = ch.Close()
	add(kindPublic, c.patterns...)

	d, err := dashboard.New(dashboard.Deps{Store: inst.srv.Store(), Tokens: &tokens.Service{}, Catalog: cat, Config: &config.Config{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Routes() {
		kind := kindDashboard
		switch {
		case r.Public:
			kind = kindOpen
		case strings.HasPrefix(r.Pattern, "/api/") || r.Pattern == "/connections/hmac" || r.Pattern == "/connections/secrets":
			kind = kindDashAPI
		}
		add(kind, r.Method+" "+r.Pattern)
	}
	return out
}

// fill replaces a pattern's wildcards with v (already escaped).
func fill(pattern, v string) string {
	var b strings.Builder
	for {
		i := strings.Index(pattern, "{")
		if i < 0 {
			b.WriteString(pattern)
			return b.String()
		}
		j := strings.Index(pattern[i:], "}")
		b.WriteString(pattern[:i])
		if pattern[i:i+j+1] != "{$}" {
			b.WriteString(v)
		}
		pattern = pattern[i+j+1:]
	}
}

func hasWildcard(pattern string) bool {
	return strings.Contains(strings.ReplaceAll(pattern, "{$}", ""), "{")
}

// hostileSegments are path values, escaped as sent.
var hostileSegments = []string{
	"nope",
	strings.Repeat("a", 10<<10),
	"%00", "a%00b", "%ff%fe", "%C0%AF",
	"..%2f..%2fetc%2fpasswd", "%2e%2e", "%252e%252e%252f", "a%2fb", "..%5c..%5cwindows",
	"'%20OR%20'1'='1", "x';%20DROP%20TABLE%20connections;--", "%22%3B--",
	"%7B%7B.%7D%7D", "%7B%7Bprintf%20%22%25s%22%20.%7D%7D", "$%7BconnectionConfig.x%7D", "%25s%25n",
	"%3Cscript%3Ealert(1)%3C%2Fscript%3E", "%E2%80%A8%E2%80%A9", "%F0%9F%92%A9",
	"javascript:alert(1)", "%2F%2Fevil.example", "https:%2F%2Fevil.example",
}

// hostileValues are query values, escaped as sent.
var hostileValues = append([]string{
	"", "true", "-1", "99999999999999999999", "1e400", "%00", "%ff",
	"https://evil.example/", "//evil.example", "%2F%2Fevil.example%2F",
}, hostileSegments[1:]...)

// queryNames are every query parameter any route reads.
var queryNames = []string{
	"provider_config_key", "connection_id", "connectionId", "force_refresh", "key", "q", "before", "integration",
	"provider", "status", "action", "success", "page", "limit", "hmac", "ws_client_id", "public_key", "state",
	"code", "error", "oauth_token", "oauth_verifier", "params[subdomain]", "params[a][b]", "params[]", "next",
	"return", "return_to", "redirect", "redirect_uri", "callback_url", "flash", "id",
}

// malformedQueries are raw query strings.
var malformedQueries = []string{
	"%", "a=%zz", ";;;", "&&&=&", "provider_config_key", "provider_config_key=gh&provider_config_key=other&connection_id=c1&connection_id=c2",
	"connection_id=c1&connection_id=" + strings.Repeat("b", 10<<10),
	strings.Repeat("x=1&", 5000),
	"params[subdomain]=a&params[subdomain]=b&params=c&params[subdomain][x]=d",
}

// jsonBodies are bodies for JSON routes: none is a valid request.
func jsonBodies() []struct{ name, ct, body string } {
	long := strings.Repeat("a", 10<<10)
	return []struct{ name, ct, body string }{
		{"empty", "application/json", ""},
		{"open brace", "application/json", "{"},
		{"truncated", "application/json", `{"provider_config_key":"gh","provider":`},
		{"array", "application/json", `[]`},
		{"string", "application/json", `"x"`},
		{"null", "application/json", `null`},
		{"number", "application/json", `123`},
		{"wrong types", "application/json", `{"provider_config_key":1,"provider":true,"oauth_client_id":[],"oauth_client_secret":{},"connection_id":2,"access_token":3,"expires_in":"x","expires_at":5,"metadata":"m","connection_config":[1],"apiKey":7,"username":{},"password":[],"raw":"r","oauth_scopes":{"a":1}}`},
		{"operator injection", "application/json", `{"provider_config_key":{"$ne":null},"connection_id":{"$gt":""}}`},
		{"invalid UTF-8", "application/json", "{\"provider_config_key\":\"\xff\xfe\",\"provider\":\"github\",\"connection_id\":\"\xc0\xaf\"}"},
		{"NUL", "application/json", `{"provider_config_key":"gh","provider":"github","oauth_client_id":"a\u0000","oauth_client_secret":"s\u0000","connection_id":"c1\u0000","access_token":"t","metadata":{"a":"\u0000"}}`},
		{"NUL in a key", "application/json", `{"provider_config_key":"gh","provider":"github","connection_id":"c1","access_token":"t","connection_config":{"\u0000":"x"}}`},
		{"overlong ids", "application/json", `{"provider_config_key":"` + long + `","provider":"github","oauth_client_id":"x","oauth_client_secret":"y","connection_id":"` + long + `","access_token":"t"}`},
		{"control characters in ids", "application/json", `{"provider_config_key":"a\nb","provider":"github","oauth_client_id":"x","oauth_client_secret":"y","connection_id":"c\t1","access_token":"t"}`},
		{"SQL injection", "application/json", `{"provider_config_key":"x'; DROP TABLE integrations;--","provider":"' OR '1'='1","connection_id":"c1' OR '1'='1"}`},
		{"template injection", "application/json", `{"provider_config_key":"{{.}}","provider":"${connectionConfig.x}","connection_id":"{{printf \"%s\" .}}"}`},
		{"duplicated keys", "application/json", `{"provider_config_key":"gh","provider_config_key":"nope","connection_id":"x","connection_id":"y"}`},
		{"trailing data", "application/json", `{"provider_config_key":"gh"} {"x":1}`},
		{"deep nesting", "application/json", strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"deep object", "application/json", `{"metadata":` + strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000) + `}`},
		{"huge", "application/json", `{"provider_config_key":"` + strings.Repeat("z", 3<<20) + `"}`},
		{"huge number", "application/json", `{"expires_in":1e999999,"provider_config_key":"gh","connection_id":"n1"}`},
		{"bad expiry", "application/json", `{"provider_config_key":"gh","connection_id":"n1","access_token":"t","expires_at":"tomorrow"}`},
		{"negative expiry", "application/json", `{"provider_config_key":"gh","connection_id":"n1","access_token":"t","expires_in":-5}`},
		{"text/plain", "text/plain", `{"provider_config_key":"gh"}`},
		{"form", "application/x-www-form-urlencoded", "provider_config_key=gh"},
		{"bad content type", "application/json; charset=\"", `{}`},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n"},
	}
}

// formBodies are bodies for the dashboard's form posts: every field set
// to one hostile value (so no field combination is valid), plus framing
// problems.
func formBodies(csrf string) []struct{ name, ct, body string } {
	fields := []string{"key", "provider", "client_id", "client_secret", "scopes", "connection_id", "provider_config_key", "confirm"}
	var out []struct{ name, ct, body string }
	for i, v := range append([]string{"%00", "%ff", strings.Repeat("k", 20<<10), "'%20OR%201=1--", "%7B%7B.%7D%7D", "%0d%0aSet-Cookie:%20x=1"}, "") {
		var b strings.Builder
		b.WriteString("csrf_token=" + csrf)
		for _, f := range fields {
			b.WriteString("&" + f + "=" + v)
		}
		out = append(out, struct{ name, ct, body string }{fmt.Sprintf("form %d", i), "application/x-www-form-urlencoded", b.String()})
	}
	out = append(out,
		struct{ name, ct, body string }{"duplicated fields", "application/x-www-form-urlencoded", "csrf_token=" + csrf + "&key=nope&key=gh&provider=nope&provider=github"},
		struct{ name, ct, body string }{"malformed form", "application/x-www-form-urlencoded", "csrf_token=" + csrf + "&%zz=%&key"},
		struct{ name, ct, body string }{"huge form", "application/x-www-form-urlencoded", "csrf_token=" + csrf + "&scopes=" + strings.Repeat("s", 1<<20)},
		struct{ name, ct, body string }{"json to a form", "application/json", `{"key":"gh"}`},
	)
	return out
}

// hostile is the suite's state for one server.
type hostile struct {
	t        *testing.T
	inst     *instance
	env      map[string]string
	up       *httptest.Server
	csrf     string
	requests *int
}

// sub is h reporting to t.
func (h *hostile) sub(t *testing.T) *hostile {
	c := *h
	c.t = t
	return &c
}

// do sends one request and checks the answer's form for the route kind.
// It returns the status.
func (h *hostile) do(rt route, method, rawPath, rawQuery string, header http.Header, body []byte) int {
	t := h.t
	t.Helper()
	*h.requests++
	u := h.inst.http.URL + rawPath
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequest(method, h.inst.http.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", rt, err)
	}
	// Send the path and query exactly as written.
	req.URL.Opaque = "//" + req.URL.Host + rawPath
	req.URL.RawQuery = rawQuery
	for k, v := range header {
		req.Header[k] = v
	}
	if host := header.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := hostileClient.Do(req)
	if err != nil {
		t.Errorf("%s: %s %.200s: %v (a hang or a dropped connection)", rt, method, u, err)
		return 0
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	where := fmt.Sprintf("%s: %s %.160s", rt, method, u)
	if resp.StatusCode >= 500 {
		t.Errorf("%s: status %d: %.300s", where, resp.StatusCode, data)
		return resp.StatusCode
	}
	for _, s := range []string{hostileKey, hostileDashPass, hostileHMACKey, hostileClientSec} {
		// GET /config and the dashboard's integration API show the client
		// secret by design (SPEC Part A); nothing else shows a secret.
		if bytes.Contains(data, []byte(s)) && !(rt.kind == kindAPI && strings.HasPrefix(rt.pattern, "/config")) &&
			!(rt.kind == kindDashAPI && strings.HasPrefix(rt.pattern, "/api/v1/integration")) {
			t.Errorf("%s: the answer holds a secret", where)
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := resp.Header.Get("Location")
		lu, err := url.Parse(loc)
		if err != nil || lu.Host != "" || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Errorf("%s: redirect to %q leaves the server", where, loc)
		}
		return resp.StatusCode
	}
	if resp.StatusCode < 400 {
		return resp.StatusCode
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case method == http.MethodHead:
		// No body.
	case resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge || resp.StatusCode == http.StatusMethodNotAllowed && len(data) == 0:
		// net/http's own answer; getOnly's bare 405.
	case rt.kind == kindDashboard && resp.StatusCode != 401 && !strings.HasPrefix(ct, "application/json"):
		if !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: dashboard error %d is %q, not a page", where, resp.StatusCode, ct)
		}
	case rt.kind == kindPublic && strings.HasPrefix(rt.pattern, "/oauth/") && strings.HasPrefix(ct, "text/html"):
		// The popup page.
	case resp.StatusCode == 401 && (rt.kind == kindDashboard || rt.kind == kindDashAPI):
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", where)
		}
	default:
		var env struct {
			Error, Type string
			Payload     map[string]any
		}
		if err := json.Unmarshal(data, &env); err != nil || env.Error == "" || env.Type == "" {
			t.Errorf("%s: %d %q is not an error envelope: %.300s", where, resp.StatusCode, ct, data)
		}
	}
	return resp.StatusCode
}

// authHeader is what a route needs to get past its guard.
func (h *hostile) authHeader(rt route, method string) http.Header {
	hd := http.Header{}
	switch rt.kind {
	case kindAPI, kindOpen:
		hd.Set("Authorization", "Bearer "+hostileKey)
	case kindDashboard, kindDashAPI:
		hd.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(hostileDashUser+":"+hostileDashPass)))
		hd.Set("Cookie", "nango_csrf="+h.csrf)
		if rt.kind == kindDashAPI {
			hd.Set("X-CSRF-Token", h.csrf)
		}
	}
	if rt.pattern == "/proxy/" {
		hd.Set("Provider-Config-Key", "apikey")
		hd.Set("Connection-Id", "k1")
	}
	return hd
}

// targetPath is the path hostile variants are sent to: an existing row for
// reads, an absent one for writes (a DELETE of a real row is no attack).
func targetPath(rt route, method string) string {
	if method == "GET" || method == "HEAD" || !hasWildcard(rt.pattern) {
		return validPath(rt)
	}
	return fill(rt.pattern, "absent")
}

// validPath fills a route's wildcards with an existing row's id.
func validPath(rt route) string {
	switch {
	case strings.Contains(rt.pattern, "{connectionId"):
		return fill(rt.pattern, "c1")
	case strings.Contains(rt.pattern, "{file}"):
		return fill(rt.pattern, "dashboard.css")
	}
	return fill(rt.pattern, "gh")
}

// methodsOf is the methods a route is sent with.
func methodsOf(rt route) []string {
	if rt.method != "*" {
		return []string{rt.method}
	}
	return []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
}

func hasBody(method string) bool {
	return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE"
}

// TestHostileInput runs the suite on both drivers.
func TestHostileInput(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.EscapedPath()})
		}))
		defer up.Close()
		providers := filepath.Join(t.TempDir(), "providers.yaml")
		if err := os.WriteFile(providers, []byte("hostile-api:\n  auth_mode: API_KEY\n  proxy:\n    base_url: "+up.URL+"/base\n    headers:\n      x-api-key: ${apiKey}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{
			"NANGO_SECRET_KEY": hostileKey, "NANGO_DASHBOARD_USERNAME": hostileDashUser, "NANGO_DASHBOARD_PASSWORD": hostileDashPass,
			"NANGO_HMAC_ENABLED": "true", "NANGO_HMAC_KEY": hostileHMACKey, "NANGO_PROVIDERS_FILE": providers,
			"LOG_LEVEL": "info", "NANGO_METRICS": "secret",
		} {
			env[k] = v
		}
		inst := start(t, env)
		h := &hostile{t: t, inst: inst, env: env, up: up, requests: new(int)}
		h.seed()
		before := h.dump()
		routes := allRoutes(t, inst)
		h.checkRoutesExist(routes)
		for _, rt := range routes {
			t.Run(strings.ReplaceAll(rt.String(), "/", "_"), func(t *testing.T) { h.sub(t).walk(rt) })
		}
		t.Run("websocket handshakes", func(t *testing.T) { h.sub(t).websockets() })
		t.Run("transport", func(t *testing.T) { h.sub(t).transport() })
		t.Run("injection round trip", func(t *testing.T) { h.sub(t).injectionRoundTrip() })
		after := h.dump()
		for table, rows := range before {
			if !equalRows(rows, after[table]) {
				t.Errorf("table %s changed:\nbefore %v\nafter  %v", table, rows, after[table])
			}
		}
		logs := inst.logs.String()
		for _, s := range []string{hostileKey, hostileDashPass, hostileHMACKey, hostileClientSec, hostileAPIKey} {
			if strings.Contains(logs, s) {
				t.Errorf("the server log holds a secret (%.6s…)", s)
			}
		}
		t.Logf("%d hostile requests, %d routes", *h.requests, len(routes))
	})
}

// seed creates the rows the suite works against (and must leave as they
// are): an OAuth integration and connection, an API-key integration and
// connection whose proxy base URL is a local upstream.
func (h *hostile) seed() {
	t := h.t
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", h.inst.http.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+hostileKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hostileClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("seeding %s: %d %s", path, resp.StatusCode, data)
		}
	}
	post("/config", `{"provider_config_key":"gh","provider":"github","oauth_client_id":"cid","oauth_client_secret":"`+hostileClientSec+`","oauth_scopes":"repo"}`)
	post("/config", `{"provider_config_key":"apikey","provider":"hostile-api"}`)
	post("/connection", `{"provider_config_key":"gh","connection_id":"c1","access_token":"at-1","refresh_token":"rt-1","metadata":{"m":1},"connection_config":{"k":"v"}}`)
	post("/connection", `{"provider_config_key":"apikey","connection_id":"k1","api_key":"`+hostileAPIKey+`"}`)
	// The dashboard's CSRF cookie.
	req, _ := http.NewRequest("GET", h.inst.http.URL+"/integrations", nil)
	req.SetBasicAuth(hostileDashUser, hostileDashPass)
	resp, err := hostileClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "nango_csrf" {
			h.csrf = c.Value
		}
	}
	if h.csrf == "" {
		t.Fatal("no CSRF cookie from the dashboard")
	}
}

// checkRoutesExist checks the server serves every listed route (an
// authenticated request with a valid id is not answered with the server's
// own not_found or method_not_allowed).
func (h *hostile) checkRoutesExist(routes []route) {
	for _, rt := range routes {
		for _, m := range methodsOf(rt) {
			if rt.pattern == "/proxy/" && m != "GET" {
				continue
			}
			req, _ := http.NewRequest(m, h.inst.http.URL+targetPath(rt, m), nil)
			req.Header = h.authHeader(rt, m)
			resp, err := hostileClient.Do(req)
			if err != nil {
				h.t.Fatalf("%s: %v", rt, err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(data, []byte(`"type":"not_found"`)) || bytes.Contains(data, []byte(`"type":"method_not_allowed"`)) {
				h.t.Errorf("%s %s is not served: %d %s", m, targetPath(rt, m), resp.StatusCode, data)
			}
		}
	}
}

// walk sends every hostile variant to one route.
func (h *hostile) walk(rt route) {
	for _, method := range methodsOf(rt) {
		auth := h.authHeader(rt, method)
		// Path values.
		if hasWildcard(rt.pattern) || rt.pattern == "/proxy/" {
			for _, seg := range hostileSegments {
				p := fill(rt.pattern, seg)
				if rt.pattern == "/proxy/" {
					p = "/proxy/" + seg
				}
				h.do(rt, method, p, "", auth, nil)
			}
			if rt.pattern == "/proxy/" {
				for _, p := range []string{"/proxy", "/proxy//", "/proxy/@evil.example/x", "/proxy//evil.example/x", "/proxy/http://evil.example/", "/proxy/%2F%2Fevil.example", "/proxy/\\\\evil.example", "/proxy/../../config", "/proxy/x?#frag"} {
					h.do(rt, method, p, "", auth, nil)
				}
				for _, hv := range []string{strings.Repeat("a", 10<<10), "k1\t", "' OR 1=1", "%00", "{{.}}", ""} {
					for _, name := range []string{"Connection-Id", "Provider-Config-Key"} {
						hd := auth.Clone()
						hd.Set(name, hv)
						h.do(rt, method, "/proxy/x", "", hd, nil)
					}
				}
				for _, hv := range []string{"http://169.254.169.254/", "not a url", "file:///etc/passwd", "http://u:p@evil.example/"} {
					hd := auth.Clone()
					hd.Set("Base-Url-Override", hv)
					h.do(rt, method, "/proxy/x", "", hd, nil)
				}
				for _, hv := range []string{"-1", "x", "100000000", "1e3"} {
					hd := auth.Clone()
					hd.Set("Retries", hv)
					h.do(rt, method, "/proxy/x", "", hd, nil)
				}
			}
		}
		// Query strings: every parameter name at once with one hostile
		// value, then malformed and duplicated queries.
		base := targetPath(rt, method)
		if rt.pattern == "/proxy/" {
			base = "/proxy/x"
		}
		for _, v := range hostileValues {
			var q []string
			for _, n := range queryNames {
				q = append(q, url.QueryEscape(n)+"="+v)
			}
			h.do(rt, method, base, strings.Join(q, "&"), auth, nil)
		}
		for _, q := range malformedQueries {
			h.do(rt, method, base, q, auth, nil)
		}
		// Bodies.
		if hasBody(method) && rt.pattern != "/proxy/" {
			bodies := jsonBodies()
			if rt.kind == kindDashboard {
				bodies = append(formBodies(h.csrf), bodies...)
			}
			for _, b := range bodies {
				hd := auth.Clone()
				hd.Set("Content-Type", b.ct)
				status := h.do(rt, method, base, "", hd, []byte(b.body))
				// /connections/hmac computes a digest of any values (no write).
				if status/100 == 2 && method != "DELETE" && rt.pattern != "/connections/hmac" {
					h.t.Errorf("%s: body %q accepted (%d)", rt, b.name, status)
				}
			}
		}
		// Without credentials.
		if rt.kind == kindAPI || rt.kind == kindDashboard || rt.kind == kindDashAPI {
			if s := h.do(rt, method, base, "", http.Header{}, nil); s != 401 {
				h.t.Errorf("%s %s without credentials: %d, want 401", method, base, s)
			}
			bad := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(hostileDashUser+":wrong"))}}
			if s := h.do(rt, method, base, "", bad, nil); s != 401 {
				h.t.Errorf("%s %s with wrong credentials: %d, want 401", method, base, s)
			}
		}
		// CSRF: a state-changing dashboard request without the token.
		if (rt.kind == kindDashboard || rt.kind == kindDashAPI) && method != "GET" {
			hd := auth.Clone()
			hd.Del("X-CSRF-Token")
			hd.Set("Content-Type", "application/x-www-form-urlencoded")
			if s := h.do(rt, method, base, "", hd, []byte("key=gh&confirm=gh")); s != 403 {
				h.t.Errorf("%s %s without the CSRF token: %d, want 403", method, base, s)
			}
			hd = auth.Clone()
			hd.Set("Origin", "https://evil.example")
			hd.Set("Sec-Fetch-Site", "cross-site")
			if s := h.do(rt, method, base, "", hd, []byte("csrf_token="+h.csrf+"&key=gh&confirm=gh")); s != 403 {
				h.t.Errorf("%s %s cross-site: %d, want 403", method, base, s)
			}
		}
		// Hostile headers on a valid request.
		for name, v := range map[string]string{
			"Content-Type": "application/json; charset=\"", "Content-Length": "-1", "X-Request-Id": strings.Repeat("r", 5000),
			"Accept": strings.Repeat("a/b,", 2000), "Cookie": "nango_csrf=" + strings.Repeat("c", 4000), "Origin": "null",
			"Transfer-Encoding": "chunked, identity", "Host": "evil.example",
		} {
			hd := auth.Clone()
			hd.Set(name, v)
			h.do(rt, method, base, "", hd, nil)
		}
	}
	// Wrong methods.
	if rt.method != "*" {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"} {
			if m == rt.method {
				continue
			}
			h.do(rt, m, targetPath(rt, m), "", h.authHeader(rt, m), nil)
		}
	}
}

// websockets sends bad WebSocket handshakes on several paths.
func (h *hostile) websockets() {
	rt := route{method: "GET", pattern: "(websocket)", kind: kindPublic}
	for _, path := range []string{"/", "/config", "/oauth/callback", "/nope/" + strings.Repeat("w", 5000)} {
		for i, hd := range []map[string]string{
			{"Connection": "Upgrade", "Upgrade": "websocket"},
			{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"},
			{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "12", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
			{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "%%%"},
			{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": strings.Repeat("A", 5000)},
			{"Connection": "keep-alive, Upgrade", "Upgrade": "WebSocket, h2c", "Sec-WebSocket-Version": "13, 8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits=99; x"},
		} {
			header := http.Header{}
			for k, v := range hd {
				header.Set(k, v)
			}
			for _, m := range []string{"GET", "POST"} {
				status := h.do(rt, m, path, "", header, nil)
				if i < 5 && status == http.StatusSwitchingProtocols {
					h.t.Errorf("%s %s handshake %d accepted", m, path, i)
				}
			}
		}
	}
}

// transport checks what net/http answers for itself: huge headers (431),
// a truncated body (400, no hang) and garbage instead of HTTP.
func (h *hostile) transport() {
	// The production http.Server (its limits and timeouts), not httptest's.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	hs := server.HTTPServer(h.inst.srv.Handler(), slog.New(slog.DiscardHandler))
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	addr := ln.Addr().String()
	real := *h
	real.inst = &instance{srv: h.inst.srv, http: &httptest.Server{URL: "http://" + addr}, logs: h.inst.logs}

	rt := route{method: "POST", pattern: "/config", kind: kindAPI}
	hd := h.authHeader(rt, "POST")
	hd.Set("X-Big", strings.Repeat("h", 100<<10))
	if s := real.do(rt, "POST", "/config", "", hd, []byte("{}")); s != http.StatusRequestHeaderFieldsTooLarge {
		h.t.Errorf("100 kB header: %d, want 431", s)
	}
	raw := func(name, req string, wantStatus func(int) bool) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			h.t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			h.t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			if !wantStatus(0) {
				h.t.Errorf("%s: %v", name, err)
			}
			return
		}
		resp.Body.Close()
		if !wantStatus(resp.StatusCode) {
			h.t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	auth := "Authorization: Bearer " + hostileKey + "\r\n"
	raw("truncated body", "POST /config HTTP/1.1\r\nHost: x\r\n"+auth+"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"provider_config_key\":", func(s int) bool { return s == 400 })
	raw("truncated chunked body", "POST /connection HTTP/1.1\r\nHost: x\r\n"+auth+"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"connection_id\"", func(s int) bool { return s == 400 })
	raw("garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n", func(s int) bool { return s == 0 || s == 400 })
	raw("bad request line", "GET /config HTTP/9.9\r\nHost: x\r\n\r\n", func(s int) bool { return s == 0 || s/100 == 4 || s == 505 })
	raw("two hosts", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", func(s int) bool { return s == 400 })
	raw("smuggling", "POST /config HTTP/1.1\r\nHost: x\r\n"+auth+"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", func(s int) bool { return s == 0 || s/100 == 4 })
}

// injectionRoundTrip stores ids made of injection and odd strings through
// the API, reads them back verbatim, and deletes them: the SQL and
// templates treat them as data. The store ends as it began.
func (h *hostile) injectionRoundTrip() {
	t := h.t
	call := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, h.inst.http.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+hostileKey)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hostileClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	for _, id := range []string{
		"x'; DROP TABLE integrations;--", `" OR ""="`, "{{.}}", "${connectionConfig.subdomain}", "%s%n%x", "a/b/../c",
		"<script>alert(1)</script>", "\u2028\u2029", "💩", "%00", "\\", "100%", "a b", strings.Repeat("é", 127),
	} {
		js, _ := json.Marshal(id)
		if s, b := call("POST", "/config", `{"provider_config_key":`+string(js)+`,"provider":"github","oauth_client_id":"i","oauth_client_secret":"s"}`); s != 200 {
			t.Errorf("create %q: %d %s", id, s, b)
			continue
		}
		s, b := call("GET", "/config/"+url.PathEscape(id), "")
		var got struct {
			Config struct {
				UniqueKey string `json:"unique_key"`
			}
		}
		if s != 200 || json.Unmarshal(b, &got) != nil || got.Config.UniqueKey != id {
			t.Errorf("get %q: %d %s", id, s, b)
		}
		if s, b := call("POST", "/connection", `{"provider_config_key":`+string(js)+`,"connection_id":`+string(js)+`,"access_token":"t"}`); s != 201 {
			t.Errorf("import %q: %d %s", id, s, b)
		}
		s, b = call("GET", "/connection/"+url.PathEscape(id)+"?provider_config_key="+url.QueryEscape(id), "")
		var conn struct {
			ConnectionID string `json:"connection_id"`
		}
		if s != 200 || json.Unmarshal(b, &conn) != nil || conn.ConnectionID != id {
			t.Errorf("get connection %q: %d %s", id, s, b)
		}
		if s, b := call("DELETE", "/config/"+url.PathEscape(id), ""); s != 200 {
			t.Errorf("delete %q: %d %s", id, s, b)
		}
	}
}

// dump reads the integrations, connections and OAuth sessions tables
// directly, every column as text.
func (h *hostile) dump() map[string][]string {
	t := h.t
	tables := []string{"integrations", "connections", "oauth_sessions"}
	out := map[string][]string{}
	if dsn := h.env["NANGO_DATABASE_URL"]; dsn != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		for _, tb := range tables {
			rows, err := c.Query(ctx, "SELECT t::text FROM "+tb+" t ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				out[tb] = append(out[tb], s)
			}
			rows.Close()
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
		}
		return out
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.env["NANGO_DATA_DIR"], "nango.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range tables {
		rows, err := db.Query("SELECT * FROM " + tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[tb] = append(out[tb], fmt.Sprintf("%v", vals))
		}
		rows.Close()
		sort.Strings(out[tb])
	}
	return out
}

func equalRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
