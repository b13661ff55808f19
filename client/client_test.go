package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/client"
	"github.com/nango-go/nango/internal/store"
)

// wantAPIError checks that err is an *APIError with that status and type.
func wantAPIError(t *testing.T, err error, status int, typ string) *client.APIError {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *client.APIError %s", err, err, typ)
	}
	if e.Status != status || e.Type != typ || e.Message == "" {
		t.Fatalf("APIError = %+v, want status %d type %s with a message", e, status, typ)
	}
	if !client.IsType(err, typ) {
		t.Errorf("IsType(%q) = false", typ)
	}
	return e
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "plain", in: "http://localhost:3003", want: "http://localhost:3003"},
		{name: "trailing slash removed", in: "http://localhost:3003/", want: "http://localhost:3003"},
		{name: "path kept", in: "https://example.com/nango/", want: "https://example.com/nango"},
		{name: "no scheme", in: "localhost:3003", bad: true},
		{name: "ftp", in: "ftp://example.com", bad: true},
		{name: "empty", in: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.in)
			if tt.bad {
				if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
					t.Fatalf("New(%q) = %v, want an error", tt.in, err)
				}
				return
			}
			if err != nil || c.BaseURL() != tt.want {
				t.Fatalf("New(%q) = %v, %v; want %s", tt.in, c, err, tt.want)
			}
		})
	}
}

// The client under a path prefix (a server behind a reverse proxy) builds
// its URLs under that prefix, escaping each segment.
func TestBasePathAndEscaping(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RawPath+"|"+r.URL.Path+"?"+r.URL.RawQuery)
		_, _ = w.Write([]byte(`{"config":{"unique_key":"a/b"},"credentials":{"type":"API_KEY","apiKey":"k"}}`))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL + "/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.GetIntegration(ctx, "a/b c"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetConnection(ctx, "k?", "user#1", true); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/prefix/config/a%2Fb%20c|/prefix/config/a/b c?",
		"|/prefix/connection/user#1?force_refresh=true&provider_config_key=k%3F",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestSecretKeyAuth(t *testing.T) {
	s := startAPIServer(t, map[string]string{"NANGO_SECRET_KEY": "sk-1"})
	ctx := context.Background()
	tests := []struct {
		name     string
		opts     []client.Option
		wantType string
	}{
		{name: "basic", opts: []client.Option{client.WithSecretKey("sk-1")}},
		{name: "bearer", opts: []client.Option{client.WithSecretKey("sk-1"), client.WithAuthScheme(client.Bearer)}},
		{name: "no key", wantType: "missing_auth_header"},
		{name: "wrong key", opts: []client.Option{client.WithSecretKey("sk-2")}, wantType: "invalid_secret_key"},
		{name: "wrong bearer", opts: []client.Option{client.WithSecretKey("sk-2"), client.WithAuthScheme(client.Bearer)}, wantType: "invalid_secret_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newAPIClient(t, s, tt.opts...)
			list, err := c.ListIntegrations(ctx)
			if tt.wantType == "" {
				if err != nil || list == nil {
					t.Fatalf("ListIntegrations = %v, %v", list, err)
				}
				return
			}
			wantAPIError(t, err, http.StatusUnauthorized, tt.wantType)
		})
	}
}

// The options reach the wire: the given *http.Client carries every
// request, with the User-Agent.
func TestHTTPClientAndUserAgent(t *testing.T) {
	s := startAPIServer(t, nil)
	rt := &recordingTransport{}
	c := newAPIClient(t, s, client.WithHTTPClient(&http.Client{Transport: rt}), client.WithUserAgent("my-app/1.0"))
	if _, err := c.ListConnections(context.Background(), client.ConnectionFilter{}); err != nil {
		t.Fatal(err)
	}
	if len(rt.reqs) != 1 || rt.reqs[0].Header.Get("User-Agent") != "my-app/1.0" || rt.reqs[0].Header.Get("Authorization") != "" {
		t.Fatalf("requests = %+v", rt.reqs)
	}
}

type recordingTransport struct{ reqs []*http.Request }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.reqs = append(r.reqs, req)
	return http.DefaultTransport.RoundTrip(req)
}

func TestIntegrations(t *testing.T) {
	s := startAPIServer(t, nil)
	c := newAPIClient(t, s)
	ctx := context.Background()

	id, err := c.CreateIntegration(ctx, client.IntegrationInput{
		ProviderConfigKey: "gh", Provider: "github", OAuthClientID: "Iv1.1", OAuthClientSecret: "shh", OAuthScopes: "repo user",
	})
	if err != nil || id <= 0 {
		t.Fatalf("CreateIntegration = %d, %v", id, err)
	}
	got, err := c.GetIntegration(ctx, "gh")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.UniqueKey != "gh" || got.Provider != "github" || got.OAuthClientID != "Iv1.1" ||
		got.OAuthClientSecret != "shh" || got.OAuthScopes != "repo,user" || got.CreatedAt.IsZero() {
		t.Errorf("GetIntegration = %+v", got)
	}
	if err := c.UpdateIntegration(ctx, client.IntegrationInput{
		ProviderConfigKey: "gh", Provider: "github", OAuthClientID: "Iv1.2", OAuthClientSecret: "shh2", OAuthScopes: "gist",
	}); err != nil {
		t.Fatal(err)
	}
	in, err := s.srv.Store().GetIntegration(ctx, "gh")
	if err != nil || in.ClientID != "Iv1.2" || in.ClientSecret.Reveal() != "shh2" || in.Scopes != "gist" {
		t.Fatalf("stored after update = %+v, %v", in, err)
	}
	list, err := c.ListIntegrations(ctx)
	if err != nil || len(list) != 1 || list[0].UniqueKey != "gh" || list[0].OAuthClientID != "Iv1.2" {
		t.Fatalf("ListIntegrations = %+v, %v", list, err)
	}
	if err := c.DeleteIntegration(ctx, "gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.srv.Store().GetIntegration(ctx, "gh"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stored after delete: %v", err)
	}
	if err := c.DeleteIntegration(ctx, "gh"); err != nil {
		t.Fatalf("deleting an absent integration: %v", err)
	}
	if list, err := c.ListIntegrations(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty ListIntegrations = %#v, %v", list, err)
	}
}

func TestIntegrationErrors(t *testing.T) {
	s := startAPIServer(t, nil)
	c := newAPIClient(t, s)
	ctx := context.Background()
	ok := client.IntegrationInput{ProviderConfigKey: "gh", Provider: "github", OAuthClientID: "i", OAuthClientSecret: "s"}
	if _, err := c.CreateIntegration(ctx, ok); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		typ  string
	}{
		{"duplicate", func() error { _, err := c.CreateIntegration(ctx, ok); return err }, "duplicate_provider_config"},
		{"missing key", func() error {
			_, err := c.CreateIntegration(ctx, client.IntegrationInput{Provider: "github"})
			return err
		}, "missing_provider_config"},
		{"missing provider", func() error {
			_, err := c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "x"})
			return err
		}, "missing_provider_template"},
		{"unknown template", func() error {
			_, err := c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "x", Provider: "no-such-template"})
			return err
		}, "unknown_provider_template"},
		{"missing client id", func() error {
			_, err := c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "x", Provider: "github", OAuthClientSecret: "s"})
			return err
		}, "missing_client_id"},
		{"missing client secret", func() error {
			_, err := c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "x", Provider: "github", OAuthClientID: "i"})
			return err
		}, "missing_client_secret"},
		{"get unknown", func() error { _, err := c.GetIntegration(ctx, "nope"); return err }, "unknown_provider_config"},
		{"update unknown", func() error {
			return c.UpdateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "nope", Provider: "github", OAuthClientID: "i", OAuthClientSecret: "s"})
		}, "unknown_provider_config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, tt.call(), http.StatusBadRequest, tt.typ)
		})
	}
	// Nothing of the refused calls was stored.
	list, err := s.srv.Store().ListIntegrations(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("stored integrations = %d, %v", len(list), err)
	}
}

func TestImportAndReadEveryAuthMode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exp := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Millisecond)
	tests := []struct {
		name      string
		in        client.ImportConnectionInput
		wantToken client.Token
		wantMode  store.AuthMode
	}{
		{
			name:      "oauth2",
			in:        client.ImportConnectionInput{ProviderConfigKey: "oauth2", ConnectionID: "u1", AccessToken: "at-1", RefreshToken: "rt-1", ExpiresAt: exp, Metadata: map[string]any{"team": "a"}, ConnectionConfig: map[string]any{"subdomain": "acme"}},
			wantToken: client.OAuth2Token{Mode: client.ModeOAuth2, AccessToken: "at-1", Expiry: exp},
			wantMode:  store.OAuth2,
		},
		{
			name:      "oauth2 cc",
			in:        client.ImportConnectionInput{ProviderConfigKey: "cc", ConnectionID: "u1", AccessToken: "cc-1", ExpiresAt: exp},
			wantToken: client.OAuth2Token{Mode: client.ModeOAuth2CC, AccessToken: "cc-1", Expiry: exp},
			wantMode:  store.OAuth2CC,
		},
		{
			name:      "oauth1",
			in:        client.ImportConnectionInput{ProviderConfigKey: "oauth1", ConnectionID: "u1", OAuthToken: "ot", OAuthTokenSecret: "ots"},
			wantToken: client.OAuth1Token{Token: "ot", Secret: "ots"},
			wantMode:  store.OAuth1,
		},
		{
			name:      "api key",
			in:        client.ImportConnectionInput{ProviderConfigKey: "apikey", ConnectionID: "u1", APIKey: "key-1"},
			wantToken: client.APIKeyToken{APIKey: "key-1"},
			wantMode:  store.APIKey,
		},
		{
			name:      "basic with empty password",
			in:        client.ImportConnectionInput{ProviderConfigKey: "basic", ConnectionID: "u1", Username: "sk_live_1"},
			wantToken: client.BasicToken{Username: "sk_live_1"},
			wantMode:  store.Basic,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.c.ImportConnection(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.ConnectionID != "u1" || got.ProviderConfigKey != tt.in.ProviderConfigKey || string(got.Credentials.Type) != string(tt.wantMode) {
				t.Errorf("ImportConnection = %+v", got)
			}
			stored, err := f.srv.srv.Store().GetConnection(ctx, tt.in.ProviderConfigKey, "u1")
			if err != nil || stored.Credentials.Type != tt.wantMode {
				t.Fatalf("stored = %+v, %v", stored, err)
			}
			tok, err := f.c.Token(ctx, tt.in.ProviderConfigKey, "u1", false)
			if err != nil {
				t.Fatal(err)
			}
			if !tokensEqual(tok, tt.wantToken) {
				t.Errorf("Token = %#v (%T), want %#v", tok, tok, tt.wantToken)
			}
			if tok.AuthMode() != client.AuthMode(tt.wantMode) {
				t.Errorf("AuthMode = %s", tok.AuthMode())
			}
			conn, err := f.c.GetConnection(ctx, tt.in.ProviderConfigKey, "u1", false)
			if err != nil {
				t.Fatal(err)
			}
			if conn.ID != stored.ID || conn.CreatedAt.IsZero() || conn.UpdatedAt.IsZero() {
				t.Errorf("GetConnection = %+v", conn)
			}
		})
	}

	conn, err := f.c.GetConnection(ctx, "oauth2", "u1", false)
	if err != nil {
		t.Fatal(err)
	}
	cr := conn.Credentials
	if cr.AccessToken != "at-1" || cr.RefreshToken != "rt-1" || cr.ExpiresAt == nil || !cr.ExpiresAt.Equal(exp) ||
		conn.Metadata["team"] != "a" || conn.ConnectionConfig["subdomain"] != "acme" || cr.Raw["access_token"] != "at-1" {
		t.Errorf("oauth2 connection = %+v / %+v", conn, cr)
	}
	// Credentials encode back to the server's shape.
	for key, want := range map[string][]string{
		"cc":     {`"type":"OAUTH2_CC"`, `"token":"cc-1"`},
		"basic":  {`"username":"sk_live_1"`, `"password":""`},
		"apikey": {`"apiKey":"key-1"`},
	} {
		conn, err := f.c.GetConnection(ctx, key, "u1", false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(conn.Credentials)
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("%s credentials JSON %s lacks %s", key, b, w)
			}
		}
	}

	// Re-importing replaces the credentials and keeps what the body leaves out.
	if _, err := f.c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "oauth2", ConnectionID: "u1", AccessToken: "at-9", ExpiresIn: 90 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	stored, err := f.srv.srv.Store().GetConnection(ctx, "oauth2", "u1")
	if err != nil || stored.Credentials.AccessToken.Reveal() != "at-9" || stored.Metadata["team"] != "a" || stored.Credentials.ExpiresAt == nil ||
		time.Until(*stored.Credentials.ExpiresAt) < 85*time.Minute || time.Until(*stored.Credentials.ExpiresAt) > 95*time.Minute {
		t.Fatalf("after re-import: %+v, %v", stored.Credentials.ExpiresAt, err)
	}
}

// Without an access token, the server obtains an OAUTH2_CC connection's
// first token itself, with the connection's own client credentials when
// given, else the integration's.
func TestImportClientCredentialsWithoutToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conn, err := f.c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "cc", ConnectionID: "own", ClientID: "conn-cid", ClientSecret: "conn-secret"})
	if err != nil {
		t.Fatal(err)
	}
	cr := conn.Credentials
	if cr.Type != client.ModeOAuth2CC || cr.AccessToken != "cc-issued-conn-cid-1" || cr.ClientID != "conn-cid" || cr.ClientSecret != "conn-secret" || cr.ExpiresAt == nil {
		t.Fatalf("imported = %+v / %s %s", cr, cr.AccessToken, cr.ClientID)
	}
	b, _ := json.Marshal(cr)
	if !bytes.Contains(b, []byte(`"token":"cc-issued-conn-cid-1"`)) || !bytes.Contains(b, []byte(`"client_id":"conn-cid"`)) {
		t.Errorf("credentials JSON = %s", b)
	}
	stored, err := f.srv.srv.Store().GetConnection(ctx, "cc", "own")
	if err != nil || stored.Credentials.AccessToken.Reveal() != "cc-issued-conn-cid-1" || stored.Credentials.ClientSecret.Reveal() != "conn-secret" {
		t.Fatalf("stored = %v", err)
	}
	_, err = f.c.Token(ctx, "cc", "shared", false)
	wantAPIError(t, err, http.StatusBadRequest, "unkown_connection")
	if _, err := f.c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "cc", ConnectionID: "shared"}); err != nil {
		t.Fatal(err)
	}
	tok, err := f.c.Token(ctx, "cc", "shared", false)
	if err != nil || tok.(client.OAuth2Token).AccessToken != "cc-issued-cid-2" || tok.AuthMode() != client.ModeOAuth2CC {
		t.Fatalf("Token = %v, %v", tok, err)
	}
}

func tokensEqual(a, b client.Token) bool {
	x, ok1 := a.(client.OAuth2Token)
	y, ok2 := b.(client.OAuth2Token)
	if ok1 && ok2 {
		return x.Mode == y.Mode && x.AccessToken == y.AccessToken && x.Expiry.Equal(y.Expiry)
	}
	return a == b
}

func TestImportErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		in   client.ImportConnectionInput
		typ  string
	}{
		{"no connection id", client.ImportConnectionInput{ProviderConfigKey: "oauth2", AccessToken: "a"}, "missing_connection"},
		{"no integration", client.ImportConnectionInput{ConnectionID: "u", AccessToken: "a"}, "missing_provider_config"},
		{"unknown integration", client.ImportConnectionInput{ProviderConfigKey: "nope", ConnectionID: "u", AccessToken: "a"}, "unknown_provider_config"},
		{"oauth2 without token", client.ImportConnectionInput{ProviderConfigKey: "oauth2", ConnectionID: "u", RefreshToken: "r"}, "missing_access_token"},
		{"oauth1 without token", client.ImportConnectionInput{ProviderConfigKey: "oauth1", ConnectionID: "u", OAuthTokenSecret: "s"}, "missing_oauth_token"},
		{"oauth1 without secret", client.ImportConnectionInput{ProviderConfigKey: "oauth1", ConnectionID: "u", OAuthToken: "t"}, "missing_oauth_token_secret"},
		{"basic without username", client.ImportConnectionInput{ProviderConfigKey: "basic", ConnectionID: "u", Password: "p"}, "missing_basic_username"},
		{"api key without key", client.ImportConnectionInput{ProviderConfigKey: "apikey", ConnectionID: "u"}, "missing_api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.ImportConnection(ctx, tt.in)
			wantAPIError(t, err, http.StatusBadRequest, tt.typ)
		})
	}
	page, err := f.srv.srv.Store().ListConnections(ctx, store.ConnectionFilter{})
	if err != nil || len(page.Connections) != 0 {
		t.Fatalf("stored connections after refused imports = %d, %v", len(page.Connections), err)
	}
}

func TestListAndDeleteConnections(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, in := range []client.ImportConnectionInput{
		{ProviderConfigKey: "apikey", ConnectionID: "u1", APIKey: "k1"},
		{ProviderConfigKey: "apikey", ConnectionID: "u2", APIKey: "k2"},
		{ProviderConfigKey: "basic", ConnectionID: "u1", Username: "b"},
	} {
		if _, err := f.c.ImportConnection(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		filter client.ConnectionFilter
		want   []string // provider/connection, newest first
	}{
		{"all", client.ConnectionFilter{}, []string{"basic/u1", "apikey/u2", "apikey/u1"}},
		{"by id", client.ConnectionFilter{ConnectionID: "u1"}, []string{"basic/u1", "apikey/u1"}},
		{"no match", client.ConnectionFilter{ConnectionID: "zz"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := f.c.ListConnections(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, c := range list {
				if c.ID == 0 || c.Created.IsZero() {
					t.Errorf("summary = %+v", c)
				}
				got = append(got, c.ProviderConfigKey+"/"+c.ConnectionID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListConnections = %v, want %v", got, tt.want)
			}
		})
	}

	if err := f.c.DeleteConnection(ctx, "apikey", "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.srv.Store().GetConnection(ctx, "apikey", "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stored after delete: %v", err)
	}
	if _, err := f.srv.srv.Store().GetConnection(ctx, "basic", "u1"); err != nil {
		t.Fatalf("other integration's u1 was deleted: %v", err)
	}
	wantAPIError(t, f.c.DeleteConnection(ctx, "apikey", "u1"), http.StatusBadRequest, "unkown_connection")
	_, err := f.c.GetConnection(ctx, "apikey", "u1", false)
	wantAPIError(t, err, http.StatusBadRequest, "unkown_connection")
	_, err = f.c.Token(ctx, "apikey", "u1", true)
	wantAPIError(t, err, http.StatusBadRequest, "unkown_connection")
	_, err = f.c.GetConnection(ctx, "", "u1", false)
	wantAPIError(t, err, http.StatusBadRequest, "missing_provider_config")
}

// Forcing a refresh goes to the provider with the stored refresh token;
// a refusal is an *APIError with the provider's message in its payload,
// and the stored credentials are kept.
func TestForceRefreshAndRefreshError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exp := time.Now().Add(2 * time.Hour)
	if _, err := f.c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "oauth2", ConnectionID: "u", AccessToken: "at-0", RefreshToken: "rt-0", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	tok, err := f.c.Token(ctx, "oauth2", "u", false)
	if err != nil || tok.(client.OAuth2Token).AccessToken != "at-0" || f.provider.refreshes.Load() != 0 {
		t.Fatalf("unforced Token = %v, %v (refreshes %d)", tok, err, f.provider.refreshes.Load())
	}
	tok, err = f.c.Token(ctx, "oauth2", "u", true)
	if err != nil || tok.(client.OAuth2Token).AccessToken != "at-refreshed-1" {
		t.Fatalf("forced Token = %v, %v", tok, err)
	}
	if rts := f.provider.refreshTokens(); !reflect.DeepEqual(rts, []string{"rt-0"}) {
		t.Errorf("provider saw refresh tokens %v", rts)
	}

	f.provider.refuse(true)
	_, err = f.c.GetConnection(ctx, "oauth2", "u", true)
	e := wantAPIError(t, err, http.StatusBadRequest, "refresh_token_external_error")
	if msg, _ := e.Payload["external_message"].(string); !strings.Contains(msg, "invalid_grant") && !strings.Contains(msg, "revoked") {
		t.Errorf("payload = %v", e.Payload)
	}
	if strings.Contains(e.Error(), "rt-1") || !strings.Contains(e.Error(), "refresh_token_external_error") {
		t.Errorf("Error() = %q", e.Error())
	}
	stored, err := f.srv.srv.Store().GetConnection(ctx, "oauth2", "u")
	if err != nil || stored.Credentials.AccessToken.Reveal() != "at-refreshed-1" || stored.Credentials.RefreshToken.Reveal() != "rt-1" {
		t.Fatalf("stored after refused refresh = %v", err)
	}
}

// Errors that are not the server's envelope (a reverse proxy's page, a
// gateway timeout) still come back as *APIError with their status.
func TestNonEnvelopeErrors(t *testing.T) {
	long := strings.Repeat("x", 500)
	tests := []struct {
		name, body string
		status     int
		wantMsg    string
	}{
		{"text", "upstream connect error", http.StatusBadGateway, "upstream connect error"},
		{"empty", "", http.StatusServiceUnavailable, "Service Unavailable"},
		{"long html clipped", long, http.StatusBadGateway, strings.Repeat("x", 200) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := client.New(srv.URL)
			_, err := c.ListIntegrations(context.Background())
			var e *client.APIError
			if !errors.As(err, &e) || e.Status != tt.status || e.Type != "" {
				t.Fatalf("err = %#v", err)
			}
			if !strings.Contains(e.Error(), tt.wantMsg) || !strings.Contains(e.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.wantMsg)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	s := startAPIServer(t, nil)
	c := newAPIClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListConnections(ctx, client.ConnectionFilter{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// Printing or logging credentials and tokens never shows a secret.
func TestSecretsRedacted(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	values := []any{
		client.Credentials{Type: client.ModeOAuth2, AccessToken: "SECRET1", RefreshToken: "SECRET2", Raw: map[string]any{"access_token": "SECRET1"}, ExpiresAt: &exp},
		client.Credentials{Type: client.ModeBasic, Username: "u", Password: "SECRET3"},
		client.Connection{ConnectionID: "u", Credentials: client.Credentials{Type: client.ModeAPIKey, APIKey: "SECRET4"}},
		client.OAuth2Token{AccessToken: "SECRET5", Expiry: exp},
		client.OAuth1Token{Token: "SECRET6", Secret: "SECRET7"},
		client.APIKeyToken{APIKey: "SECRET8"},
		client.BasicToken{Username: "u", Password: "SECRET9"},
		client.ImportConnectionInput{ConnectionID: "u", AccessToken: "SECRET10", Password: "SECRET11"},
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "SECRET") {
				t.Errorf("%s of %T = %s", verb, v, out)
			}
		}
		if lv, ok := v.(slog.LogValuer); ok {
			log.Info("x", "v", lv)
		}
	}
	if strings.Contains(logs.String(), "SECRET") || !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("logs = %s", logs.String())
	}
}
