package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tracing"
)

// DefaultTimeout bounds one call to a provider when Client.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds the token response body read from a provider.
const maxResponse = 1 << 20

// userAgent is the User-Agent of token requests, as the reference sends it.
const userAgent = "Nango"

// Client calls providers' token endpoints. The zero value is usable; a
// Client is safe for concurrent use and holds no state between calls.
type Client struct {
	// HTTP is the HTTP client used (its Transport, proxy and TLS settings);
	// nil means a client with http.DefaultTransport. Its CheckRedirect is
	// replaced: redirects to another scheme or host are never followed.
	HTTP *http.Client
	// Timeout bounds each provider call (connect, request, whole response);
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives one debug line per provider call (endpoint, status,
	// duration; never a value of the request or response); nil discards.
	Logger *slog.Logger
	// Now is the clock that turns expires_in into expires_at; nil means
	// time.Now.
	Now func() time.Time
	// AllowPrivateNetworks lets provider calls whose host comes from the
	// connection config (token_url: https://${connectionConfig.domain}/...)
	// connect to loopback, private and link-local addresses. Off, such a
	// call fails with ErrNonPublicHost: end users write connection config,
	// and must not make the server call into its own network (with the
	// client secret). Hosts written in the template are never checked.
	AllowPrivateNetworks bool
	// Tracer gives every provider call a client span; nil is tracing off.
	Tracer *tracing.Tracer
}

// ExchangeRequest is what Exchange needs.
type ExchangeRequest struct {
	// Template is the provider template (auth mode OAUTH2).
	Template *provider.Template
	// Integration supplies the client id and secret (re-read at callback
	// time, SPEC §1.6).
	Integration store.Integration
	// Code is the authorization code from the callback.
	Code string
	// CodeVerifier is the PKCE verifier stored with the OAuth session;
	// ignored when the template disables PKCE.
	CodeVerifier secret.String
	// CallbackURL is the redirect_uri sent in the authorization request.
	CallbackURL string
	// ConnectionConfig is the connection config of the OAuth session (plain
	// keys); it fills the token URL's placeholders.
	ConnectionConfig map[string]any
	// CallbackQuery is the callback's query, for redirect_uri_metadata.
	CallbackQuery url.Values
}

// TokenResult is a parsed token response.
type TokenResult struct {
	// Credentials are the new OAUTH2 credentials: the access token, the
	// refresh token (on refresh, the previous one when the response has
	// none), the expiry and raw (the response plus the computed expires_at
	// as ISO-8601).
	Credentials store.Credentials
	// Metadata holds the values the template copies into the connection
	// metadata: Exchange merges redirect_uri_metadata (from the callback
	// query) and token_response_metadata (from the response, winning);
	// Refresh returns refresh_token_response_metadata values only. nil when
	// there are none.
	Metadata map[string]any
	// ConnectionConfig holds values for the template's automated
	// connection_config entries found in the metadata, the token response or
	// the callback query; nil when there are none. Callers merge it into
	// the connection config.
	ConnectionConfig map[string]any
}

// RefreshRequest is what Refresh needs.
type RefreshRequest struct {
	// Template is the connection's provider template.
	Template *provider.Template
	// Integration supplies the client id and secret.
	Integration store.Integration
	// Connection is the connection as stored: its refresh token, connection
	// config (for the URL placeholders) and metadata.
	Connection store.Connection
}

// Exchange trades an authorization code for tokens (SPEC §3.4–3.6). It
// POSTs to the interpolated token_url with Accept: application/json and
// User-Agent: Nango; the body (form, or JSON with body_format: json) holds,
// in order, grant_type=authorization_code, code, redirect_uri, the
// template's token_params (a grant_type there replaces the first value in
// place), code_verifier (unless disable_pkce), then client_id and
// client_secret — unless authorization_method is header, which sends them
// in a form-encoded Basic header instead; token_request_auth_method: basic
// adds a raw Basic header.
//
// Errors: *FlowError (url_param_err) for an incomplete token URL,
// *ProviderError when the endpoint refuses, *ResponseError when its answer
// is unusable (no access token...), or a transport error (network,
// timeout, redirect to another host).
func (c *Client) Exchange(ctx context.Context, r ExchangeRequest) (TokenResult, error) {
	t := r.Template
	if t == nil {
		return TokenResult{}, errors.New("oauth: Exchange without a template")
	}
	callbackMeta := map[string]any{}
	for _, name := range t.RedirectURIMetadata {
		if v := r.CallbackQuery.Get(name); v != "" && storable(v) {
			callbackMeta[name] = v
		}
	}
	endpoint, err := interpolateURL(t.TokenURL, r.ConnectionConfig, callbackMeta, r.Integration.ClientID)
	if err != nil {
		return TokenResult{}, err
	}
	var p params
	p.set("grant_type", "authorization_code")
	p.set("code", r.Code)
	p.set("redirect_uri", r.CallbackURL)
	tp, err := interpolateParams(t, t.TokenParams, r.ConnectionConfig, callbackMeta, r.Integration)
	if err != nil {
		return TokenResult{}, err
	}
	for _, x := range tp {
		p.set(x.name, x.value)
	}
	if !t.DisablePKCE && !r.CodeVerifier.IsZero() {
		p.set("code_verifier", r.CodeVerifier.Reveal())
	}
	raw, err := c.tokenRequest(c.guardCtx(ctx, t.TokenURL), tokenCall{
		template: t, integration: r.Integration, endpoint: endpoint, params: p,
		cc: r.ConnectionConfig, redact: []string{r.Code, r.CodeVerifier.Reveal()},
	})
	if err != nil {
		return TokenResult{}, err
	}
	creds, err := c.parseCredentials(t, raw, "")
	if err != nil {
		return TokenResult{}, withEndpoint(err, endpoint)
	}
	md := callbackMeta
	for k, v := range pickMetadata(raw, t.TokenResponseMetadata) {
		md[k] = v
	}
	res := TokenResult{Credentials: creds, Metadata: nilIfEmpty(md)}
	res.ConnectionConfig = automatedConfig(t, md, raw, r.CallbackQuery)
	return res, nil
}

// Refresh trades the connection's refresh token for new tokens (SPEC §3.7
// with Part A): a POST to refresh_url if the template has one, else
// token_url, interpolated with the stored connection config (and metadata),
// with the headers and client authentication of Exchange and a body of
// grant_type=refresh_token (always, whatever the template's params say),
// the template's refresh_params — or, when it has none, its token_params —
// without any grant_type, then refresh_token, then the body credentials.
// The result keeps the previous refresh token when the response has none;
// raw is the refresh response (plus the computed expires_at).
//
// Errors: ErrNoRefreshToken, *FlowError (url_param_err),
// *ProviderError (invalid_grant: the refresh token is no longer valid),
// *ResponseError, or a transport error.
func (c *Client) Refresh(ctx context.Context, r RefreshRequest) (TokenResult, error) {
	t := r.Template
	if t == nil {
		return TokenResult{}, errors.New("oauth: Refresh without a template")
	}
	rt := r.Connection.Credentials.RefreshToken
	if rt.IsZero() {
		return TokenResult{}, ErrNoRefreshToken
	}
	tmpl := t.TokenURL
	if t.RefreshURL != "" {
		tmpl = t.RefreshURL
	}
	endpoint, err := interpolateURL(tmpl, r.Connection.ConnectionConfig, r.Connection.Metadata, r.Integration.ClientID)
	if err != nil {
		return TokenResult{}, err
	}
	var p params
	p.set("grant_type", "refresh_token")
	src := t.RefreshParams
	if len(src) == 0 {
		src = t.TokenParams
	}
	rp, err := interpolateParams(t, src, r.Connection.ConnectionConfig, r.Connection.Metadata, r.Integration)
	if err != nil {
		return TokenResult{}, err
	}
	for _, x := range rp {
		if x.name != "grant_type" {
			p.set(x.name, x.value)
		}
	}
	p.set("refresh_token", rt.Reveal())
	raw, err := c.tokenRequest(c.guardCtx(ctx, tmpl), tokenCall{
		template: t, integration: r.Integration, endpoint: endpoint, params: p,
		cc: r.Connection.ConnectionConfig, redact: []string{rt.Reveal()},
	})
	if err != nil {
		return TokenResult{}, err
	}
	creds, err := c.parseCredentials(t, raw, rt)
	if err != nil {
		return TokenResult{}, withEndpoint(err, endpoint)
	}
	md := pickMetadata(raw, t.RefreshTokenResponseMetadata)
	return TokenResult{Credentials: creds, Metadata: nilIfEmpty(md), ConnectionConfig: automatedConfig(t, md, raw, nil)}, nil
}

// tokenCall is one request to a token endpoint.
type tokenCall struct {
	template    *provider.Template
	integration store.Integration
	endpoint    *url.URL
	params      params
	cc          map[string]any
	redact      []string // request values to keep out of error descriptions
}

// tokenRequest sends the request and returns the decoded response object.
func (c *Client) tokenRequest(ctx context.Context, tc tokenCall) (map[string]any, error) {
	t := tc.template
	id, sec := tc.integration.ClientID, tc.integration.ClientSecret.Reveal()
	p := tc.params
	header := make(http.Header)
	header.Set("Accept", "application/json")
	header.Set("User-Agent", userAgent)
	switch {
	case t.AuthorizationMethod == provider.AuthorizationMethodHeader:
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(basicEscape(id)+":"+basicEscape(sec))))
	default:
		p.set("client_id", id)
		p.set("client_secret", sec)
	}
	if t.TokenRequestAuthMethod == provider.TokenAuthBasic && t.AuthorizationMethod != provider.AuthorizationMethodHeader {
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+sec)))
	}
	for _, h := range t.TokenHeaders {
		v, err := provider.Interpolate(h.Value, provider.Vars{ConnectionConfig: tc.cc, ClientID: id, ClientSecret: tc.integration.ClientSecret})
		if err != nil {
			return nil, fmt.Errorf("oauth: token header %s of template %s: %w", h.Name, t.Name, err)
		}
		header.Set(h.Name, v)
	}

	u := *tc.endpoint
	var body io.Reader
	switch t.BodyFormat {
	case provider.BodyFormatJSON:
		header.Set("Content-Type", "application/json")
		body = bytes.NewReader(p.json())
	case provider.BodyFormatQuery:
		q := p.encode(querystringEscape)
		if u.RawQuery != "" {
			q = u.RawQuery + "&" + q
		}
		u.RawQuery = q
	default:
		header.Set("Content-Type", "application/x-www-form-urlencoded")
		body = strings.NewReader(p.encode(querystringEscape))
	}

	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("oauth: building the token request to %s: %w", endpointText(tc.endpoint), err)
	}
	req.Header = header
	ep := endpointText(tc.endpoint)
	start := time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		c.logger().Debug("oauth token request failed", "endpoint", ep, "duration", time.Since(start), "err", transportText(err))
		if errors.Is(err, ErrNonPublicHost) {
			return nil, ErrNonPublicHost
		}
		return nil, fmt.Errorf("oauth: token request to %s failed: %s", ep, transportText(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	c.logger().Debug("oauth token request", "endpoint", ep, "status", resp.StatusCode, "duration", time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("oauth: reading the token response of %s failed: %s", ep, transportText(err))
	}
	if len(data) > maxResponse {
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: fmt.Sprintf("the response is larger than %d bytes", maxResponse)}
	}
	redact := append(tc.redact, sec)
	switch {
	case resp.StatusCode >= 400:
		return nil, providerError(ep, resp.StatusCode, resp.Header.Get("Content-Type"), data, redact)
	case resp.StatusCode >= 300:
		loc := resp.Header.Get("Location")
		if lu, err := url.Parse(loc); err == nil {
			loc = endpointText(req.URL.ResolveReference(lu))
		}
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: "the token endpoint redirected to " + clip(loc, 200) + "; redirects to another host are not followed"}
	case resp.StatusCode < 200:
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: "unexpected informational status"}
	}
	obj, err := decodeObject(resp.Header.Get("Content-Type"), data)
	if err != nil {
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: err.Error()}
	}
	// Some providers (GitHub) answer 200 with an OAuth error object.
	if code, ok := obj["error"].(string); ok && code != "" && obj["access_token"] == nil {
		desc, _ := obj["error_description"].(string)
		return nil, &ProviderError{Status: resp.StatusCode, Code: clip(redactAll(code, redact), 100), Description: clip(redactAll(desc, redact), 200), Endpoint: ep}
	}
	return obj, nil
}

// httpClient returns a copy of c.HTTP that follows redirects only within
// the same scheme and host (at most 5), so a token request and its client
// secret never leave for another host.
func (c *Client) httpClient() *http.Client {
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return http.ErrUseLastResponse
		}
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return guarded(&hc, c.Tracer)
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// transportText describes a transport error without the URL (which
// url.Error adds and which may carry query values).
func transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return clip(err.Error(), 200)
}

// withEndpoint fills the endpoint of a *ResponseError from parsing.
func withEndpoint(err error, u *url.URL) error {
	var re *ResponseError
	if errors.As(err, &re) && re.Endpoint == "" {
		re.Endpoint = endpointText(u)
	}
	return err
}

// redactAll replaces every sent secret (of at least 4 bytes) in s.
func redactAll(s string, secrets []string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, secret.Redacted)
		}
	}
	return s
}

func nilIfEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}
