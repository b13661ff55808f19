package connect

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/nango-go/nango/internal/store"
)

// ccServer is a provider with a client-credentials token endpoint (any
// path ending in a token route) and an API that accepts the tokens it
// issued. It answers personio's shape ({"data":{"token"}}) on /v1/auth.
type ccServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	issued map[string]bool
	token  []url.Values
	auth   []string
	n      int
}

func newCCServer(t *testing.T) *ccServer {
	cs := &ccServer{issued: map[string]bool{}}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			if !cs.issued[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
				http.Error(w, "bad token", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"api":true}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		v, err := url.ParseQuery(string(b))
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			var m map[string]string
			err = json.Unmarshal(b, &m)
			v = url.Values{}
			for k, x := range m {
				v.Set(k, x)
			}
		}
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		cs.token = append(cs.token, v)
		cs.auth = append(cs.auth, r.Header.Get("Authorization"))
		if v.Get("client_secret") == "wrong" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		cs.n++
		tok := "cc-token-" + string(rune('a'+cs.n))
		cs.issued[tok] = true
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/auth" {
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{"token": tok, "expires_in": 86400}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 3600, "token_type": "bearer"})
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func TestClientCredentialsConnectionsThroughAPIAndProxy(t *testing.T) {
	cs := newCCServer(t)
	cat := builtinRehosted(t, cs.srv.URL, []string{"spotify-oauth2-cc", "roller", "personio", "zoom-cc", "microsoft-oauth2-cc"}, "")
	s := newStack(t, "", []store.Integration{
		{Key: "spotify", Provider: "spotify-oauth2-cc", ClientID: "sp-id", ClientSecret: "sp-secret"},
		{Key: "roller", Provider: "roller", ClientID: "-", ClientSecret: "-"},
		{Key: "personio", Provider: "personio", ClientID: "pe-id", ClientSecret: "pe-secret"},
		{Key: "zoom", Provider: "zoom-cc", ClientID: "-", ClientSecret: "-"},
		{Key: "ms", Provider: "microsoft-oauth2-cc", ClientID: "ms-id", ClientSecret: "ms-secret", Scopes: "https://graph.microsoft.com/.default"},
	}, stackOptions{catalog: cat})

	tests := []struct {
		name, key string
		body      map[string]any
		check     func(t *testing.T, form url.Values, auth string)
	}{
		{"integration client, Basic header", "spotify", map[string]any{}, func(t *testing.T, f url.Values, auth string) {
			if auth != "Basic "+base64.StdEncoding.EncodeToString([]byte("sp-id:sp-secret")) || f.Get("grant_type") != "client_credentials" || f.Has("client_secret") {
				t.Errorf("form %v, auth %q", f, auth)
			}
		}},
		{"per-connection client, JSON body", "roller", map[string]any{"client_id": "ro-id", "client_secret": "ro-secret"}, func(t *testing.T, f url.Values, auth string) {
			if f.Get("client_id") != "ro-id" || f.Get("client_secret") != "ro-secret" || auth != "" {
				t.Errorf("form %v, auth %q", f, auth)
			}
		}},
		{"token under data.token", "personio", map[string]any{"connection_config": map[string]any{"partnerId": "p1", "appId": "a1"}}, func(t *testing.T, f url.Values, auth string) {
			if f.Get("client_id") != "pe-id" {
				t.Errorf("form %v", f)
			}
		}},
		{"account_credentials grant with a config value", "zoom", map[string]any{"client_id": "zo-id", "client_secret": "zo-secret", "connection_config": map[string]any{"accountId": "acc-1"}},
			func(t *testing.T, f url.Values, auth string) {
				if f.Get("grant_type") != "account_credentials" || f.Get("account_id") != "acc-1" || auth != "Basic "+base64.StdEncoding.EncodeToString([]byte("zo-id:zo-secret")) {
					t.Errorf("form %v, auth %q", f, auth)
				}
			}},
		{"tenant in the URL, integration scopes", "ms", map[string]any{"connection_config": map[string]any{"tenantId": "t-1"}}, func(t *testing.T, f url.Values, auth string) {
			if f.Get("scope") != "https://graph.microsoft.com/.default" || f.Get("client_secret") != "ms-secret" {
				t.Errorf("form %v", f)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"connection_id": "c-" + tc.key, "provider_config_key": tc.key}
			for k, v := range tc.body {
				body[k] = v
			}
			r := s.do("POST", "/connection", body, nil)
			if r.status != http.StatusCreated {
				t.Fatalf("POST /connection: %d %s", r.status, r.body)
			}
			cs.mu.Lock()
			tc.check(t, cs.token[len(cs.token)-1], cs.auth[len(cs.auth)-1])
			cs.mu.Unlock()
			c := s.connection(tc.key, "c-"+tc.key)
			cr := c["credentials"].(map[string]any)
			tok, _ := cr["token"].(string)
			if cr["type"] != "OAUTH2_CC" || !strings.HasPrefix(tok, "cc-token-") || cr["expires_at"] == nil {
				t.Fatalf("credentials = %v", cr)
			}
			// A forced read obtains a new token; the proxy uses the current one.
			r = s.do("GET", "/connection/c-"+tc.key+"?provider_config_key="+tc.key+"&force_refresh=true", nil, nil)
			if r.status != 200 || r.json(t)["credentials"].(map[string]any)["token"] == tok {
				t.Fatalf("forced refresh: %d %s", r.status, r.body)
			}
			pr := s.proxyCall("GET", tc.key, "c-"+tc.key, "/anything", "", nil)
			if pr.status != http.StatusOK || !strings.Contains(string(pr.body), `"api":true`) {
				t.Fatalf("proxy: %d %s", pr.status, pr.body)
			}
		})
	}

	t.Run("refused client", func(t *testing.T) {
		r := s.do("POST", "/connection", map[string]any{"connection_id": "bad", "provider_config_key": "roller", "client_id": "x", "client_secret": "wrong"}, nil)
		if r.status != http.StatusBadRequest || r.json(t)["type"] != "client_credentials_error" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), "wrong") {
			t.Error("the answer echoes the secret")
		}
		if got := s.do("GET", "/connection/bad?provider_config_key=roller", nil, nil); got.status != http.StatusBadRequest {
			t.Errorf("a refused connection was stored: %d", got.status)
		}
	})

	t.Run("missing config value", func(t *testing.T) {
		r := s.do("POST", "/connection", map[string]any{"connection_id": "nozoom", "provider_config_key": "zoom", "client_id": "a", "client_secret": "b"}, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "accountId") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	t.Run("imported token is kept", func(t *testing.T) {
		r := s.do("POST", "/connection", map[string]any{"connection_id": "imp", "provider_config_key": "spotify", "access_token": "given", "expires_in": 7200}, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if tok := s.connection("spotify", "imp")["credentials"].(map[string]any)["token"]; tok != "given" {
			t.Fatalf("token = %v", tok)
		}
	})
}
