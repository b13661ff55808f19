package oauth_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// recorded is one request a recording server received.
type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

// params returns the request's parameters: the form or JSON body, or the
// query when there is no body.
func (r recorded) params(t *testing.T) url.Values {
	t.Helper()
	ct := r.header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("JSON body %q: %v", r.body, err)
		}
		v := url.Values{}
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				t.Fatalf("JSON body value %s is %T, want a string", k, x)
			}
			v.Set(k, s)
		}
		return v
	case len(r.body) > 0:
		v, err := url.ParseQuery(string(r.body))
		if err != nil {
			t.Fatalf("form body %q: %v", r.body, err)
		}
		return v
	}
	return r.query
}

// catalogRecorder answers every request with a token response that suits
// all templates, and records it.
type catalogRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	last *recorded
}

func newCatalogRecorder(t *testing.T) *catalogRecorder {
	cr := &catalogRecorder{}
	cr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cr.mu.Lock()
		cr.last = &recorded{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: b}
		cr.mu.Unlock()
		if strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			_, _ = io.WriteString(w, "oauth_token=tok&oauth_token_secret=toksecret&oauth_callback_confirmed=true")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "AT", "refresh_token": "RT", "expires_in": 3600, "token_type": "bearer",
			"authed_user":  map[string]any{"access_token": "AT", "refresh_token": "RT"},
			"instance_url": "https://instance.example.com", "team": map[string]any{"id": "T1"},
		})
	}))
	t.Cleanup(cr.srv.Close)
	return cr
}

func (cr *catalogRecorder) take(t *testing.T) recorded {
	t.Helper()
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.last == nil {
		t.Fatal("no request reached the recorder")
	}
	r := *cr.last
	cr.last = nil
	return r
}

func builtin(t *testing.T) *provider.Catalog {
	t.Helper()
	cat, err := provider.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// expectedPath is the path a rehosted template URL resolves to.
func expectedPath(t *testing.T, tmpl string, v provider.Vars) string {
	t.Helper()
	s, err := provider.Interpolate(tmpl, v)
	if err != nil {
		t.Fatalf("interpolating %q with the declared sample values: %v", tmpl, err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// interpolated returns the parameters as the template declares them,
// interpolated; optional values the sample lacks are left out.
func interpolated(t *testing.T, ps provider.Params, v provider.Vars) map[string]string {
	out := map[string]string{}
	for _, p := range ps {
		s, err := provider.Interpolate(p.Value, v)
		if err != nil {
			continue
		}
		out[p.Name] = s
	}
	return out
}

func wantParam(t *testing.T, what string, got url.Values, name, want string) {
	t.Helper()
	if !got.Has(name) {
		t.Errorf("%s: parameter %s missing (have %v)", what, name, keys(got))
		return
	}
	if got.Get(name) != want {
		t.Errorf("%s: %s = %q, want %q", what, name, got.Get(name), want)
	}
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

func basicOf(id, sec string, escaped bool) string {
	if escaped {
		id, sec = url.QueryEscape(id), url.QueryEscape(sec)
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+sec))
}

const (
	cbURL    = "https://nango.example.com/oauth/callback"
	clientID = "cid"
	clientSK = "csecret"
)

// TestCatalogOAuth2Requests builds, for every OAUTH2 template of the
// built-in catalog pointed at a recording server, the authorization URL,
// the code exchange and the refresh, and checks what the provider would
// receive against the template's declarations.
func TestCatalogOAuth2Requests(t *testing.T) {
	rec := newCatalogRecorder(t)
	c := &oauth.Client{Timeout: 5 * time.Second}
	n := 0
	for _, orig := range builtin(t).Templates() {
		if orig.AuthMode != provider.OAuth2 {
			continue
		}
		n++
		tm := orig.Rehost(rec.srv.URL)
		t.Run(tm.Name, func(t *testing.T) {
			v := tm.SampleVars()
			cc := v.ConnectionConfig
			in := store.Integration{Key: tm.Name, Provider: tm.Name, ClientID: clientID, ClientSecret: clientSK, Scopes: "s1,s2"}
			verifier := oauth.NewCodeVerifier()
			if tm.AuthorizationCodeParamInWebhook == "" {
				checkAuthorizationURL(t, tm, v, verifier)
			}

			res, err := c.Exchange(context.Background(), oauth.ExchangeRequest{Template: tm, Integration: in, Code: "the-code",
				CodeVerifier: verifier, CallbackURL: cbURL, ConnectionConfig: cc})
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if res.Credentials.AccessToken.Reveal() != "AT" || res.Credentials.RefreshToken.Reveal() != "RT" {
				t.Errorf("credentials = %v / %v", res.Credentials.AccessToken.Reveal(), res.Credentials.RefreshToken.Reveal())
			}
			r := rec.take(t)
			p := checkTokenRequest(t, "exchange", tm, r, expectedPath(t, tm.TokenURL, v), v, tm.TokenParams, "authorization_code")
			wantParam(t, "exchange", p, "code", "the-code")
			wantParam(t, "exchange", p, "redirect_uri", cbURL)
			if tm.DisablePKCE == p.Has("code_verifier") {
				t.Errorf("exchange: code_verifier present = %v with disable_pkce %v", p.Has("code_verifier"), tm.DisablePKCE)
			}

			conn := store.Connection{Credentials: res.Credentials, ConnectionConfig: cc, Metadata: res.Metadata}
			if _, err := c.Refresh(context.Background(), oauth.RefreshRequest{Template: tm, Integration: in, Connection: conn}); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			r = rec.take(t)
			refreshURL := tm.TokenURL
			if tm.RefreshURL != "" {
				refreshURL = tm.RefreshURL
			}
			src := tm.RefreshParams
			if len(src) == 0 {
				src = tm.TokenParams
			}
			p = checkTokenRequest(t, "refresh", tm, r, expectedPath(t, refreshURL, v), v, without(src, "grant_type"), "refresh_token")
			wantParam(t, "refresh", p, "grant_type", "refresh_token")
			wantParam(t, "refresh", p, "refresh_token", "RT")
		})
	}
	if n < 300 {
		t.Fatalf("only %d OAUTH2 templates checked", n)
	}
}

func without(ps provider.Params, name string) provider.Params {
	var out provider.Params
	for _, p := range ps {
		if p.Name != name {
			out = append(out, p)
		}
	}
	return out
}

func checkAuthorizationURL(t *testing.T, tm *provider.Template, v provider.Vars, verifier secret.String) {
	t.Helper()
	s, err := oauth.AuthorizationURL(oauth.AuthRequest{Template: tm, ClientID: clientID, Scopes: "s1,s2", CallbackURL: cbURL,
		State: "the-state", CodeVerifier: verifier, ConnectionConfig: v.ConnectionConfig})
	if err != nil {
		t.Fatalf("AuthorizationURL: %v", err)
	}
	base, rawQuery, _ := strings.Cut(s, "?")
	if tm.AuthorizationURLFragment != "" {
		if !strings.Contains(base, "#/"+strings.TrimPrefix(tm.AuthorizationURLFragment, "/")) {
			t.Errorf("authorization URL %s lacks the fragment %s", s, tm.AuthorizationURLFragment)
		}
		base, _, _ = strings.Cut(base, "#")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	if want := expectedPath(t, tm.AuthorizationURL, v); strings.TrimSuffix(u.Path, "/") != strings.TrimSuffix(want, "/") {
		t.Errorf("authorization path %q, want %q", u.Path, want)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil && !tm.DecodeURL {
		t.Fatalf("authorization query %q: %v", rawQuery, err)
	}
	rename := func(n string) string {
		for _, r := range tm.AuthorizationURLReplacements {
			if strings.HasSuffix(r.Name, "=") {
				n = strings.TrimSuffix(strings.ReplaceAll(n+"=", r.Name, r.Value), "=")
				continue
			}
			n = strings.ReplaceAll(n, r.Name, r.Value)
		}
		return n
	}
	rawScope := false
	for _, n := range tm.AuthorizationURLSkipEncode {
		rawScope = rawScope || n == "scope" || n == "scopes"
	}
	declared := interpolated(t, tm.AuthorizationParams, v)
	if _, ok := declared["response_type"]; !ok {
		wantParam(t, "authorize", q, rename("response_type"), "code")
	}
	if _, ok := declared["client_id"]; !ok {
		wantParam(t, "authorize", q, rename("client_id"), rename(clientID))
	}
	wantParam(t, "authorize", q, rename("state"), "the-state")
	if !tm.DecodeURL {
		wantParam(t, "authorize", q, rename("redirect_uri"), cbURL)
		if _, ok := declared["scope"]; ok {
		} else if rawScope {
			if !strings.Contains(rawQuery, "scope=s1"+tm.ScopeSeparator+"s2") {
				t.Errorf("authorize: unencoded scope missing from %s", rawQuery)
			}
		} else {
			wantParam(t, "authorize", q, rename("scope"), "s1"+tm.ScopeSeparator+"s2")
		}
	}
	for name, val := range declared {
		if val == "" && tm.AuthorizationURLSkipEmpty {
			continue
		}
		if name == "nonce" && strings.Contains(tm.AuthorizationParams.Map()[name], "${random}") {
			if q.Get(rename(name)) == "" {
				t.Errorf("authorize: random %s missing", name)
			}
			continue
		}
		if !tm.DecodeURL {
			wantParam(t, "authorize", q, rename(name), rename(val))
		}
	}
	if tm.DisablePKCE == q.Has("code_challenge") {
		t.Errorf("authorize: code_challenge present = %v with disable_pkce %v", q.Has("code_challenge"), tm.DisablePKCE)
	}
	if !tm.DisablePKCE {
		sum := sha256.Sum256([]byte(verifier.Reveal()))
		wantParam(t, "authorize", q, "code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		wantParam(t, "authorize", q, "code_challenge_method", "S256")
	}
}

// checkTokenRequest checks method, path, content type, client
// authentication and the declared parameters of a token request.
func checkTokenRequest(t *testing.T, what string, tm *provider.Template, r recorded, wantPath string, v provider.Vars, declared provider.Params, grant string) url.Values {
	t.Helper()
	if r.method != http.MethodPost {
		t.Errorf("%s: method %s", what, r.method)
	}
	if strings.TrimSuffix(r.path, "/") != strings.TrimSuffix(wantPath, "/") {
		t.Errorf("%s: path %q, want %q", what, r.path, wantPath)
	}
	ct := r.header.Get("Content-Type")
	switch tm.BodyFormat {
	case provider.BodyFormatJSON:
		if !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: content type %q, want JSON", what, ct)
		}
	case provider.BodyFormatQuery:
		if len(r.body) != 0 {
			t.Errorf("%s: body %q, want the parameters in the query", what, r.body)
		}
	default:
		if ct != "application/x-www-form-urlencoded" {
			t.Errorf("%s: content type %q, want form", what, ct)
		}
	}
	if r.header.Get("Accept") != "application/json" {
		t.Errorf("%s: Accept %q", what, r.header.Get("Accept"))
	}
	p := r.params(t)
	if g, ok := tm.TokenParams.Get("grant_type"); ok && grant == "authorization_code" {
		grant = g
	}
	wantParam(t, what, p, "grant_type", grant)
	auth := r.header.Get("Authorization")
	switch {
	case tm.AuthorizationMethod == provider.AuthorizationMethodHeader:
		if auth != basicOf(clientID, clientSK, true) || p.Has("client_secret") {
			t.Errorf("%s: header client authentication: Authorization %q, body secret %v", what, auth, p.Has("client_secret"))
		}
	default:
		wantParam(t, what, p, "client_id", clientID)
		wantParam(t, what, p, "client_secret", clientSK)
		if tm.TokenRequestAuthMethod == provider.TokenAuthBasic && auth != basicOf(clientID, clientSK, false) {
			t.Errorf("%s: token_request_auth_method basic: Authorization %q", what, auth)
		}
		if tm.TokenRequestAuthMethod != provider.TokenAuthBasic && auth != "" {
			t.Errorf("%s: unexpected Authorization %q", what, auth)
		}
	}
	for name, val := range interpolated(t, declared, v) {
		if name == "grant_type" {
			continue
		}
		wantParam(t, what, p, name, val)
	}
	for _, h := range tm.TokenHeaders {
		if got := r.header.Get(h.Name); got == "" {
			t.Errorf("%s: token header %s missing", what, h.Name)
		}
	}
	return p
}

// TestCatalogClientCredentialsRequests obtains a token for every OAUTH2_CC
// template pointed at a recording server and checks the request.
func TestCatalogClientCredentialsRequests(t *testing.T) {
	rec := newCatalogRecorder(t)
	c := &oauth.Client{Timeout: 5 * time.Second}
	certPEM, keyPEM := selfSigned(t)
	rsaKey, jwk := rsaJWK(t)
	n := 0
	for _, orig := range builtin(t).Templates() {
		if orig.AuthMode != provider.OAuth2CC {
			continue
		}
		n++
		tm := orig.Rehost(rec.srv.URL)
		t.Run(tm.Name, func(t *testing.T) {
			v := tm.SampleVars()
			in := store.Integration{Key: tm.Name, Provider: tm.Name, ClientID: clientID, ClientSecret: clientSK, Scopes: "s1,s2"}
			var cr store.Credentials
			if tm.RequireClientCertificate {
				cr.ClientCertificate, cr.ClientPrivateKey = secret.String(certPEM), secret.String(keyPEM)
			}
			if tm.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT {
				cr.ClientPrivateKey = secret.String(jwk)
			}
			res, err := c.ClientCredentials(context.Background(), oauth.ClientCredentialsRequest{Template: tm, Integration: in,
				Credentials: cr, ConnectionConfig: v.ConnectionConfig})
			if err != nil {
				t.Fatalf("ClientCredentials: %v", err)
			}
			if res.Credentials.Type != store.OAuth2CC || res.Credentials.AccessToken.Reveal() != "AT" {
				t.Fatalf("credentials: %v %v", res.Credentials.Type, res.Credentials.AccessToken.Reveal())
			}
			r := rec.take(t)
			if want := expectedPath(t, tm.TokenURL, v); strings.TrimSuffix(r.path, "/") != strings.TrimSuffix(want, "/") || r.method != "POST" {
				t.Errorf("%s %s, want POST %s", r.method, r.path, want)
			}
			p := r.params(t)
			auth := r.header.Get("Authorization")
			switch {
			case tm.TokenRequestAuthMethod == provider.TokenAuthCustom:
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("custom: content type %q", r.header.Get("Content-Type"))
				}
				wantParam(t, "custom", p, "username", clientID)
				wantParam(t, "custom", p, "password", clientSK)
				return
			case tm.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT:
				wantParam(t, "jwt", p, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
				checkAssertion(t, p.Get("client_assertion"), &rsaKey.PublicKey, rec.srv.URL+r.path)
				if p.Has("client_secret") || auth != "" {
					t.Errorf("private_key_jwt also sent a secret")
				}
			case tm.AuthorizationMethod == provider.AuthorizationMethodHeader:
				if auth != basicOf(clientID, clientSK, true) || p.Has("client_secret") {
					t.Errorf("header auth: %q, body secret %v", auth, p.Has("client_secret"))
				}
			case tm.TokenRequestAuthMethod == provider.TokenAuthBasic:
				if auth != basicOf(clientID, clientSK, false) || p.Has("client_secret") {
					t.Errorf("basic auth: %q, body secret %v", auth, p.Has("client_secret"))
				}
			default:
				wantParam(t, "body auth", p, "client_id", clientID)
				wantParam(t, "body auth", p, "client_secret", clientSK)
			}
			grant := "client_credentials"
			if g, ok := tm.TokenParams.Get("grant_type"); ok {
				grant = g
			}
			if r.query.Get("grant_type") == "" || tm.BodyFormat == provider.BodyFormatQuery {
				wantParam(t, "token", p, "grant_type", grant)
			}
			for name, val := range interpolated(t, tm.TokenParams, v) {
				wantParam(t, "token", p, name, val)
			}
		})
	}
	if n < 100 {
		t.Fatalf("only %d OAUTH2_CC templates checked", n)
	}
}

// TestCatalogOAuth1Requests runs the request-token and access-token calls
// of every OAUTH1 template against a recording server.
func TestCatalogOAuth1Requests(t *testing.T) {
	rec := newCatalogRecorder(t)
	c := &oauth.Client{Timeout: 5 * time.Second}
	n := 0
	for _, orig := range builtin(t).Templates() {
		if orig.AuthMode != provider.OAuth1 {
			continue
		}
		n++
		tm := orig.Rehost(rec.srv.URL)
		t.Run(tm.Name, func(t *testing.T) {
			in := store.Integration{ClientID: clientID, ClientSecret: clientSK, Scopes: "s1,s2"}
			rt, err := c.RequestToken(context.Background(), oauth.OAuth1TokenRequest{Template: tm, Integration: in, CallbackURL: cbURL + "?state=st"})
			if err != nil || rt.Token != "tok" {
				t.Fatalf("RequestToken: %v %v", rt, err)
			}
			r := rec.take(t)
			ap := oauthHeader(r.header.Get("Authorization"))
			if r.method != tm.RequestHTTPMethod || ap["oauth_callback"] != cbURL+"?state=st" || ap["oauth_signature_method"] != tm.SignatureMethod ||
				ap["oauth_consumer_key"] != clientID || ap["oauth_signature"] == "" {
				t.Errorf("request token: %s, OAuth params %v", r.method, ap)
			}
			p := r.params(t)
			for name, val := range tm.RequestParams.Map() {
				wantParam(t, "request token", p, name, val)
			}
			au, err := oauth.OAuth1AuthorizationURL(tm, rt.Token, in.Scopes, nil)
			if err != nil {
				t.Fatal(err)
			}
			aq, _ := url.Parse(au)
			wantParam(t, "authorize", aq.Query(), "oauth_token", "tok")
			wantParam(t, "authorize", aq.Query(), "scope", "s1"+tm.ScopeSeparator+"s2")
			res, err := c.AccessToken(context.Background(), oauth.OAuth1AccessRequest{Template: tm, Integration: in, Token: "tok", TokenSecret: rt.Secret, Verifier: "ver"})
			if err != nil || res.Credentials.OAuthToken.Reveal() != "tok" {
				t.Fatalf("AccessToken: %v", err)
			}
			r = rec.take(t)
			ap = oauthHeader(r.header.Get("Authorization"))
			if r.method != tm.TokenHTTPMethod || ap["oauth_verifier"] != "ver" || ap["oauth_token"] != "tok" {
				t.Errorf("access token: %s, OAuth params %v", r.method, ap)
			}
		})
	}
	if n != 4 {
		t.Fatalf("%d OAUTH1 templates, want 4", n)
	}
}

func oauthHeader(h string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(h, "OAuth "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		v, _ = url.QueryUnescape(strings.Trim(v, `"`))
		out[k] = v
	}
	return out
}

func selfSigned(t *testing.T) (string, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
}

func rsaJWK(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	j, _ := json.Marshal(map[string]string{"kty": "RSA", "kid": "key-1", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
		"d": b64(k.D.Bytes()), "p": b64(k.Primes[0].Bytes()), "q": b64(k.Primes[1].Bytes())})
	return k, string(j)
}

// checkAssertion verifies a private_key_jwt assertion with the public key.
func checkAssertion(t *testing.T, jwt string, pub *rsa.PublicKey, aud string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWT", jwt)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("assertion signature: %v", err)
	}
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(hb, &hdr)
	_ = json.Unmarshal(cb, &claims)
	if hdr["alg"] != "RS256" || hdr["kid"] != "key-1" || claims["iss"] != clientID || claims["sub"] != clientID || claims["aud"] != aud || claims["jti"] == "" {
		t.Errorf("assertion header %v claims %v (aud want %s)", hdr, claims, aud)
	}
}
