package tokens_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// ccProvider is a client-credentials token endpoint: it checks the grant,
// the client authentication (Basic header or body), the scope and the
// tenant in the path, and issues short-lived tokens it remembers.
type ccProvider struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	n        int
	issued   map[string]bool
	last     url.Values
	lastAuth string
	lifetime int
	delay    time.Duration
	fail     int // status to answer with, 0 = none
}

func newCCProvider(t *testing.T) *ccProvider {
	p := &ccProvider{issued: map[string]bool{}, lifetime: 3600}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *ccProvider) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	time.Sleep(p.delay)
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last, p.lastAuth = form, r.Header.Get("Authorization")
	if p.fail != 0 {
		writeJSON(w, p.fail, map[string]any{"error": "invalid_client", "error_description": "client authentication failed"})
		return
	}
	id, sec := form.Get("client_id"), form.Get("client_secret")
	if h := r.Header.Get("Authorization"); h != "" {
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
		id, sec, _ = strings.Cut(string(raw), ":")
	}
	switch {
	case form.Get("grant_type") != "client_credentials":
		writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
	case !strings.HasPrefix(r.URL.Path, "/tenant-acme/"):
		writeJSON(w, 404, map[string]any{"error": "unknown tenant"})
	case sec != "secret-of-"+id:
		writeJSON(w, 401, map[string]any{"error": "invalid_client"})
	default:
		p.n++
		at := fmt.Sprintf("cc-%d-%s", p.n, secret.RandomToken(6))
		p.issued[at] = true
		writeJSON(w, 200, map[string]any{"access_token": at, "expires_in": p.lifetime, "token_type": "bearer", "instance_url": "https://acme.example"})
	}
}

func (p *ccProvider) works(at string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued[at]
}

func ccTemplates(base string) map[string]*provider.Template {
	return map[string]*provider.Template{
		"cc-basic": {Name: "cc-basic", AuthMode: provider.OAuth2CC, TokenURL: base + "/tenant-${connectionConfig.tenant}/token",
			TokenRequestAuthMethod: provider.TokenAuthBasic, ScopeSeparator: " ", BodyFormat: provider.BodyFormatForm,
			AuthorizationMethod: provider.AuthorizationMethodBody, TokenParams: provider.Params{{Name: "grant_type", Value: "client_credentials"}},
			TokenResponseMetadata: []string{"instance_url"}},
		"cc-body": {Name: "cc-body", AuthMode: provider.OAuth2CC, TokenURL: base + "/tenant-${connectionConfig.tenant}/token",
			ScopeSeparator: " ", BodyFormat: provider.BodyFormatForm, AuthorizationMethod: provider.AuthorizationMethodBody,
			Credentials: []provider.Field{{Name: "client_id"}, {Name: "client_secret"}}},
	}
}

func newCCEnv(t *testing.T, b backend) (*env, *ccProvider) {
	e := &env{t: t, open: b.newDB(t), prov: newProvider(t)}
	e.st = e.open(t)
	p := newCCProvider(t)
	e.tmpls = ccTemplates(p.URL)
	for _, in := range []store.Integration{
		{Key: "ccb", Provider: "cc-basic", ClientID: "app", ClientSecret: "secret-of-app", Scopes: "read,write"},
		{Key: "ccp", Provider: "cc-body", ClientID: "unused", ClientSecret: "unused"},
	} {
		if err := e.st.CreateIntegration(context.Background(), &in); err != nil {
			t.Fatal(err)
		}
	}
	return e, p
}

// issue creates a connection the way POST /connection does.
func issueCC(t *testing.T, svc *tokens.Service, st store.Store, key, id string, creds store.Credentials) store.Connection {
	t.Helper()
	c := store.Connection{ProviderConfigKey: key, ConnectionID: id, Credentials: creds, ConnectionConfig: map[string]any{"tenant": "acme"}}
	if err := svc.IssueClientCredentials(ctxT(t), key, &c); err != nil {
		t.Fatalf("IssueClientCredentials: %v", err)
	}
	if _, err := st.UpsertConnection(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientCredentialsIssueAndRefresh(t *testing.T) {
	e, p := newCCEnv(t, sqliteBackend)
	svc := e.service(nil, nil)

	t.Run("integration client, basic auth, scopes, metadata", func(t *testing.T) {
		c := issueCC(t, svc, e.st, "ccb", "c1", store.Credentials{})
		if c.Credentials.Type != store.OAuth2CC || !p.works(c.Credentials.AccessToken.Reveal()) || c.Credentials.ExpiresAt == nil {
			t.Fatalf("credentials = %+v", c.Credentials)
		}
		if p.lastAuth != "Basic "+base64.StdEncoding.EncodeToString([]byte("app:secret-of-app")) || p.last.Has("client_secret") {
			t.Errorf("client authentication: header %q, body %v (want Basic only)", p.lastAuth, p.last)
		}
		if p.last.Get("scope") != "read write" {
			t.Errorf("scope = %q", p.last.Get("scope"))
		}
		if c.Metadata["instance_url"] != "https://acme.example" {
			t.Errorf("metadata = %v", c.Metadata)
		}
		got, err := svc.Get(ctxT(t), "ccb", "c1", tokens.GetOptions{})
		if err != nil || got.Credentials.AccessToken != c.Credentials.AccessToken {
			t.Fatalf("Get of a fresh token: %v, %v", got.Credentials.AccessToken, err)
		}
		before := p.requests.Load()
		got, err = svc.Get(ctxT(t), "ccb", "c1", tokens.GetOptions{ForceRefresh: true})
		if err != nil || got.Credentials.AccessToken == c.Credentials.AccessToken || !p.works(got.Credentials.AccessToken.Reveal()) {
			t.Fatalf("forced Get: %v, %v", got.Credentials.AccessToken, err)
		}
		if p.requests.Load() != before+1 {
			t.Errorf("forced Get made %d token requests", p.requests.Load()-before)
		}
	})

	t.Run("per-connection client in the body", func(t *testing.T) {
		c := issueCC(t, svc, e.st, "ccp", "c2", store.Credentials{ClientID: "tenant-app", ClientSecret: "secret-of-tenant-app"})
		if p.last.Get("client_id") != "tenant-app" || p.lastAuth != "" || c.Credentials.ClientID != "tenant-app" {
			t.Fatalf("body %v, header %q, stored client %q", p.last, p.lastAuth, c.Credentials.ClientID)
		}
		// Expiring: the next Get obtains a new token with the stored client.
		if _, err := e.st.UpdateConnection(ctxT(t), "ccp", "c2", func(c *store.Connection) error {
			exp := time.Now().Add(time.Minute)
			c.Credentials.ExpiresAt = &exp
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Get(ctxT(t), "ccp", "c2", tokens.GetOptions{})
		if err != nil || got.Credentials.AccessToken == c.Credentials.AccessToken || got.Credentials.ClientSecret.Reveal() != "secret-of-tenant-app" {
			t.Fatalf("Get of an expiring token: %+v, %v", got.Credentials, err)
		}
	})

	t.Run("refused client: error, nothing stored; failure on refresh keeps the token", func(t *testing.T) {
		c := store.Connection{ProviderConfigKey: "ccp", ConnectionID: "bad", ConnectionConfig: map[string]any{"tenant": "acme"},
			Credentials: store.Credentials{ClientID: "x", ClientSecret: "wrong"}}
		err := svc.IssueClientCredentials(ctxT(t), "ccp", &c)
		var re *tokens.RefreshError
		if !errors.As(err, &re) || re.Kind != tokens.Rejected || re.Status != 401 {
			t.Fatalf("err = %v", err)
		}
		missing := store.Connection{ProviderConfigKey: "ccb", ConnectionID: "m"}
		if err := svc.IssueClientCredentials(ctxT(t), "ccb", &missing); !errors.As(err, &re) || !strings.Contains(re.Message, "tenant") {
			t.Fatalf("missing tenant: %v", err)
		}
		old := e.stored("ccb", "c1")
		p.mu.Lock()
		p.fail = 503
		p.mu.Unlock()
		defer func() { p.mu.Lock(); p.fail = 0; p.mu.Unlock() }()
		_, err = svc.Get(ctxT(t), "ccb", "c1", tokens.GetOptions{ForceRefresh: true})
		if !errors.As(err, &re) || re.Kind != tokens.Unavailable {
			t.Fatalf("err = %v", err)
		}
		now := e.stored("ccb", "c1")
		if now.Credentials.AccessToken != old.Credentials.AccessToken || now.RefreshFailures != 1 {
			t.Fatalf("after a failed refresh: token changed %v, failures %d", now.Credentials.AccessToken != old.Credentials.AccessToken, now.RefreshFailures)
		}
	})
}

// TestClientCredentialsConcurrentReadersTwoInstances: 50 concurrent Gets of
// an expiring OAUTH2_CC token split across two services on two store
// instances: exactly one token request per round, one token for all.
func TestClientCredentialsConcurrentReadersTwoInstances(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e, p := newCCEnv(t, b)
		p.delay = 100 * time.Millisecond
		svcs := []*tokens.Service{e.service(nil, nil), e.service(e.open(t), nil)}
		issueCC(t, svcs[0], e.st, "ccb", "c1", store.Credentials{})
		base := p.requests.Load()
		for round := 1; round <= 3; round++ {
			if _, err := e.st.UpdateConnection(ctxT(t), "ccb", "c1", func(c *store.Connection) error {
				exp := time.Now().Add(time.Minute)
				c.Credentials.ExpiresAt = &exp
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			seen := concurrentGets(t, 50, func(i int) *tokens.Service { return svcs[i%2] }, "ccb", "c1", false)
			if len(seen) != 1 {
				t.Fatalf("round %d: readers got %d different tokens, want 1", round, len(seen))
			}
			for at, n := range seen {
				if n != 50 || !p.works(at) {
					t.Fatalf("round %d: %d readers, provider accepts: %v", round, n, p.works(at))
				}
			}
			if got := p.requests.Load() - base; got != int64(round) {
				t.Fatalf("round %d: %d token requests in total, want %d", round, got, round)
			}
		}
	})
}
