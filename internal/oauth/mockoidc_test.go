package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// authorize drives mockoidc's authorization endpoint as a browser would
// and returns the code and state of the redirect to the callback.
func authorize(t *testing.T, authURL, callback string) (code, state string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := url.Parse(callback)
	if loc.Host != cb.Host || loc.Path != cb.Path {
		t.Fatalf("redirected to %s, want the callback %s", loc.Redacted(), callback)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// userinfo reports the status of mockoidc's userinfo endpoint called with
// the access token: 200 proves the provider accepts it.
func userinfo(t *testing.T, m *mockoidc.MockOIDC, token secret.String) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.UserinfoEndpoint(), nil)
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestMockOIDCAuthorizationCodePKCEAndRefresh(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	cfg := m.Config()
	tmpl := &provider.Template{
		Name: "mockoidc", AuthMode: provider.OAuth2,
		AuthorizationURL: m.AuthorizationEndpoint(), TokenURL: m.TokenEndpoint(),
		ScopeSeparator: " ", AuthorizationMethod: provider.AuthorizationMethodBody, BodyFormat: provider.BodyFormatForm,
	}
	in := store.Integration{Key: "oidc", Provider: "mockoidc", ClientID: cfg.ClientID, ClientSecret: secret.String(cfg.ClientSecret), Scopes: "openid,email,profile"}
	const callback = "http://127.0.0.1:9/oauth/callback"
	ctx := context.Background()
	client := &oauth.Client{Timeout: 10 * time.Second}

	start := func(verifier secret.String) (code string) {
		t.Helper()
		u, err := oauth.AuthorizationURL(oauth.AuthRequest{Template: tmpl, ClientID: in.ClientID, Scopes: in.Scopes, CallbackURL: callback, State: "state-1", CodeVerifier: verifier})
		if err != nil {
			t.Fatal(err)
		}
		code, state := authorize(t, u, callback)
		if state != "state-1" || code == "" {
			t.Fatalf("callback state %q code %q", state, code)
		}
		return code
	}

	verifier := oauth.NewCodeVerifier()
	code := start(verifier)
	res, err := client.Exchange(ctx, oauth.ExchangeRequest{Template: tmpl, Integration: in, Code: code, CodeVerifier: verifier, CallbackURL: callback})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	creds := res.Credentials
	if creds.AccessToken.IsZero() || creds.RefreshToken.IsZero() {
		t.Fatalf("exchange gave no access or refresh token")
	}
	// mockoidc writes expires_in in nanoseconds; the JWT's exp is used.
	if creds.ExpiresAt == nil || creds.ExpiresAt.Sub(m.Now()) > cfg.AccessTTL+time.Minute || creds.ExpiresAt.Before(m.Now()) {
		t.Errorf("expires_at %v, want about now + %v", creds.ExpiresAt, cfg.AccessTTL)
	}
	if st := userinfo(t, m, creds.AccessToken); st != http.StatusOK {
		t.Fatalf("provider refused the exchanged token: %d", st)
	}

	// The code is single use.
	_, err = client.Exchange(ctx, oauth.ExchangeRequest{Template: tmpl, Integration: in, Code: code, CodeVerifier: verifier, CallbackURL: callback})
	var pe *oauth.ProviderError
	if !errors.As(err, &pe) || !pe.InvalidGrant() {
		t.Fatalf("reused code: err = %v, want invalid_grant", err)
	}

	// A wrong verifier fails PKCE.
	code2 := start(verifier)
	_, err = client.Exchange(ctx, oauth.ExchangeRequest{Template: tmpl, Integration: in, Code: code2, CodeVerifier: oauth.NewCodeVerifier(), CallbackURL: callback})
	if !errors.As(err, &pe) || !pe.InvalidGrant() {
		t.Fatalf("wrong verifier: err = %v, want invalid_grant", err)
	}

	// Refresh.
	m.FastForward(2 * time.Second) // a new iat, so a new token
	conn := store.Connection{ProviderConfigKey: "oidc", ConnectionID: "u1", Credentials: creds}
	ref, err := client.Refresh(ctx, oauth.RefreshRequest{Template: tmpl, Integration: in, Connection: conn})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if ref.Credentials.AccessToken == creds.AccessToken {
		t.Errorf("refresh returned the same access token")
	}
	if ref.Credentials.RefreshToken != creds.RefreshToken {
		t.Errorf("refresh token changed although the response kept it")
	}
	if st := userinfo(t, m, ref.Credentials.AccessToken); st != http.StatusOK {
		t.Fatalf("provider refused the refreshed token: %d", st)
	}

	// A wrong client secret is the provider's refusal, with no secret in it.
	bad := in
	bad.ClientSecret = "wrong-secret-value"
	_, err = client.Refresh(ctx, oauth.RefreshRequest{Template: tmpl, Integration: bad, Connection: conn})
	if !errors.As(err, &pe) || pe.Code != "invalid_client" {
		t.Fatalf("wrong secret: err = %v, want invalid_client", err)
	}
}
