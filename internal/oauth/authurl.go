package oauth

import (
	"errors"
	"net/url"
	"strings"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// AuthRequest is what AuthorizationURL needs.
type AuthRequest struct {
	// Template is the provider template (auth mode OAUTH2).
	Template *provider.Template
	// ClientID is the integration's client id.
	ClientID string
	// Scopes are the integration's scopes, comma-separated as stored.
	Scopes string
	// CallbackURL is the redirect_uri.
	CallbackURL string
	// State is the state parameter (the OAuth session id).
	State string
	// CodeVerifier is the PKCE verifier (see NewCodeVerifier); ignored when
	// the template disables PKCE.
	CodeVerifier secret.String
	// ConnectionConfig holds the connection's config with plain keys; it
	// fills the template URLs' placeholders.
	ConnectionConfig map[string]any
}

// AuthorizationURL builds the provider's authorization URL (SPEC §3.2):
//
//   - authorization_url and token_url are interpolated with the connection
//     config (both ${connectionConfig.X} and ${connectionConfig.params.X});
//     a missing value gives url_param_err (authorization URL checked first);
//   - token_params.grant_type other than authorization_code gives
//     grant_type_err;
//   - the query of the template URL is dropped; parameters follow in this
//     order: response_type=code, client_id, redirect_uri, scope (the stored
//     comma-separated scopes joined with scope_separator, always present),
//     state, authorization_params (a repeated name replaces the value in
//     place), then code_challenge and code_challenge_method=S256 unless
//     disable_pkce;
//   - values are form-encoded (space as '+', so a '+' separator is %2B).
//
// Later templates' authorization_url_fragment, _replacements, _skip_empty,
// _skip_encode and decode_url are applied after that. Errors are *FlowError.
func AuthorizationURL(r AuthRequest) (string, error) {
	t := r.Template
	if t == nil {
		return "", ErrUnknown(errors.New("oauth: AuthorizationURL without a template"))
	}
	au, err := interpolateURL(t.AuthorizationURL, r.ConnectionConfig, nil, r.ClientID)
	if err != nil {
		return "", err
	}
	if _, err := interpolateURL(t.TokenURL, r.ConnectionConfig, nil, r.ClientID); err != nil {
		return "", err
	}
	if g, ok := t.TokenParams.Get("grant_type"); ok && g != "authorization_code" {
		return "", ErrGrantType(g)
	}

	var p params
	p.set("response_type", "code")
	p.set("client_id", r.ClientID)
	p.set("redirect_uri", r.CallbackURL)
	p.set("scope", joinScopes(r.Scopes, t.ScopeSeparator))
	p.set("state", r.State)
	ap, err := interpolateParams(t, t.AuthorizationParams, r.ConnectionConfig, nil, store.Integration{ClientID: r.ClientID})
	if err != nil {
		return "", err
	}
	for _, x := range ap {
		p.set(x.name, x.value)
	}
	if !t.DisablePKCE {
		if r.CodeVerifier.IsZero() {
			return "", ErrUnknown(errors.New("oauth: PKCE is on but the code verifier is empty"))
		}
		p.set("code_challenge", CodeChallenge(r.CodeVerifier))
		p.set("code_challenge_method", "S256")
	}
	if t.AuthorizationURLSkipEmpty {
		out := p[:0]
		for _, x := range p {
			if x.value != "" {
				out = append(out, x)
			}
		}
		p = out
	}

	skip := map[string]bool{}
	for _, n := range t.AuthorizationURLSkipEncode {
		skip[n] = true
		if n == "scopes" {
			skip["scope"] = true
		}
	}
	var q strings.Builder
	for i, x := range p {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(formEscape(x.name))
		q.WriteByte('=')
		if skip[x.name] {
			q.WriteString(x.value)
		} else {
			q.WriteString(formEscape(x.value))
		}
	}

	base := baseURL(au)
	if f := t.AuthorizationURLFragment; f != "" {
		// The fragment of a single-page application's router:
		// https://app.example.com/#/oauth/authorize?client_id=...
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		base += "#/" + strings.TrimPrefix(f, "/")
	}
	out := base + "?" + q.String()
	for _, rep := range t.AuthorizationURLReplacements {
		out = strings.ReplaceAll(out, rep.Name, rep.Value)
	}
	if t.DecodeURL {
		if d, err := url.QueryUnescape(strings.ReplaceAll(out, "+", "%2B")); err == nil {
			out = d
		}
	}
	return out, nil
}

// joinScopes splits the stored comma-separated scopes and joins them with
// sep (default one space). Empty items are dropped.
func joinScopes(scopes, sep string) string {
	if sep == "" {
		sep = " "
	}
	var items []string
	for _, s := range strings.Split(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	return strings.Join(items, sep)
}
