package connect

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	mroauth "github.com/mrjones/oauth"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// oauth1Provider is an OAuth 1.0a service provider whose signature checks
// are github.com/mrjones/oauth's Provider (an independent implementation of
// RFC 5849, not our signer). That library verifies two-legged requests: so
// it checks every HMAC-SHA1 request-token call (signed with the consumer
// secret alone) and every RSA-SHA1 request of the flow and the proxy (the
// token secret takes no part in RSA-SHA1). The HMAC-SHA1 and PLAINTEXT
// requests signed with a token secret are checked by the e2e suite's
// provider (npm oauth-1.0a, e2e/test/oauth1.test.js).
type oauth1Provider struct {
	t        *testing.T
	srv      *httptest.Server
	key      string
	secret   string          // HMAC consumer secret
	rsaKey   *rsa.PrivateKey // RSA-SHA1 consumer key pair
	verifier *mroauth.Provider

	mu            sync.Mutex
	requests      map[string]issued // request token -> its secret and callback
	access        map[string]string // access token -> secret
	verified      []string          // "<path> <method>" of each library-verified request
	requestBodies []url.Values
	authorizeURLs []url.Values
	accessHeaders []string
	apiCalls      []string
	reject        bool
}

type issued struct {
	secret, callback, verifier string
}

func newOAuth1Provider(t *testing.T) *oauth1Provider {
	t.Helper()
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &oauth1Provider{t: t, key: "consumer-key", secret: "consumer-secret+/&=", rsaKey: pk,
		requests: map[string]issued{}, access: map[string]string{}}
	p.verifier = mroauth.NewProvider(func(key string, params map[string]string) (*mroauth.Consumer, error) {
		if key != p.key {
			return nil, fmt.Errorf("unknown consumer %q", key)
		}
		if params["oauth_signature_method"] == "RSA-SHA1" {
			return mroauth.NewRSAConsumer(key, p.rsaKey, mroauth.ServiceProvider{}), nil
		}
		return mroauth.NewConsumer(key, p.secret, mroauth.ServiceProvider{}), nil
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/request_token", p.requestToken)
	mux.HandleFunc("GET /oauth/authorize", p.authorize)
	mux.HandleFunc("/oauth/access_token", p.accessToken)
	mux.HandleFunc("/api/", p.api)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *oauth1Provider) rsaPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.rsaKey)}))
}

// authParams parses the OAuth Authorization header.
func authParams(h string) map[string]string {
	out := map[string]string{}
	h = strings.TrimPrefix(h, "OAuth ")
	for _, part := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		v, _ = url.QueryUnescape(strings.Trim(v, `"`))
		out[k] = v
	}
	return out
}

// check verifies the request's signature with the library.
func (p *oauth1Provider) check(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	ap := authParams(r.Header.Get("Authorization"))
	libraryCheck := ap["oauth_token"] == "" || ap["oauth_signature_method"] == "RSA-SHA1"
	if libraryCheck {
		if _, err := p.verifier.IsAuthorized(r); err != nil {
			http.Error(w, "signature rejected by the verifier: "+err.Error(), http.StatusUnauthorized)
			return nil, false
		}
		p.mu.Lock()
		p.verified = append(p.verified, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
	}
	return ap, true
}

func (p *oauth1Provider) requestToken(w http.ResponseWriter, r *http.Request) {
	ap, ok := p.check(w, r)
	if !ok {
		return
	}
	_ = r.ParseForm()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requestBodies = append(p.requestBodies, r.PostForm)
	if p.reject {
		http.Error(w, "go away", http.StatusForbidden)
		return
	}
	tok, sec := "rt-"+secret.RandomToken(8), "rts-"+secret.RandomToken(8)
	p.requests[tok] = issued{secret: sec, callback: ap["oauth_callback"]}
	w.Header().Set("Content-Type", "text/html; charset=utf-8") // as Twitter answers
	fmt.Fprintf(w, "oauth_token=%s&oauth_token_secret=%s&oauth_callback_confirmed=true", tok, sec)
}

// authorize plays the approving user: back to the callback with a verifier.
func (p *oauth1Provider) authorize(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("oauth_token")
	p.mu.Lock()
	p.authorizeURLs = append(p.authorizeURLs, r.URL.Query())
	is, ok := p.requests[tok]
	if ok {
		is.verifier = "v-" + secret.RandomToken(6)
		p.requests[tok] = is
	}
	p.mu.Unlock()
	if !ok {
		http.Error(w, "unknown request token", http.StatusBadRequest)
		return
	}
	cb, _ := url.Parse(is.callback)
	q := cb.Query()
	q.Set("oauth_token", tok)
	q.Set("oauth_verifier", is.verifier)
	cb.RawQuery = q.Encode()
	http.Redirect(w, r, cb.String(), http.StatusFound)
}

func (p *oauth1Provider) accessToken(w http.ResponseWriter, r *http.Request) {
	ap, ok := p.check(w, r)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accessHeaders = append(p.accessHeaders, r.Header.Get("Authorization"))
	is, found := p.requests[ap["oauth_token"]]
	if !found || ap["oauth_verifier"] != is.verifier || is.verifier == "" {
		http.Error(w, "bad request token or verifier", http.StatusUnauthorized)
		return
	}
	delete(p.requests, ap["oauth_token"])
	tok, sec := "at-"+secret.RandomToken(8), "ats-"+secret.RandomToken(8)
	p.access[tok] = sec
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	fmt.Fprintf(w, "oauth_token=%s&oauth_token_secret=%s&user_id=42&screen_name=ada", tok, sec)
}

func (p *oauth1Provider) api(w http.ResponseWriter, r *http.Request) {
	ap, ok := p.check(w, r)
	if !ok {
		return
	}
	p.mu.Lock()
	_, known := p.access[ap["oauth_token"]]
	p.apiCalls = append(p.apiCalls, r.Method+" "+r.URL.RequestURI())
	p.mu.Unlock()
	if !known {
		http.Error(w, "unknown access token", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"path":%q}`, r.URL.Path)
}

func oauth1Catalog(base string) string {
	return strings.ReplaceAll(`
o1-rsa:
  auth_mode: OAUTH1
  request_url: BASE/oauth/request_token
  authorization_url: BASE/oauth/authorize
  token_url: BASE/oauth/access_token
  signature_method: RSA-SHA1
  scope_separator: ','
  request_params:
    x_auth_access_type: write
  authorization_params:
    expiration: never
  redirect_uri_metadata: [extra]
  proxy:
    base_url: BASE/api
o1-hmac:
  auth_mode: OAUTH1
  request_url: BASE/oauth/request_token
  authorization_url: BASE/oauth/authorize
  token_url: BASE/oauth/access_token
  signature_method: HMAC-SHA1
  request_params:
    x_auth_access_type: read
  proxy:
    base_url: BASE/api
`, "BASE", base)
}

func TestOAuth1FlowVerifiedByIndependentProvider(t *testing.T) {
	p := newOAuth1Provider(t)
	s := newStack(t, oauth1Catalog(p.srv.URL), []store.Integration{
		{Key: "rsa", Provider: "o1-rsa", ClientID: p.key, ClientSecret: secret.String(p.rsaPEM()), Scopes: "read,write"},
		{Key: "hmac", Provider: "o1-hmac", ClientID: p.key, ClientSecret: secret.String(p.secret)},
	}, stackOptions{})

	for _, tc := range []struct {
		name, key, method string
		wantVerified      []string // library-verified requests of the flow
	}{
		{"RSA-SHA1", "rsa", "RSA-SHA1", []string{"POST /oauth/request_token", "POST /oauth/access_token"}},
		{"HMAC-SHA1", "hmac", "HMAC-SHA1", []string{"POST /oauth/request_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.mu.Lock()
			p.verified = nil
			p.mu.Unlock()
			e := &env{t: t, srv: s.srv}
			ws, wsID := e.dial("/")
			connID := "user-" + tc.key
			pg := get(t, e.sdkURL(tc.key, connID, nil, "", wsID))
			pg.check(t, http.StatusOK)
			msg := readResult(t, ws)
			if msg["message_type"] != "success" || msg["connection_id"] != connID || msg["provider_config_key"] != tc.key {
				t.Fatalf("result = %v; logs:\n%s", msg, s.logs)
			}
			p.mu.Lock()
			verified := append([]string(nil), p.verified...)
			body := p.requestBodies[len(p.requestBodies)-1]
			auth := p.authorizeURLs[len(p.authorizeURLs)-1]
			accessHeader := authParams(p.accessHeaders[len(p.accessHeaders)-1])
			p.mu.Unlock()
			if strings.Join(verified, ";") != strings.Join(tc.wantVerified, ";") {
				t.Errorf("library-verified requests = %v, want %v", verified, tc.wantVerified)
			}
			if tc.key == "rsa" {
				if body.Get("x_auth_access_type") != "write" || auth.Get("expiration") != "never" || auth.Get("scope") != "read,write" {
					t.Errorf("request body %v, authorize query %v", body, auth)
				}
			} else if body.Get("x_auth_access_type") != "read" || !auth.Has("scope") || auth.Get("scope") != "" {
				t.Errorf("request body %v, authorize query %v (scope must be present, empty)", body, auth)
			}
			if accessHeader["oauth_signature_method"] != tc.method || accessHeader["oauth_verifier"] == "" || accessHeader["oauth_version"] != "1.0" {
				t.Errorf("access-token Authorization params = %v", accessHeader)
			}

			// GET /connection returns both token and secret, and raw.
			c := s.connection(tc.key, connID)
			cr, _ := c["credentials"].(map[string]any)
			raw, _ := cr["raw"].(map[string]any)
			if cr["type"] != "OAUTH1" || !strings.HasPrefix(fmt.Sprint(cr["oauth_token"]), "at-") ||
				!strings.HasPrefix(fmt.Sprint(cr["oauth_token_secret"]), "ats-") || raw["screen_name"] != "ada" {
				t.Fatalf("credentials = %v", cr)
			}

			// A proxied call is signed with the access token.
			r := s.proxyCall("GET", tc.key, connID, "/v1/me?include=all&q=a%20b+c", "", nil)
			if r.status != http.StatusOK || !strings.Contains(string(r.body), `"ok":true`) {
				t.Fatalf("proxy: %d %s", r.status, r.body)
			}
			if tc.key == "rsa" {
				p.mu.Lock()
				last := p.verified[len(p.verified)-1]
				p.mu.Unlock()
				if last != "GET /api/v1/me" {
					t.Errorf("the proxied call was not library-verified (last verified %q)", last)
				}
				// A form POST is signed over its body.
				r = s.proxyCall("POST", tc.key, connID, "/v1/statuses", "status=hello+world&x=%2B1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
				if r.status != http.StatusOK {
					t.Fatalf("proxy POST: %d %s", r.status, r.body)
				}
			}
		})
	}

	t.Run("request token refused is token_err", func(t *testing.T) {
		p.mu.Lock()
		p.reject = true
		p.mu.Unlock()
		defer func() { p.mu.Lock(); p.reject = false; p.mu.Unlock() }()
		e := &env{t: t, srv: s.srv}
		ws, wsID := e.dial("/")
		pg := get(t, e.sdkURL("rsa", "u2", nil, "", wsID))
		pg.check(t, http.StatusBadGateway) // the provider's fault
		msg := readResult(t, ws)
		if msg["error_type"] != "token_err" || msg["error_desc"] != "Error storing/retrieving the token." {
			t.Fatalf("result = %v", msg)
		}
	})

	t.Run("callback without verifier is callback_err", func(t *testing.T) {
		// Start a flow but answer the callback ourselves without oauth_verifier.
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			Get(s.srv.URL + "/oauth/connect/hmac?connection_id=u3")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		p.mu.Lock()
		cb := p.requests[loc.Query().Get("oauth_token")].callback
		p.mu.Unlock()
		if !strings.HasPrefix(cb, s.srv.URL+"/oauth/callback?state=") {
			t.Fatalf("oauth_callback = %q", cb)
		}
		pg := get(t, cb+"&oauth_token="+loc.Query().Get("oauth_token"))
		pg.check(t, http.StatusBadRequest)
		pg.wantLegacyError(t, "callback_err", "Did not get oauth_token and/or oauth_verifier in the callback.")
		if _, err := s.st.GetConnection(context.Background(), "hmac", "u3"); err == nil {
			t.Error("a connection was stored")
		}
	})
}
