package connect

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// recorder is a provider API that records every request and accepts it,
// except requests carrying the credential "bad-key" / user "bad" (401).
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t *testing.T) *recorder {
	rc := &recorder{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, r.Clone(context.Background()))
		rc.mu.Unlock()
		u, _, _ := r.BasicAuth()
		all := r.URL.RawQuery
		for _, v := range r.Header {
			all += strings.Join(v, " ")
		}
		if strings.Contains(all, "bad-key") || u == "bad" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *recorder) last() *http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) == 0 {
		return nil
	}
	return rc.reqs[len(rc.reqs)-1]
}

func (rc *recorder) all() []*http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*http.Request(nil), rc.reqs...)
}

// builtinRehosted returns the named built-in templates pointed at base,
// plus the extra YAML templates.
func builtinRehosted(t *testing.T, base string, names []string, extraYAML string) *provider.Catalog {
	t.Helper()
	cat, err := provider.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ts []*provider.Template
	for _, n := range names {
		tm, ok := cat.Get(n)
		if !ok {
			t.Fatalf("template %s not in the built-in catalog", n)
		}
		ts = append(ts, tm.Rehost(base))
	}
	if extraYAML != "" {
		extra, err := provider.Parse("extra.yaml", []byte(strings.ReplaceAll(extraYAML, "BASE", base)))
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, extra.Templates()...)
	}
	return provider.NewCatalog(ts...)
}

const credentialExtras = `
needs-sub:
  auth_mode: API_KEY
  proxy:
    base_url: BASE/${connectionConfig.subdomain}/api
    headers:
      x-key: ${apiKey}
patterned:
  auth_mode: API_KEY
  proxy:
    base_url: BASE
    headers:
      authorization: Bearer ${apiKey}
  credentials:
    apiKey:
      type: string
      pattern: ^sk_[a-z0-9]+$
from-config:
  auth_mode: API_KEY
  proxy:
    base_url: ${connectionConfig.baseUrl}
    headers:
      authorization: Bearer ${apiKey}
    verification:
      method: GET
      endpoints: [/me]
`

func TestCredentialEndpointsAndProxyInjection(t *testing.T) {
	rc := newRecorder(t)
	names := []string{"sendgrid", "github-pat", "builtwith", "datadog", "a-leads", "shortcut", "baserow",
		"freshdesk", "twilio", "stripe-api-key", "jira-basic", "affinity"}
	cat := builtinRehosted(t, rc.srv.URL, names, credentialExtras)
	var ins []store.Integration
	for _, tm := range cat.Templates() {
		ins = append(ins, store.Integration{Key: tm.Name, Provider: tm.Name})
	}
	s := newStack(t, "", ins, stackOptions{catalog: cat})

	type check struct {
		header map[string]string // expected upstream headers
		query  map[string]string // expected upstream query values
		basic  [2]string         // expected Basic credentials
	}
	tests := []struct {
		name, kind, key string
		params          string
		body            map[string]any
		wantVerified    any // true, false or nil (absent)
		verifyPath      string
		want            check
		wantCreds       map[string]any
	}{
		{name: "bearer header", kind: "api-key", key: "sendgrid", body: map[string]any{"apiKey": "k-1"}, wantVerified: nil,
			want: check{header: map[string]string{"Authorization": "Bearer k-1"}}, wantCreds: map[string]any{"type": "API_KEY", "apiKey": "k-1"}},
		{name: "bearer, defaulted version header, verification", kind: "api-key", key: "github-pat", body: map[string]any{"apiKey": "ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			wantVerified: true, verifyPath: "/user",
			want: check{header: map[string]string{"Authorization": "Bearer ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "X-Github-Api-Version": "2022-11-28", "Accept": "application/vnd.github+json"}}},
		{name: "query parameter", kind: "api-key", key: "builtwith", body: map[string]any{"apiKey": "bw 1+2"},
			want: check{query: map[string]string{"KEY": "bw 1+2"}}},
		{name: "two headers, one from params", kind: "api-key", key: "datadog", params: "&params[siteParameter]=datadoghq.eu&params[applicationKey]=app_9",
			body: map[string]any{"apiKey": "0123456789abcdef0123456789abcdef"}, wantVerified: true, verifyPath: "/api/v1/validate",
			want: check{header: map[string]string{"Dd-Api-Key": "0123456789abcdef0123456789abcdef", "Dd-Application-Key": "app_9"}}},
		{name: "x-api-key", kind: "api-key", key: "a-leads", body: map[string]any{"apiKey": "0123456789abcdef0123456789abcdef"},
			want: check{header: map[string]string{"X-Api-Key": "0123456789abcdef0123456789abcdef"}}},
		{name: "custom token header, verification", kind: "api-key", key: "shortcut", body: map[string]any{"apiKey": "sc-1"}, wantVerified: true,
			verifyPath: "/api/v3/member", want: check{header: map[string]string{"Shortcut-Token": "sc-1"}}},
		{name: "Token scheme", kind: "api-key", key: "baserow", body: map[string]any{"apiKey": "Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Zz"},
			want: check{header: map[string]string{"Authorization": "Token Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Zz"}}},
		{name: "plain Basic, verification on a subdomain", kind: "basic", key: "freshdesk", params: "&params[subdomain]=acme",
			body: map[string]any{"username": "fd-key", "password": "X"}, wantVerified: true, verifyPath: "/api/v2/settings/helpdesk",
			want: check{basic: [2]string{"fd-key", "X"}}, wantCreds: map[string]any{"type": "BASIC", "username": "fd-key", "password": "X"}},
		{name: "Basic, verification path from the username", kind: "basic", key: "twilio", body: map[string]any{"username": "ACa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "password": "tok"},
			wantVerified: true, verifyPath: "/2010-04-01/Accounts/ACa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1/Messages.json", want: check{basic: [2]string{"ACa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "tok"}}},
		{name: "Basic plus an optional header given", kind: "basic", key: "stripe-api-key", params: "&params[context]=acct_1aTnTtAAB0hHJ26p",
			body: map[string]any{"username": "rk_test_abcdefgh1234567812345678", "password": ""},
			want: check{basic: [2]string{"rk_test_abcdefgh1234567812345678", ""}, header: map[string]string{"Stripe-Context": "acct_1aTnTtAAB0hHJ26p"}}},
		{name: "Basic, email and token", kind: "basic", key: "jira-basic", params: "&params[subdomain]=acme",
			body: map[string]any{"username": "ada@example.com", "password": "api-token"}, wantVerified: true, verifyPath: "/rest/api/3/myself",
			want: check{basic: [2]string{"ada@example.com", "api-token"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(rc.all())
			r := s.do("POST", "/api-auth/"+tc.kind+"/"+tc.key+"?connection_id=conn-"+tc.key+tc.params, tc.body, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got := r.json(t)
			if got["providerConfigKey"] != tc.key || got["connectionId"] != "conn-"+tc.key || got["verified"] != tc.wantVerified {
				t.Fatalf("answer = %v, want verified %v", got, tc.wantVerified)
			}
			if tc.verifyPath != "" {
				reqs := rc.all()[n:]
				if len(reqs) != 1 || reqs[0].URL.Path != tc.verifyPath {
					t.Fatalf("verification requests: %d, last path %v", len(reqs), reqs)
				}
				checkInjected(t, reqs[0], tc.want.header, nil, tc.want.basic)
			} else if len(rc.all()) != n {
				t.Fatalf("a request was sent for a template without verification")
			}
			c := s.connection(tc.key, "conn-"+tc.key)
			if tc.wantCreds != nil && !jsonEqual(c["credentials"], tc.wantCreds) {
				t.Errorf("credentials = %v, want %v", c["credentials"], tc.wantCreds)
			}
			pr := s.proxyCall("GET", tc.key, "conn-"+tc.key, "/items?x=1", "", nil)
			if pr.status != http.StatusOK {
				t.Fatalf("proxy: %d %s", pr.status, pr.body)
			}
			checkInjected(t, rc.last(), tc.want.header, tc.want.query, tc.want.basic)
		})
	}

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			typ, msg   string
		}{
			{"no connection id", "/api-auth/api-key/sendgrid", map[string]any{"apiKey": "k"}, 400, "missing_connection_id", "Missing Connection ID."},
			{"no key", "/api-auth/api-key?connection_id=c", map[string]any{"apiKey": "k"}, 400, "no_provider_config_key", "Missing Provider Config unique key."},
			{"unknown integration", "/api-auth/api-key/nope?connection_id=c", map[string]any{"apiKey": "k"}, 404, "provider_config_err", `Could not find a Provider Config matching the "nope" key.`},
			{"wrong mode", "/api-auth/basic/sendgrid?connection_id=c", map[string]any{"username": "u", "password": "p"}, 400, "auth_mode_err", "Auth mode API_KEY not supported."},
			{"missing api key", "/api-auth/api-key/sendgrid?connection_id=c", map[string]any{"apiKey": ""}, 400, "missing_api_key", ""},
			{"missing username", "/api-auth/basic/freshdesk?connection_id=c&params[subdomain]=a", map[string]any{"password": "p"}, 400, "missing_basic_username", ""},
			{"missing password", "/api-auth/basic/freshdesk?connection_id=c&params[subdomain]=a", map[string]any{"username": "u"}, 400, "missing_basic_password", ""},
			{"not JSON", "/api-auth/api-key/sendgrid?connection_id=c", "apiKey=k", 400, "invalid_body", ""},
			{"pattern", "/api-auth/api-key/patterned?connection_id=c", map[string]any{"apiKey": "pk_live"}, 400, "invalid_credentials", `The credential value "apiKey" does not match`},
			{"rejected by the provider", "/api-auth/api-key/shortcut?connection_id=rej", map[string]any{"apiKey": "bad-key"}, 400, "invalid_credentials", "The provider rejected the credentials (HTTP 401"},
			{"missing config", "/api-auth/api-key/needs-sub?connection_id=c", map[string]any{"apiKey": "k"}, 400, "missing_connection_config", "subdomain"},
			{"bad enum-less pattern in config", "/api-auth/basic/stripe-api-key?connection_id=c&params[context]=nope", map[string]any{"username": "rk_test_abcdefgh1234567812345678", "password": "p"}, 400, "invalid_connection_config", `"context" does not match`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do("POST", tc.path, tc.body, nil)
				got := r.json(t)
				if r.status != tc.status || got["type"] != tc.typ || !strings.Contains(got["error"].(string), tc.msg) {
					t.Fatalf("%d %v, want %d %s %q", r.status, got, tc.status, tc.typ, tc.msg)
				}
				if _, ok := got["payload"].(map[string]any); !ok {
					t.Errorf("payload missing: %v", got)
				}
			})
		}
		if _, err := s.st.GetConnection(context.Background(), "shortcut", "rej"); err == nil {
			t.Error("rejected credentials were stored")
		}
	})

	t.Run("host from the connection config must be public", func(t *testing.T) {
		n := len(rc.all())
		r := s.do("POST", "/api-auth/api-key/from-config?connection_id=ssrf&params[baseUrl]="+url.QueryEscape(rc.srv.URL), map[string]any{"apiKey": "k"}, nil)
		if r.status != http.StatusOK || r.json(t)["verified"] != false {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if len(rc.all()) != n {
			t.Fatal("the verification request reached a loopback address")
		}
	})

	t.Run("activity holds no secret", func(t *testing.T) {
		as, err := s.st.ListActivity(context.Background(), store.ActivityFilter{Action: "connection", Limit: 100})
		if err != nil || len(as) < len(tests) {
			t.Fatalf("%d entries, %v", len(as), err)
		}
		for _, a := range as {
			for _, sec := range []string{"ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0123456789abcdef0123456789abcdef", "api-token", "rk_test_abcdefgh1234567812345678", "bad-key", "pk_live"} {
				if strings.Contains(a.Message+a.Endpoint, sec) {
					t.Errorf("activity %q holds %q", a.Message, sec)
				}
			}
		}
		if !strings.Contains(s.logs.String(), "credential connection stored") || strings.Contains(s.logs.String(), "api-token") {
			t.Error("logs: missing entry or a secret")
		}
	})
}

func checkInjected(t *testing.T, r *http.Request, header, query map[string]string, basic [2]string) {
	t.Helper()
	if r == nil {
		t.Fatal("no request reached the upstream")
	}
	for k, v := range header {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
	for k, v := range query {
		if got := r.URL.Query().Get(k); got != v {
			t.Errorf("%s %s: query %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
	if basic != [2]string{} {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(basic[0]+":"+basic[1]))
		if got := r.Header.Get("Authorization"); got != want {
			t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.URL.Path, got, want)
		}
	}
}

func TestCredentialEndpointHMAC(t *testing.T) {
	rc := newRecorder(t)
	cat := builtinRehosted(t, rc.srv.URL, []string{"sendgrid"}, "")
	s := newStack(t, "", []store.Integration{{Key: "sg", Provider: "sendgrid"}}, stackOptions{catalog: cat, hmac: true})
	good, err := HMACDigest("sha256", hmacKey, "sg", "u1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, hmac string
		status     int
		typ        string
	}{
		{"missing", "", 401, "missing_hmac"},
		{"wrong", strings.Repeat("0", 64), 401, "invalid_hmac"},
		{"right", good, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api-auth/api-key/sg?connection_id=u1"
			if tc.hmac != "" {
				path += "&hmac=" + tc.hmac
			}
			r := s.do("POST", path, map[string]any{"apiKey": "k"}, nil)
			if r.status != tc.status || (tc.typ != "" && r.json(t)["type"] != tc.typ) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}
