package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// seen is one request a scripted provider received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// scripted is an httptest provider that records every request and answers
// with reply.
type scripted struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newScripted(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		s.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func (s *scripted) only(t *testing.T) seen {
	t.Helper()
	r := s.requests()
	if len(r) != 1 {
		t.Fatalf("provider received %d requests, want 1", len(r))
	}
	return r[0]
}

func jsonReply(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

var testNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func testClient() *Client {
	return &Client{Now: func() time.Time { return testNow }, Timeout: 5 * time.Second}
}

func integ(id, sec string) store.Integration {
	return store.Integration{Key: "k", Provider: "p", ClientID: id, ClientSecret: secret.String(sec)}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

const okToken = `{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":3600,"scope":"read"}`

func TestExchangeRequestShape(t *testing.T) {
	const cb = "http://localhost:3003/oauth/callback"
	tests := []struct {
		name       string
		tmpl       provider.Template
		cc         map[string]any
		id, sec    string
		wantPath   string
		wantCT     string
		wantAuth   string
		wantBody   string
		wantHeader map[string]string
	}{
		{
			name: "default: form body, PKCE, client credentials in body",
			tmpl: provider.Template{TokenURL: "{{srv}}/oauth/token"},
			id:   "Iv1.0123", sec: "shh",
			wantPath: "/oauth/token", wantCT: "application/x-www-form-urlencoded",
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&code_verifier=" + testVerifier.Reveal() + "&client_id=Iv1.0123&client_secret=shh",
		},
		{
			name: "disable_pkce: no code_verifier",
			tmpl: provider.Template{TokenURL: "{{srv}}/token", DisablePKCE: true},
			id:   "id", sec: "sec",
			wantPath: "/token", wantCT: "application/x-www-form-urlencoded",
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&client_id=id&client_secret=sec",
		},
		{
			name: "token_params: grant_type replaced in place, extras in order before code_verifier",
			tmpl: provider.Template{TokenURL: "{{srv}}/token", TokenParams: provider.Params{
				{Name: "grant_type", Value: "authorization_code"}, {Name: "audience", Value: "api.example.com"}, {Name: "x y", Value: "a!b'c(d)e*f~g"},
			}},
			id: "id", sec: "sec",
			wantPath: "/token", wantCT: "application/x-www-form-urlencoded",
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&audience=api.example.com&x%20y=a!b'c(d)e*f~g&code_verifier=" + testVerifier.Reveal() + "&client_id=id&client_secret=sec",
		},
		{
			name: "authorization_method header: form-encoded Basic, no body credentials",
			tmpl: provider.Template{TokenURL: "{{srv}}/token", AuthorizationMethod: provider.AuthorizationMethodHeader, DisablePKCE: true},
			id:   "my id!", sec: "s*e'c(r)e t:+/~",
			wantPath: "/token", wantCT: "application/x-www-form-urlencoded",
			wantAuth: basic("my+id%21", "s%2Ae%27c%28r%29e+t%3A%2B%2F~"),
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback",
		},
		{
			name: "token_request_auth_method basic: raw Basic plus body credentials",
			tmpl: provider.Template{TokenURL: "{{srv}}/token", TokenRequestAuthMethod: provider.TokenAuthBasic, DisablePKCE: true},
			id:   "my id", sec: "p:w d",
			wantPath: "/token", wantCT: "application/x-www-form-urlencoded",
			wantAuth: basic("my id", "p:w d"),
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&client_id=my%20id&client_secret=p%3Aw%20d",
		},
		{
			name: "both header methods: the URL-encoded header wins",
			tmpl: provider.Template{TokenURL: "{{srv}}/token", TokenRequestAuthMethod: provider.TokenAuthBasic, AuthorizationMethod: provider.AuthorizationMethodHeader, DisablePKCE: true},
			id:   "a b", sec: "c d",
			wantPath: "/token", wantCT: "application/x-www-form-urlencoded",
			wantAuth: basic("a+b", "c+d"),
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback",
		},
		{
			name: "body_format json: flat object in parameter order",
			tmpl: provider.Template{TokenURL: "{{srv}}/v1/oauth/token", BodyFormat: provider.BodyFormatJSON, AuthorizationMethod: provider.AuthorizationMethodHeader},
			id:   "id", sec: "sec",
			wantPath: "/v1/oauth/token", wantCT: "application/json",
			wantAuth: basic("id", "sec"),
			wantBody: `{"grant_type":"authorization_code","code":"co de+1","redirect_uri":"http://localhost:3003/oauth/callback","code_verifier":"` + testVerifier.Reveal() + `"}`,
		},
		{
			name: "interpolated token URL, seed-era placeholder",
			tmpl: provider.Template{TokenURL: "{{srv}}/${connectionConfig.params.subdomain}/oauth/tokens", DisablePKCE: true},
			cc:   map[string]any{"subdomain": "acme"},
			id:   "id", sec: "sec",
			wantPath: "/acme/oauth/tokens", wantCT: "application/x-www-form-urlencoded",
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&client_id=id&client_secret=sec",
		},
		{
			name: "interpolated token URL, current placeholder; token URL query kept",
			tmpl: provider.Template{TokenURL: "{{srv}}/${connectionConfig.region}/token?subscription-key=${connectionConfig.key}", DisablePKCE: true},
			cc:   map[string]any{"region": "eu", "key": "k1"},
			id:   "id", sec: "sec",
			wantPath: "/eu/token", wantCT: "application/x-www-form-urlencoded",
			wantBody: "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&client_id=id&client_secret=sec",
		},
		{
			name: "token_headers",
			tmpl: provider.Template{TokenURL: "{{srv}}/token", DisablePKCE: true, TokenHeaders: provider.Params{{Name: "X-Region", Value: "${connectionConfig.region}"}}},
			cc:   map[string]any{"region": "eu"},
			id:   "id", sec: "sec",
			wantPath: "/token", wantCT: "application/x-www-form-urlencoded",
			wantBody:   "grant_type=authorization_code&code=co%20de%2B1&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&client_id=id&client_secret=sec",
			wantHeader: map[string]string{"X-Region": "eu"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(t, jsonReply(200, okToken))
			tmpl := tt.tmpl
			tmpl.TokenURL = strings.ReplaceAll(tmpl.TokenURL, "{{srv}}", srv.URL)
			_, err := testClient().Exchange(context.Background(), ExchangeRequest{
				Template: &tmpl, Integration: integ(tt.id, tt.sec), Code: "co de+1", CodeVerifier: testVerifier,
				CallbackURL: cb, ConnectionConfig: tt.cc,
			})
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			r := srv.only(t)
			if r.Method != http.MethodPost || r.Path != tt.wantPath {
				t.Errorf("request %s %s, want POST %s", r.Method, r.Path, tt.wantPath)
			}
			if got := r.Header.Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", got, tt.wantCT)
			}
			if got := r.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept %q", got)
			}
			if got := r.Header.Get("User-Agent"); got != "Nango" {
				t.Errorf("User-Agent %q", got)
			}
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization %q, want %q", got, tt.wantAuth)
			}
			if r.Body != tt.wantBody {
				t.Errorf("body\n %s\nwant\n %s", r.Body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(tt.tmpl.TokenURL, "subscription-key") && r.RawQuery != "subscription-key=k1" {
				t.Errorf("query %q, want the template's", r.RawQuery)
			}
		})
	}
}

func TestExchangeMetadata(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"access_token":"at","instance_url":"https://eu1.example.com","id":{"org":"o-1"},"n":5}`))
	tmpl := provider.Template{
		TokenURL: srv.URL + "/token", DisablePKCE: true,
		RedirectURIMetadata:   []string{"realmId", "absent"},
		TokenResponseMetadata: []string{"instance_url", "id.org", "realmId"},
		ConnectionConfig:      []provider.Field{{Name: "instance_url", Automated: true}, {Name: "realmId", Automated: true}, {Name: "subdomain"}},
	}
	res, err := testClient().Exchange(context.Background(), ExchangeRequest{
		Template: &tmpl, Integration: integ("id", "sec"), Code: "c", CallbackURL: "https://cb",
		CallbackQuery: url.Values{"realmId": {"4620816365"}, "code": {"c"}, "state": {"s"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantMD := map[string]any{"realmId": "4620816365", "instance_url": "https://eu1.example.com", "id.org": "o-1"}
	if !equalJSON(res.Metadata, wantMD) {
		t.Errorf("metadata = %v, want %v", res.Metadata, wantMD)
	}
	wantCC := map[string]any{"instance_url": "https://eu1.example.com", "realmId": "4620816365"}
	if !equalJSON(res.ConnectionConfig, wantCC) {
		t.Errorf("connection config = %v, want %v", res.ConnectionConfig, wantCC)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func jwt(claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims)) + ".c2ln"
}

func TestTokenResponseParsing(t *testing.T) {
	in1h := testNow.Add(time.Hour)
	jwtTok := jwt(`{"sub":"u","exp":1715000000}`)
	tests := []struct {
		name        string
		tmpl        provider.Template
		ct, body    string
		wantAccess  string
		wantRefresh string
		wantExp     *time.Time // nil: no expiry
		wantRawExp  string     // raw.expires_at; "" = absent
	}{
		{name: "json expires_in number", ct: "application/json", body: okToken, wantAccess: "at-1", wantRefresh: "rt-1", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "expires_in numeric string", ct: "application/json", body: `{"access_token":"a","expires_in":"3600"}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "expires_in fraction truncated", ct: "application/json", body: `{"access_token":"a","expires_in":3600.9}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "expires_in 0 means unknown", ct: "application/json", body: `{"access_token":"a","expires_in":0}`, wantAccess: "a"},
		{name: "expires_in absurd means unknown", ct: "application/json", body: `{"access_token":"a","expires_in":600000000000}`, wantAccess: "a"},
		{name: "expires_in not a number", ct: "application/json", body: `{"access_token":"a","expires_in":"soon"}`, wantAccess: "a"},
		{name: "expires_at unix seconds", ct: "application/json", body: `{"access_token":"a","expires_at":1714982889}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "expires_at numeric string", ct: "application/json", body: `{"access_token":"a","expires_at":"1714982889"}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "expires_at ISO wins over expires_in", ct: "application/json", body: `{"access_token":"a","expires_at":"2024-05-06T08:08:09Z","expires_in":60}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "form-encoded response", ct: "application/x-www-form-urlencoded", body: "access_token=gho_1&scope=repo%2Cuser&token_type=bearer", wantAccess: "gho_1"},
		{name: "vendor +json type", ct: "application/vnd.api+json", body: `{"access_token":"a","refresh_token":"r"}`, wantAccess: "a", wantRefresh: "r"},
		{name: "JSON with text/plain type", ct: "text/plain", body: `{"access_token":"a"}`, wantAccess: "a"},
		{name: "JWT access token without expiry uses exp", ct: "application/json", body: `{"access_token":"` + jwtTok + `"}`, wantAccess: jwtTok, wantExp: ptr(time.Unix(1715000000, 0).UTC()), wantRawExp: "2024-05-06T12:53:20.000Z"},
		{name: "expires_in beats JWT exp", ct: "application/json", body: `{"access_token":"` + jwtTok + `","expires_in":3600}`, wantAccess: jwtTok, wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "dotted non-JWT token", ct: "application/json", body: `{"access_token":"a.b.c"}`, wantAccess: "a.b.c"},
		{name: "expires_in_unit milliseconds", tmpl: provider.Template{ExpiresInUnit: provider.ExpiresInMilliseconds}, ct: "application/json", body: `{"access_token":"a","expires_in":3600000}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "token_expires_in_ms default lifetime", tmpl: provider.Template{TokenExpiresIn: ptr(time.Hour)}, ct: "application/json", body: `{"access_token":"a"}`, wantAccess: "a", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "alternate access token path", tmpl: provider.Template{AlternateAccessTokenResponsePath: "authed_user"}, ct: "application/json", body: `{"ok":true,"authed_user":{"id":"U1","access_token":"xoxp-1","refresh_token":"xoxe-1","expires_in":3600}}`, wantAccess: "xoxp-1", wantRefresh: "xoxe-1", wantExp: &in1h, wantRawExp: "2024-05-06T08:08:09.000Z"},
		{name: "top-level token wins over alternate path", tmpl: provider.Template{AlternateAccessTokenResponsePath: "authed_user"}, ct: "application/json", body: `{"access_token":"xoxb-1","authed_user":{"access_token":"xoxp-1"}}`, wantAccess: "xoxb-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				_, _ = io.WriteString(w, tt.body)
			})
			tmpl := tt.tmpl
			tmpl.TokenURL, tmpl.DisablePKCE = srv.URL+"/token", true
			res, err := testClient().Exchange(context.Background(), ExchangeRequest{Template: &tmpl, Integration: integ("id", "sec"), Code: "c", CallbackURL: "https://cb"})
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			c := res.Credentials
			if c.Type != store.OAuth2 || c.AccessToken.Reveal() != tt.wantAccess || c.RefreshToken.Reveal() != tt.wantRefresh {
				t.Errorf("credentials type %s access %q refresh %q, want %q %q", c.Type, c.AccessToken.Reveal(), c.RefreshToken.Reveal(), tt.wantAccess, tt.wantRefresh)
			}
			switch {
			case tt.wantExp == nil && c.ExpiresAt != nil:
				t.Errorf("expires_at = %v, want none", c.ExpiresAt)
			case tt.wantExp != nil && (c.ExpiresAt == nil || !c.ExpiresAt.Equal(*tt.wantExp)):
				t.Errorf("expires_at = %v, want %v", c.ExpiresAt, tt.wantExp)
			}
			rawExp, _ := c.Raw["expires_at"].(string)
			if tt.wantRawExp != "" && rawExp != tt.wantRawExp {
				t.Errorf("raw.expires_at = %v, want %q", c.Raw["expires_at"], tt.wantRawExp)
			}
			if tt.wantRawExp == "" && c.Raw["expires_at"] != nil {
				t.Errorf("raw.expires_at = %v, want absent", c.Raw["expires_at"])
			}
			// raw keeps every field of the response.
			var resp map[string]any
			if json.Unmarshal([]byte(tt.body), &resp) == nil {
				for k := range resp {
					if _, ok := c.Raw[k]; !ok {
						t.Errorf("raw lost %q", k)
					}
				}
			}
			// The stored JSON shape round-trips.
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var back store.Credentials
			if err := json.Unmarshal(b, &back); err != nil || back.AccessToken != c.AccessToken {
				t.Errorf("credentials do not round-trip: %v", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExchangeFailures(t *testing.T) {
	longToken := strings.Repeat("Zx9", 20)
	tests := []struct {
		name       string
		reply      func(http.ResponseWriter, *http.Request)
		wantStatus int    // *ProviderError status; 0 = not a ProviderError
		wantCode   string // ProviderError code
		wantBad    bool   // *ResponseError
		wantIn     string // text the error must contain
		notIn      []string
	}{
		{name: "invalid_grant JSON", reply: jsonReply(400, `{"error":"invalid_grant","error_description":"code the-code-123 was already used"}`),
			wantStatus: 400, wantCode: "invalid_grant", wantIn: "invalid_grant", notIn: []string{"the-code-123"}},
		{name: "form-encoded error", reply: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			w.WriteHeader(401)
			_, _ = io.WriteString(w, "error=invalid_client&error_description=bad+client")
		}, wantStatus: 401, wantCode: "invalid_client", wantIn: "bad client"},
		{name: "HTML error page summarised, token-like words redacted", reply: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html><body>Bad gateway "+longToken+" "+strings.Repeat("lorem ipsum ", 100)+"</body></html>")
		}, wantStatus: 502, wantIn: "Bad gateway", notIn: []string{longToken}},
		{name: "200 with an OAuth error (GitHub)", reply: jsonReply(200, `{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}`),
			wantStatus: 200, wantCode: "bad_verification_code"},
		{name: "missing access_token", reply: jsonReply(200, `{"token_type":"bearer"}`), wantBad: true, wantIn: "no access_token"},
		{name: "access_token not a string", reply: jsonReply(200, `{"access_token":42}`), wantBad: true, wantIn: "not a string"},
		{name: "not JSON", reply: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>hello</html>")
		}, wantBad: true, wantIn: "text/html"},
		{name: "malformed JSON", reply: jsonReply(200, `{"access_token":`), wantBad: true, wantIn: "not a JSON object"},
		{name: "client secret echoed", reply: jsonReply(401, `{"error":"invalid_client","error_description":"secret sec-XYZ-123 is wrong"}`),
			wantStatus: 401, wantCode: "invalid_client", notIn: []string{"sec-XYZ-123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(t, tt.reply)
			tmpl := provider.Template{TokenURL: srv.URL + "/token"}
			_, err := testClient().Exchange(context.Background(), ExchangeRequest{
				Template: &tmpl, Integration: integ("id", "sec-XYZ-123"), Code: "the-code-123", CodeVerifier: testVerifier, CallbackURL: "https://cb",
			})
			if err == nil {
				t.Fatal("Exchange succeeded")
			}
			var pe *ProviderError
			var re *ResponseError
			switch {
			case tt.wantStatus != 0:
				if !errors.As(err, &pe) {
					t.Fatalf("err = %T %v, want *ProviderError", err, err)
				}
				if pe.Status != tt.wantStatus || pe.Code != tt.wantCode {
					t.Errorf("status %d code %q, want %d %q", pe.Status, pe.Code, tt.wantStatus, tt.wantCode)
				}
				if pe.Endpoint != srv.URL+"/token" {
					t.Errorf("endpoint %q", pe.Endpoint)
				}
				if len(pe.Description) > 210 {
					t.Errorf("description is %d bytes", len(pe.Description))
				}
				if pe.InvalidGrant() != (tt.wantCode == "invalid_grant") {
					t.Errorf("InvalidGrant() = %v", pe.InvalidGrant())
				}
			case tt.wantBad:
				if !errors.As(err, &re) || !errors.Is(err, ErrBadResponse) {
					t.Fatalf("err = %T %v, want *ResponseError", err, err)
				}
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
			for _, s := range append(tt.notIn, "sec-XYZ-123", testVerifier.Reveal()) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q leaks %q", err, s)
				}
			}
		})
	}
}

func TestExchangeTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tmpl := provider.Template{TokenURL: srv.URL + "/token", DisablePKCE: true}
	c := &Client{Timeout: 100 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := c.Exchange(context.Background(), ExchangeRequest{Template: &tmpl, Integration: integ("id", "sec"), Code: "c", CallbackURL: "https://cb"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exchange did not return although its timeout passed")
	}
}

func TestRedirectToAnotherHostNotFollowed(t *testing.T) {
	other := newScripted(t, jsonReply(200, okToken))
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			jsonReply(200, okToken)(w, r)
			return
		}
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	})
	tmpl := provider.Template{TokenURL: srv.URL + "/token", DisablePKCE: true}
	_, err := testClient().Exchange(context.Background(), ExchangeRequest{Template: &tmpl, Integration: integ("id", "sec"), Code: "c", CallbackURL: "https://cb"})
	var re *ResponseError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
	// A redirect within the same host is followed (307 keeps the body).
	tmpl.TokenURL = srv.URL + "/same"
	res, err := testClient().Exchange(context.Background(), ExchangeRequest{Template: &tmpl, Integration: integ("id", "sec"), Code: "c", CallbackURL: "https://cb"})
	if err != nil || res.Credentials.AccessToken.Reveal() != "at-1" {
		t.Fatalf("same-host redirect: %v", err)
	}
	reqs := srv.requests()
	if last := reqs[len(reqs)-1]; last.Path != "/moved" || !strings.Contains(last.Body, "client_secret=sec") {
		t.Errorf("redirected request %+v", last)
	}
}

func TestExchangeURLParamError(t *testing.T) {
	tmpl := provider.Template{TokenURL: "https://${connectionConfig.subdomain}.example.com/token"}
	_, err := testClient().Exchange(context.Background(), ExchangeRequest{Template: &tmpl, Integration: integ("id", "sec"), Code: "c", CallbackURL: "https://cb"})
	var fe *FlowError
	if !errors.As(err, &fe) || fe.Type != ErrTypeURLParam {
		t.Fatalf("err = %v, want url_param_err", err)
	}
}

func TestRefreshRequestShape(t *testing.T) {
	tests := []struct {
		name     string
		tmpl     provider.Template
		cc       map[string]any
		md       map[string]any
		wantPath string
		wantBody string
	}{
		{
			name:     "plain",
			tmpl:     provider.Template{TokenURL: "{{srv}}/token"},
			wantPath: "/token",
			wantBody: "grant_type=refresh_token&refresh_token=rt%2Fold%201&client_id=id&client_secret=sec",
		},
		{
			name:     "refresh_url wins over token_url; refresh_params without a second grant_type",
			tmpl:     provider.Template{TokenURL: "{{srv}}/token", RefreshURL: "{{srv}}/refresh", RefreshParams: provider.Params{{Name: "grant_type", Value: "refresh_token"}, {Name: "scope", Value: "a b"}}, TokenParams: provider.Params{{Name: "unused", Value: "x"}}},
			wantPath: "/refresh",
			wantBody: "grant_type=refresh_token&scope=a%20b&refresh_token=rt%2Fold%201&client_id=id&client_secret=sec",
		},
		{
			name:     "token_params used without refresh_params; their grant_type dropped (bamboohr)",
			tmpl:     provider.Template{TokenURL: "{{srv}}/token", TokenParams: provider.Params{{Name: "grant_type", Value: "authorization_code"}, {Name: "audience", Value: "api"}}},
			wantPath: "/token",
			wantBody: "grant_type=refresh_token&audience=api&refresh_token=rt%2Fold%201&client_id=id&client_secret=sec",
		},
		{
			name:     "twinfield's misspelt greant_type goes through as is",
			tmpl:     provider.Template{TokenURL: "{{srv}}/token", RefreshParams: provider.Params{{Name: "greant_type", Value: "refresh_token"}}},
			wantPath: "/token",
			wantBody: "grant_type=refresh_token&greant_type=refresh_token&refresh_token=rt%2Fold%201&client_id=id&client_secret=sec",
		},
		{
			name:     "interpolated with the stored config (both forms) and metadata",
			tmpl:     provider.Template{TokenURL: "{{srv}}/${connectionConfig.params.subdomain}/${connectionConfig.region}/token"},
			cc:       map[string]any{"subdomain": "acme"},
			md:       map[string]any{"region": "eu"},
			wantPath: "/acme/eu/token",
			wantBody: "grant_type=refresh_token&refresh_token=rt%2Fold%201&client_id=id&client_secret=sec",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(t, jsonReply(200, `{"access_token":"at-2","expires_in":60}`))
			tmpl := tt.tmpl
			tmpl.TokenURL = strings.ReplaceAll(tmpl.TokenURL, "{{srv}}", srv.URL)
			tmpl.RefreshURL = strings.ReplaceAll(tmpl.RefreshURL, "{{srv}}", srv.URL)
			conn := store.Connection{
				ProviderConfigKey: "k", ConnectionID: "c", ConnectionConfig: tt.cc, Metadata: tt.md,
				Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "at-1", RefreshToken: "rt/old 1", Raw: map[string]any{"old": true}},
			}
			res, err := testClient().Refresh(context.Background(), RefreshRequest{Template: &tmpl, Integration: integ("id", "sec"), Connection: conn})
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			r := srv.only(t)
			if r.Path != tt.wantPath || r.Body != tt.wantBody {
				t.Errorf("request %s\n %s\nwant %s\n %s", r.Path, r.Body, tt.wantPath, tt.wantBody)
			}
			if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("User-Agent") != "Nango" || r.Header.Get("Accept") != "application/json" {
				t.Errorf("headers %v", r.Header)
			}
			c := res.Credentials
			if c.AccessToken.Reveal() != "at-2" || c.RefreshToken.Reveal() != "rt/old 1" {
				t.Errorf("access %q refresh %q: the old refresh token must be kept", c.AccessToken.Reveal(), c.RefreshToken.Reveal())
			}
			if _, ok := c.Raw["old"]; ok {
				t.Errorf("raw not replaced: %v", c.Raw)
			}
			if c.Raw["expires_at"] != "2024-05-06T07:09:09.000Z" {
				t.Errorf("raw.expires_at = %v", c.Raw["expires_at"])
			}
		})
	}
}

func TestRefreshRotatesAndHeaders(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"access_token":"at-2","refresh_token":"rt-2"}`))
	tmpl := provider.Template{TokenURL: srv.URL + "/token", AuthorizationMethod: provider.AuthorizationMethodHeader, BodyFormat: provider.BodyFormatJSON}
	conn := store.Connection{Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "at-1", RefreshToken: "rt-1"}}
	res, err := testClient().Refresh(context.Background(), RefreshRequest{Template: &tmpl, Integration: integ("id", "s s"), Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	if res.Credentials.RefreshToken.Reveal() != "rt-2" {
		t.Errorf("refresh token %q, want the rotated one", res.Credentials.RefreshToken.Reveal())
	}
	r := srv.only(t)
	if r.Body != `{"grant_type":"refresh_token","refresh_token":"rt-1"}` || r.Header.Get("Authorization") != basic("id", "s+s") {
		t.Errorf("request body %s auth %s", r.Body, r.Header.Get("Authorization"))
	}
}

func TestRefreshWithoutRefreshToken(t *testing.T) {
	tmpl := provider.Template{TokenURL: "https://x.example/token"}
	_, err := testClient().Refresh(context.Background(), RefreshRequest{Template: &tmpl, Connection: store.Connection{Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "a"}}})
	if !errors.Is(err, ErrNoRefreshToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestRefreshInvalidGrantRedactsToken(t *testing.T) {
	srv := newScripted(t, jsonReply(400, `{"error":"invalid_grant","error_description":"Refresh token rt-SECRET-9 already used"}`))
	tmpl := provider.Template{TokenURL: srv.URL + "/token"}
	conn := store.Connection{Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "a", RefreshToken: "rt-SECRET-9"}}
	_, err := testClient().Refresh(context.Background(), RefreshRequest{Template: &tmpl, Integration: integ("id", "sec"), Connection: conn})
	var pe *ProviderError
	if !errors.As(err, &pe) || !pe.InvalidGrant() {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "rt-SECRET-9") || strings.Contains(pe.Message(), "rt-SECRET-9") {
		t.Errorf("error leaks the refresh token: %v", err)
	}
}
