package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// routePath turns a route pattern into a request path.
func routePath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "x")
}

// TestEveryRouteNeedsCredentials walks every route the dashboard registers
// and every static file a page links: without the dashboard credentials,
// or with wrong ones, each answers 401 with a Basic challenge; only the
// browser SDK is public.
func TestEveryRouteNeedsCredentials(t *testing.T) {
	s := start(t, withAuth(nil))
	routes := s.handler(t).Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes listed", len(routes))
	}
	anon := s.client(t, false)
	wrongPass := s.client(t, true)
	wrongPass.password = "wrong"
	wrongUser := s.client(t, true)
	wrongUser.user = "root"
	good := s.client(t, true)

	var paths []struct{ method, path string }
	public := 0
	for _, rt := range routes {
		p := routePath(rt.Pattern)
		if rt.Public {
			public++
			r := anon.do(rt.Method, p, nil, nil)
			if r.status != http.StatusOK {
				t.Errorf("public %s %s without credentials: %d, want 200", rt.Method, p, r.status)
			}
			continue
		}
		paths = append(paths, struct{ method, path string }{rt.Method, p})
	}
	if public != 1 {
		t.Errorf("%d public routes, want 1 (/sdk/nango.js)", public)
	}
	// Every static file a page links is an endpoint too.
	page := good.get("/integrations")
	assets := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(page.body, -1)
	if len(assets) < 3 {
		t.Fatalf("the page links %d static files, want the CSS, the script and the icon", len(assets))
	}
	for _, a := range assets {
		if r := good.get(a[1]); r.status != http.StatusOK {
			t.Errorf("GET %s with credentials: %d", a[1], r.status)
		}
		paths = append(paths, struct{ method, path string }{"GET", a[1]})
	}
	for _, p := range paths {
		for name, c := range map[string]*client{"no credentials": anon, "wrong password": wrongPass, "wrong user": wrongUser} {
			r := c.do(p.method, p.path, strings.NewReader("{}"), map[string]string{"Content-Type": "application/json"})
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %d, want 401", p.method, p.path, name, r.status)
				continue
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="`) {
				t.Errorf("%s %s: WWW-Authenticate = %q", p.method, p.path, got)
			}
			if strings.Contains(r.body, "nango") || r.header.Get("Set-Cookie") != "" {
				t.Errorf("%s %s: the 401 leaks a page or sets a cookie: %q", p.method, p.path, r.body)
			}
		}
		if p.method == "GET" {
			if r := good.get(p.path); r.status == http.StatusUnauthorized {
				t.Errorf("GET %s with the right credentials: 401", p.path)
			}
		}
	}
}

func TestOpenDashboardShowsBanners(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		wantOpen       bool
		wantUnsecured  bool
		wantPageStatus int
	}{
		{"no credentials, no secret key", nil, true, true, 200},
		{"secret key only", map[string]string{"NANGO_SECRET_KEY": "sk-test"}, true, false, 200},
		{"everything secured", withAuth(map[string]string{"NANGO_SECRET_KEY": "sk-test"}), false, false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.env)
			r := s.client(t, true).get("/connections")
			if r.status != tt.wantPageStatus {
				t.Fatalf("status %d", r.status)
			}
			if got := strings.Contains(r.body, "The dashboard is open"); got != tt.wantOpen {
				t.Errorf("open-dashboard banner shown = %v, want %v", got, tt.wantOpen)
			}
			if got := strings.Contains(r.body, "The API is unsecured"); got != tt.wantUnsecured {
				t.Errorf("unsecured-API banner shown = %v, want %v", got, tt.wantUnsecured)
			}
			if strings.Contains(r.body, "sk-test") {
				t.Error("the page shows the secret key")
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	s := start(t, withAuth(nil))
	c := s.client(t, true)
	token := c.csrf()
	form := func(extra url.Values) string {
		v := url.Values{"provider": {"github"}, "unique_key": {"gh-csrf"}, "client_id": {"id"}, "client_secret": {"sec"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v.Encode()
	}
	formCT := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	other := s.client(t, true) // another browser: its own cookie
	otherToken := other.csrf()
	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		body   string
		hdr    map[string]string
		want   int
	}{
		{"form without token", c, "POST", "/integrations/new", form(nil), formCT, 403},
		{"form with a wrong token", c, "POST", "/integrations/new", form(url.Values{"csrf_token": {strings.Repeat("A", 43)}}), formCT, 403},
		{"form with another browser's token", c, "POST", "/integrations/new", form(url.Values{"csrf_token": {otherToken}}), formCT, 403},
		{"right token, cross-site", c, "POST", "/integrations/new", form(url.Values{"csrf_token": {token}}),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, 403},
		{"right token, foreign Origin", c, "POST", "/integrations/new", form(url.Values{"csrf_token": {token}}),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, 403},
		{"token in a cookie-less request", s.client(t, true), "POST", "/integrations/new", form(url.Values{"csrf_token": {token}}), formCT, 403},
		{"delete without token", c, "POST", "/integrations/delete", "key=gh-csrf", formCT, 403},
		{"refresh without token", c, "POST", "/connections/refresh", "integration=a&id=b", formCT, 403},
		{"api create without header", c, "POST", "/api/v1/integration", `{"provider":"github","provider_config_key":"gh-api","client_id":"a","client_secret":"b"}`,
			map[string]string{"Content-Type": "application/json"}, 403},
		{"api delete without header", c, "DELETE", "/api/v1/integration/gh-csrf", "", nil, 403},
		{"hmac without header", c, "POST", "/connections/hmac", `{}`, map[string]string{"Content-Type": "application/json"}, 403},
		{"secrets without header", c, "GET", "/connections/secrets?integration=a&id=b", "", nil, 403},
		{"form with the token", c, "POST", "/integrations/new", form(url.Values{"csrf_token": {token}}), formCT, 303},
		{"api create with the header", c, "POST", "/api/v1/integration", `{"provider":"github","provider_config_key":"gh-api","client_id":"a","client_secret":"b"}`,
			map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			} else {
				body = strings.NewReader("")
			}
			r := tt.c.do(tt.method, tt.path, body, tt.hdr)
			if r.status != tt.want {
				t.Fatalf("%s %s: %d, want %d: %s", tt.method, tt.path, r.status, tt.want, clipText(r.body))
			}
		})
	}
	// Refused requests changed nothing: only the two accepted creates exist.
	list, err := s.store.ListIntegrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range list {
		keys = append(keys, in.Key)
	}
	if strings.Join(keys, ",") != "gh-api,gh-csrf" {
		t.Errorf("integrations = %v, want [gh-api gh-csrf]", keys)
	}
}

func TestCSRFCookie(t *testing.T) {
	s := start(t, map[string]string{"NANGO_SERVER_URL": "https://nango.example.com"})
	r := s.client(t, false).get("/integrations")
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"nango_csrf=", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("Set-Cookie %q lacks %s", ck, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := start(t, withAuth(nil))
	good, anon := s.client(t, true), s.client(t, false)
	page := good.get("/integrations")
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]+\.css)"`).FindStringSubmatch(page.body)
	if css == nil {
		t.Fatal("no stylesheet link")
	}
	cases := []struct {
		name string
		r    response
	}{
		{"page", page},
		{"asset", good.get(css[1])},
		{"api", good.get("/api/v1/integration")},
		{"401", anon.get("/integrations")},
		{"404 page", good.get("/integrations/edit?key=nope")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.r.header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			want := map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Access-Control-Allow-Origin": ""}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// Pages carry no inline script or style: everything is an external file.
	for _, p := range []string{"/integrations", "/integrations/new", "/connections", "/connections/new", "/activity", "/settings"} {
		body := good.get(p).body
		if m := regexp.MustCompile(`<script(?:\s[^>]*)?>`).FindAllString(body, -1); len(m) == 0 || !allExternal(m) {
			t.Errorf("%s: inline script tags %q", p, m)
		}
		if strings.Contains(body, "<style") || regexp.MustCompile(`\sstyle="`).MatchString(body) || regexp.MustCompile(`\son[a-z]+="`).MatchString(body) {
			t.Errorf("%s carries inline style or event handlers", p)
		}
	}
	sdk := anon.get("/sdk/nango.js")
	if sdk.status != 200 || !strings.HasPrefix(sdk.header.Get("Content-Type"), "text/javascript") || sdk.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("/sdk/nango.js: %d %q ACAO=%q", sdk.status, sdk.header.Get("Content-Type"), sdk.header.Get("Access-Control-Allow-Origin"))
	}
	if !strings.Contains(sdk.body, "export default Nango") {
		t.Error("/sdk/nango.js is not the SDK")
	}
}

func allExternal(tags []string) bool {
	for _, tag := range tags {
		if !strings.Contains(tag, ` src="/static/`) {
			return false
		}
	}
	return true
}

func clipText(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
