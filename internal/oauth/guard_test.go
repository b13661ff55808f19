package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// TestProviderCallsToConfigHostsAreGuarded checks that a token endpoint
// whose host comes from the connection config (which end users write in
// the popup URL) may not be on the server's own network: the exchange, the
// refresh, the client-credentials request and both OAuth 1 calls fail with
// ErrNonPublicHost before connecting, unless AllowPrivateNetworks. A host
// written in the template is the operator's and is not checked.
// Regression: an end user could make the server POST the client secret to
// http://127.0.0.1:<any port> (or the cloud metadata address) through
// params[host].
func TestProviderCallsToConfigHostsAreGuarded(t *testing.T) {
	p := newScripted(t, jsonReply(200, okToken))
	local := strings.TrimPrefix(p.URL, "http://") // 127.0.0.1:port
	port := local[strings.LastIndexByte(local, ':')+1:]
	configHost := func(mode provider.AuthMode) *provider.Template {
		return &provider.Template{Name: "cfg", AuthMode: mode,
			AuthorizationURL: "http://${connectionConfig.host}/authorize", TokenURL: "http://${connectionConfig.host}/token",
			RequestURL: "http://${connectionConfig.host}/request"}
	}
	literal := &provider.Template{Name: "lit", AuthMode: provider.OAuth2, AuthorizationURL: p.URL + "/authorize", TokenURL: p.URL + "/token", RequestURL: p.URL + "/request"}
	in := integ("cid", "the-client-secret")

	calls := map[string]func(c *Client, tmpl *provider.Template, cc map[string]any) error{
		"exchange": func(c *Client, tmpl *provider.Template, cc map[string]any) error {
			_, err := c.Exchange(context.Background(), ExchangeRequest{Template: tmpl, Integration: in, Code: "code", CallbackURL: "http://cb", ConnectionConfig: cc})
			return err
		},
		"refresh": func(c *Client, tmpl *provider.Template, cc map[string]any) error {
			_, err := c.Refresh(context.Background(), RefreshRequest{Template: tmpl, Integration: in,
				Connection: store.Connection{ConnectionConfig: cc, Credentials: store.Credentials{Type: store.OAuth2, RefreshToken: "rt"}}})
			return err
		},
		"client credentials": func(c *Client, tmpl *provider.Template, cc map[string]any) error {
			t2 := *tmpl
			t2.AuthMode = provider.OAuth2CC
			_, err := c.ClientCredentials(context.Background(), ClientCredentialsRequest{Template: &t2, Integration: in, ConnectionConfig: cc})
			return err
		},
		"oauth1 request token": func(c *Client, tmpl *provider.Template, cc map[string]any) error {
			t2 := *tmpl
			t2.AuthMode = provider.OAuth1
			_, err := c.RequestToken(context.Background(), OAuth1TokenRequest{Template: &t2, Integration: in, CallbackURL: "http://cb", ConnectionConfig: cc})
			return err
		},
		"oauth1 access token": func(c *Client, tmpl *provider.Template, cc map[string]any) error {
			t2 := *tmpl
			t2.AuthMode = provider.OAuth1
			_, err := c.AccessToken(context.Background(), OAuth1AccessRequest{Template: &t2, Integration: in, Token: "t", Verifier: "v", ConnectionConfig: cc})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			for _, host := range []string{local, "localhost:" + port, "[::1]:" + port, "0.0.0.0:" + port, "169.254.169.254"} {
				before := len(p.requests())
				err := call(testClient(), configHost(provider.OAuth2), map[string]any{"host": host})
				if !errors.Is(err, ErrNonPublicHost) {
					t.Errorf("host %s: err = %v, want ErrNonPublicHost", host, err)
				}
				var ce *ConfigError
				if !errors.As(err, &ce) || strings.Contains(err.Error(), "the-client-secret") {
					t.Errorf("host %s: err %v is not a *ConfigError without the secret", host, err)
				}
				if len(p.requests()) != before {
					t.Errorf("host %s: the local server was reached", host)
				}
			}
			// The operator allows private networks: the call goes out.
			allowed := testClient()
			allowed.AllowPrivateNetworks = true
			before := len(p.requests())
			_ = call(allowed, configHost(provider.OAuth2), map[string]any{"host": local})
			if len(p.requests()) != before+1 {
				t.Errorf("with AllowPrivateNetworks the call did not go out")
			}
			// A host written in the template is not checked.
			before = len(p.requests())
			_ = call(testClient(), literal, nil)
			if len(p.requests()) != before+1 {
				t.Errorf("a literal template host was refused")
			}
		})
	}
}

// TestGuardTransportWrapsOnce checks a client is wrapped once however
// often httpClient copies it (sendWith does).
func TestGuardTransportWrapsOnce(t *testing.T) {
	hc := guarded(&http.Client{}, nil)
	again := guarded(hc, nil)
	if _, ok := again.Transport.(guardTransport); !ok {
		t.Fatal("not guarded")
	}
	if g := again.Transport.(guardTransport); func() bool { _, nested := g.base.(guardTransport); return nested }() {
		t.Fatal("guardTransport wrapped twice")
	}
}

// TestNULValuesNotKept checks that metadata and connection config taken
// from a token response or a callback drop values holding a NUL character:
// PostgreSQL cannot store them, and a refresh whose write it refused would
// lose the provider's new (rotated) tokens.
func TestNULValuesNotKept(t *testing.T) {
	p := newScripted(t, jsonReply(200, `{"access_token":"at","refresh_token":"rt","instance_url":"https://x\u0000","team":{"id":"T\u0000"},"ok_value":"fine"}`))
	tmpl := &provider.Template{Name: "nul", AuthMode: provider.OAuth2, AuthorizationURL: p.URL + "/a", TokenURL: p.URL + "/token",
		TokenResponseMetadata: []string{"instance_url", "team.id", "ok_value"}, RedirectURIMetadata: []string{"realm"},
		ConnectionConfig: []provider.Field{{Name: "instance_url", Automated: true}, {Name: "realm", Automated: true}}}
	res, err := testClient().Exchange(context.Background(), ExchangeRequest{Template: tmpl, Integration: integ("id", "s"), Code: "c",
		CallbackURL: "http://cb", CallbackQuery: map[string][]string{"realm": {"r\x00"}}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range res.Metadata {
		if s, _ := v.(string); strings.ContainsRune(s, 0) {
			t.Errorf("metadata %s holds a NUL", k)
		}
	}
	for k, v := range res.ConnectionConfig {
		if s, _ := v.(string); strings.ContainsRune(s, 0) {
			t.Errorf("connection config %s holds a NUL", k)
		}
	}
	if res.Metadata["ok_value"] != "fine" {
		t.Errorf("a clean value was dropped: %v", res.Metadata)
	}
}
