package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
)

const testVerifier = secret.String("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")

// RFC 7636 Appendix B.
const testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

func TestCodeChallengeRFC7636(t *testing.T) {
	if got := CodeChallenge(testVerifier); got != testChallenge {
		t.Fatalf("CodeChallenge = %q, want %q", got, testChallenge)
	}
}

func TestNewCodeVerifier(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := NewCodeVerifier().Reveal()
		if len(v) < 43 || len(v) > 128 {
			t.Fatalf("verifier length %d", len(v))
		}
		for _, c := range v {
			if !(isAlnum(byte(c)) || strings.ContainsRune("-._~", c)) {
				t.Fatalf("verifier %q has %q outside the unreserved set", v, c)
			}
		}
		if seen[v] {
			t.Fatalf("verifier repeated")
		}
		seen[v] = true
	}
}

func TestAuthorizationURL(t *testing.T) {
	const cb = "http://localhost:3003/oauth/callback"
	tests := []struct {
		name   string
		tmpl   provider.Template
		scopes string
		cc     map[string]any
		want   string
	}{
		{
			name:   "github example of SPEC §3.2",
			tmpl:   provider.Template{AuthorizationURL: "https://github.com/login/oauth/authorize", TokenURL: "https://github.com/login/oauth/access_token"},
			scopes: "repo,user",
			want:   "https://github.com/login/oauth/authorize?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=repo+user&state=st-1&code_challenge=" + testChallenge + "&code_challenge_method=S256",
		},
		{
			name:   "comma separator is form-encoded",
			tmpl:   provider.Template{AuthorizationURL: "https://linear.app/oauth/authorize", TokenURL: "https://api.linear.app/oauth/token", ScopeSeparator: ",", DisablePKCE: true},
			scopes: "read,write",
			want:   "https://linear.app/oauth/authorize?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=read%2Cwrite&state=st-1",
		},
		{
			name:   "plus separator is %2B on the wire (squareup)",
			tmpl:   provider.Template{AuthorizationURL: "https://connect.squareup.com/oauth2/authorize", TokenURL: "https://connect.squareup.com/oauth2/token", ScopeSeparator: "+", DisablePKCE: true},
			scopes: "MERCHANT_PROFILE_READ,PAYMENTS_READ",
			want:   "https://connect.squareup.com/oauth2/authorize?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=MERCHANT_PROFILE_READ%2BPAYMENTS_READ&state=st-1",
		},
		{
			name:   "empty scope is present; empty scope items dropped",
			tmpl:   provider.Template{AuthorizationURL: "https://x.example/auth", TokenURL: "https://x.example/token", DisablePKCE: true},
			scopes: "",
			want:   "https://x.example/auth?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=&state=st-1",
		},
		{
			name: "authorization_params replace response_type in place and append, template query dropped",
			tmpl: provider.Template{
				AuthorizationURL:    "https://accounts.google.com/o/oauth2/v2/auth?dropped=1",
				TokenURL:            "https://oauth2.googleapis.com/token",
				AuthorizationParams: provider.Params{{Name: "response_type", Value: "code id_token"}, {Name: "access_type", Value: "offline"}, {Name: "prompt", Value: "consent"}},
			},
			scopes: "openid,https://www.googleapis.com/auth/gmail.readonly",
			want:   "https://accounts.google.com/o/oauth2/v2/auth?response_type=code+id_token&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=openid+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fgmail.readonly&state=st-1&access_type=offline&prompt=consent&code_challenge=" + testChallenge + "&code_challenge_method=S256",
		},
		{
			name:   "seed-era placeholder form",
			tmpl:   provider.Template{AuthorizationURL: "https://${connectionConfig.params.subdomain}.zendesk.com/oauth/authorizations/new", TokenURL: "https://${connectionConfig.params.subdomain}.zendesk.com/oauth/tokens", DisablePKCE: true},
			scopes: "read",
			cc:     map[string]any{"subdomain": "acme"},
			want:   "https://acme.zendesk.com/oauth/authorizations/new?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=read&state=st-1",
		},
		{
			name:   "current placeholder form",
			tmpl:   provider.Template{AuthorizationURL: "https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new", TokenURL: "https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens", DisablePKCE: true},
			scopes: "read",
			cc:     map[string]any{"subdomain": "acme"},
			want:   "https://acme.zendesk.com/oauth/authorizations/new?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=read&state=st-1",
		},
		{
			name:   "special characters in values",
			tmpl:   provider.Template{AuthorizationURL: "https://x.example/auth", TokenURL: "https://x.example/token", DisablePKCE: true, AuthorizationParams: provider.Params{{Name: "x", Value: "a b+c/d:e*f~g!h'i(j)k"}}},
			scopes: "s",
			want:   "https://x.example/auth?response_type=code&client_id=Iv1.0123&redirect_uri=http%3A%2F%2Flocalhost%3A3003%2Foauth%2Fcallback&scope=s&state=st-1&x=a+b%2Bc%2Fd%3Ae*f%7Eg%21h%27i%28j%29k",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := tt.tmpl
			got, err := AuthorizationURL(AuthRequest{
				Template: &tmpl, ClientID: "Iv1.0123", Scopes: tt.scopes, CallbackURL: cb, State: "st-1",
				CodeVerifier: testVerifier, ConnectionConfig: tt.cc,
			})
			if err != nil {
				t.Fatalf("AuthorizationURL: %v", err)
			}
			if got != tt.want {
				t.Errorf("AuthorizationURL =\n %s\nwant\n %s", got, tt.want)
			}
			if _, err := url.Parse(got); err != nil {
				t.Errorf("result does not parse: %v", err)
			}
		})
	}
}

func TestAuthorizationURLErrors(t *testing.T) {
	tests := []struct {
		name     string
		tmpl     provider.Template
		cc       map[string]any
		wantType string
		wantDesc string
	}{
		{
			name:     "missing param in authorization_url",
			tmpl:     provider.Template{AuthorizationURL: "https://${connectionConfig.params.subdomain}.zendesk.com/oauth/authorizations/new", TokenURL: "https://${connectionConfig.params.subdomain}.zendesk.com/oauth/tokens"},
			cc:       map[string]any{"other": "x"},
			wantType: ErrTypeURLParam,
			wantDesc: `Missing Connection Config param(s) in Auth request to interpolate url https://${connectionConfig.params.subdomain}.zendesk.com/oauth/authorizations/new. Provided Connection Config: {"other":"x"}`,
		},
		{
			name:     "missing param in token_url only",
			tmpl:     provider.Template{AuthorizationURL: "https://x.example/auth", TokenURL: "https://${connectionConfig.extension}.example/token"},
			wantType: ErrTypeURLParam,
			wantDesc: `Missing Connection Config param(s) in Auth request to interpolate url https://${connectionConfig.extension}.example/token. Provided Connection Config: {}`,
		},
		{
			name:     "grant type",
			tmpl:     provider.Template{AuthorizationURL: "https://x.example/auth", TokenURL: "https://x.example/token", TokenParams: provider.Params{{Name: "grant_type", Value: "client_credentials"}}},
			wantType: ErrTypeGrantType,
			wantDesc: `The grant type "client_credentials" is not supported by this OAuth flow.`,
		},
		{
			name:     "value moving the host",
			tmpl:     provider.Template{AuthorizationURL: "https://${connectionConfig.subdomain}.zendesk.com/auth", TokenURL: "https://${connectionConfig.subdomain}.zendesk.com/token"},
			cc:       map[string]any{"subdomain": "evil.example#"},
			wantType: ErrTypeURLParam,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := tt.tmpl
			_, err := AuthorizationURL(AuthRequest{Template: &tmpl, ClientID: "id", CallbackURL: "https://cb", State: "s", CodeVerifier: testVerifier, ConnectionConfig: tt.cc})
			var fe *FlowError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FlowError", err)
			}
			if fe.Type != tt.wantType {
				t.Errorf("type = %q, want %q", fe.Type, tt.wantType)
			}
			if tt.wantDesc != "" && fe.Description != tt.wantDesc {
				t.Errorf("description =\n %s\nwant\n %s", fe.Description, tt.wantDesc)
			}
		})
	}
}

func TestFlowErrorTexts(t *testing.T) {
	tests := []struct {
		name string
		err  *FlowError
		typ  string
		desc string
	}{
		{"missing connection id", ErrMissingConnectionID(), "missing_connection_id", "Missing Connection ID."},
		{"no key", ErrNoProviderConfigKey(), "no_provider_config_key", "Missing Provider Config unique key."},
		{"missing hmac", ErrMissingHMAC(), "missing_hmac", "Missing HMAC digest."},
		{"invalid hmac", ErrInvalidHMAC(), "invalid_hmac", "Invalid HMAC digest."},
		{"config not found", ErrProviderConfigNotFound("gh"), "provider_config_err", `Could not find a Provider Config matching the "gh" key.`},
		{"config incomplete", ErrProviderConfigIncomplete("gh"), "provider_config_err", `Provider Config "gh" is missing cliend ID, secret and/or scopes.`},
		{"unknown template", ErrUnknownConfigKey("nope"), "unknown_config_key", `No Provider Configuration with key "nope".`},
		{"grant", ErrGrantType("password"), "grant_type_err", `The grant type "password" is not supported by this OAuth flow.`},
		{"auth mode", ErrAuthMode("API_KEY"), "auth_mode_err", "Auth mode API_KEY not supported."},
		{"token", ErrToken(errors.New("x")), "token_err", "Error storing/retrieving the token."},
		{"code", ErrMissingCode(), "callback_err", "Did not get authorization code in the callback."},
		{"oauth1", ErrMissingOAuth1Params(), "callback_err", "Did not get oauth_token and/or oauth_verifier in the callback."},
		{"unknown", ErrUnknown(errors.New("secret cause")), "unknown_err", "Unkown error during the Oauth flow."},
		{"state", ErrState("abc"), "state_err", "Invalid state parameter passed in the callback: abc"},
		{"denied", ErrProviderDenied("access_denied", "The user said no"), "callback_err", "The provider reported an error in the callback: access_denied (The user said no)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Type != tt.typ || tt.err.Description != tt.desc {
				t.Errorf("got %q %q, want %q %q", tt.err.Type, tt.err.Description, tt.typ, tt.desc)
			}
			if strings.Contains(tt.err.Error(), "secret cause") {
				t.Errorf("Error() reveals the internal cause: %s", tt.err.Error())
			}
		})
	}
}
