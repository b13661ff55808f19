package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// maxKeyLength bounds connection ids and provider config keys, as the API
// does.
const maxKeyLength = 255

// plan is everything needed to send the upstream request, computed once;
// headers and signatures are computed per attempt (timestamps, nonces).
type plan struct {
	tmpl     *provider.Template
	in       store.Integration
	conn     store.Connection
	vars     provider.Vars // credentials, config, metadata (Request and Now set per attempt)
	target   *url.URL      // base URL + endpoint + query
	guarded  bool          // target host came from connection data or the override
	attempts int           // most attempts allowed
	body     *body         // nil when the request has none
}

// plan reads and checks the request, loads the connection (refreshing its
// credentials when due) and resolves the upstream URL.
func (c *call) plan() (*plan, *httpx.Error) {
	r := c.r
	c.endpoint = "/" // until known
	id := strings.TrimSpace(r.Header.Get(HeaderConnectionID))
	if id == "" {
		return nil, httpx.E("missing_connection_id")
	}
	if e := checkKey("Connection-Id", "invalid_connection_id", id); e != nil {
		return nil, e
	}
	key := strings.TrimSpace(r.Header.Get(HeaderProviderConfigKey))
	if key == "" {
		return nil, httpx.E("missing_provider_config_key")
	}
	if e := checkKey("Provider-Config-Key", "invalid_provider_config", key); e != nil {
		return nil, e
	}
	c.key, c.id = key, id

	endpoint := Endpoint(r)
	c.endpoint = activityEndpoint(endpoint, r.URL.RawQuery)
	if strings.Trim(endpoint, "/") == "" {
		return nil, httpx.E("missing_endpoint")
	}
	attempts, e := c.attemptsAllowed()
	if e != nil {
		return nil, e
	}

	ctx := r.Context()
	in, err := c.h.o.Store.GetIntegration(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, httpx.E("unkown_connection")
	}
	if err != nil {
		return nil, c.internal("reading the integration", err)
	}
	c.provider = in.Provider
	tmpl, ok := c.h.o.Templates(in.Provider)
	if !ok {
		return nil, httpx.Ef("unknown_provider_template", "The integration's provider template %q is not in the catalog.", in.Provider)
	}
	base, override := tmpl.Proxy.BaseURL, r.Header.Get(HeaderBaseURLOverride)
	if override != "" && !c.h.o.Config.AllowBaseURLOverride {
		return nil, httpx.E("base_url_override_not_allowed")
	}
	if override == "" && strings.TrimSpace(base) == "" {
		return nil, httpx.Ef("missing_base_api_url", "The provider template %q has no base API URL (proxy.base_url), so it cannot be proxied.", tmpl.Name)
	}

	conn, err := c.h.o.Tokens.Get(ctx, key, id, tokens.GetOptions{})
	if err != nil {
		if e := api.TokenError(err); e != nil {
			return nil, e
		}
		return nil, c.internal("reading the connection", err)
	}

	p := &plan{tmpl: tmpl, in: in, conn: conn, attempts: attempts}
	p.vars = provider.Vars{
		ConnectionConfig: conn.ConnectionConfig,
		Metadata:         conn.Metadata,
		Credentials:      credentialVars(conn.Credentials),
		AccessToken:      conn.Credentials.AccessToken,
		ClientID:         in.ClientID,
		ClientSecret:     in.ClientSecret,
	}
	if cr := conn.Credentials; cr.Type == store.OAuth2CC && cr.ClientID != "" {
		// Per-connection client credentials replace the integration's.
		p.vars.ClientID, p.vars.ClientSecret = cr.ClientID, cr.ClientSecret
	}

	var baseURL *url.URL
	if override != "" {
		u, err := checkAbsolute(override)
		if err != nil {
			return nil, httpx.Ef("invalid_base_url_override", "The Base-Url-Override header %s.", err)
		}
		baseURL, p.guarded = u, true
	} else {
		u, guarded, e := resolveBase(base, p.vars)
		if e != nil {
			return nil, e
		}
		baseURL, p.guarded = u, guarded
	}
	target, e := join(baseURL, endpoint, r.URL.RawQuery)
	if e != nil {
		return nil, e
	}
	if e := p.addTemplateQuery(target); e != nil {
		return nil, e
	}
	p.target = target

	b, e := c.readBody(p)
	if e != nil {
		return nil, e
	}
	p.body = b
	if b != nil && !b.replayable {
		p.attempts = 1
	}
	return p, nil
}

// attemptsAllowed reads the Retries header: attempts in total, 0 or absent
// meaning one, capped by the operator's NANGO_PROXY_MAX_ATTEMPTS.
func (c *call) attemptsAllowed() (int, *httpx.Error) {
	v := strings.TrimSpace(c.r.Header.Get(HeaderRetries))
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, httpx.Ef("invalid_request", "The Retries header must be a whole number of attempts (0 or more), not %q.", clip(v, 40))
	}
	return max(1, min(n, c.h.o.Config.MaxAttempts)), nil
}

// internal logs err and returns the error to answer with.
func (c *call) internal(doing string, err error) *httpx.Error {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		c.log().Warn("proxy: database unavailable while "+doing, "err", err)
		return httpx.E("database_unavailable")
	case errors.Is(err, store.ErrUndecryptable):
		c.log().Error("proxy: stored secret cannot be decrypted while "+doing, "err", err)
		return httpx.E("undecryptable_secret")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		c.failure = "the caller went away while " + doing
		return httpx.E("internal_error")
	}
	c.log().Error("proxy: internal error while "+doing, "err", err)
	return httpx.E("internal_error")
}

func checkKey(header, typ, s string) *httpx.Error {
	switch {
	case len(s) > maxKeyLength:
		return httpx.Ef(typ, "The %s header is longer than %d bytes.", header, maxKeyLength)
	case !utf8.ValidString(s):
		return httpx.Ef(typ, "The %s header is not valid UTF-8.", header)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return httpx.Ef(typ, "The %s header contains control characters.", header)
	}
	return nil
}

// credentialVars exposes a connection's credentials to template
// placeholders (${apiKey}, ${credentials.X}).
func credentialVars(cr store.Credentials) map[string]secret.String {
	m := map[string]secret.String{}
	for k, v := range cr.Raw {
		if s, ok := v.(string); ok && s != "" {
			m[k] = secret.String(s)
		}
	}
	switch cr.Type {
	case store.APIKey:
		m["apiKey"] = cr.APIKey
	case store.Basic:
		m["username"] = secret.String(cr.Username)
		m["password"] = cr.Password
	case store.OAuth2, store.OAuth2CC:
		m["access_token"] = cr.AccessToken
		if cr.Type == store.OAuth2CC {
			m["token"] = cr.AccessToken
			if cr.ClientID != "" {
				m["client_id"] = secret.String(cr.ClientID)
				m["client_secret"] = cr.ClientSecret
			}
		}
	case store.OAuth1:
		m["oauth_token"] = cr.OAuthToken
		m["oauth_token_secret"] = cr.OAuthTokenSecret
	}
	return m
}

// Endpoint returns the raw API endpoint of a proxy request: the escaped path
// after "/proxy/", as the client sent it (double slashes and percent-encoding
// kept; see RawPaths), without the query string.
func Endpoint(r *http.Request) string {
	p, ok := r.Context().Value(rawPathKey{}).(string)
	if !ok {
		p = r.URL.EscapedPath()
	}
	if rest, ok := strings.CutPrefix(p, "/proxy/"); ok {
		return rest
	}
	return ""
}

// join appends endpoint (escaped) to base as the reference does — base
// minus one trailing "/", then "/", then endpoint minus one leading "/" —
// and sets the query: base's own, then the caller's raw query.
func join(base *url.URL, endpoint, rawQuery string) (*url.URL, *httpx.Error) {
	u := *base
	raw := strings.TrimSuffix(base.EscapedPath(), "/") + "/" + strings.TrimPrefix(endpoint, "/")
	p, err := url.PathUnescape(raw)
	if err != nil {
		return nil, httpx.Ef("invalid_request", "The endpoint after /proxy/ has invalid percent-encoding.")
	}
	u.Path, u.RawPath = p, raw
	u.RawQuery = joinQuery(base.RawQuery, rawQuery)
	return &u, nil
}

func joinQuery(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "&")
}

// addTemplateQuery adds the template's proxy query parameters that the
// caller did not set (the caller wins, as with headers).
func (p *plan) addTemplateQuery(u *url.URL) *httpx.Error {
	if len(p.tmpl.Proxy.Query) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			have[n] = true
		}
	}
	v := p.vars
	v.Request = &provider.Request{Method: "", Host: u.Host, Path: u.EscapedPath(), RawQuery: u.RawQuery}
	add := url.Values{}
	for _, q := range p.tmpl.Proxy.Query {
		if have[q.Name] {
			continue
		}
		val, err := provider.Interpolate(q.Value, v)
		var me *provider.MissingError
		if errors.As(err, &me) && p.tmpl.OnlyOptionalMissing(me) {
			continue // built from optional values this connection lacks
		}
		if e := interpolationError("query parameter "+q.Name, err); e != nil {
			return e
		}
		add.Add(q.Name, val)
	}
	// url.Values.Encode sorts; keep the template's order instead.
	var parts []string
	for _, q := range p.tmpl.Proxy.Query {
		for _, val := range add[q.Name] {
			parts = append(parts, url.QueryEscape(q.Name)+"="+url.QueryEscape(val))
		}
		delete(add, q.Name)
	}
	u.RawQuery = joinQuery(u.RawQuery, strings.Join(parts, "&"))
	return nil
}

// interpolationError turns a failed interpolation of a template value into
// the answer: missing connection values are the caller's (400), a malformed
// template is the operator's (500, logged by the caller of this).
func interpolationError(what string, err error) *httpx.Error {
	if err == nil {
		return nil
	}
	var me *provider.MissingError
	if errors.As(err, &me) {
		return httpx.Ef("missing_connection_config", "The provider template's %s needs values this connection lacks: %s.", what, strings.Join(me.Names, ", ")).
			WithPayload(map[string]any{"missing": me.Names})
	}
	return httpx.Ef("internal_error", "The provider template's %s cannot be computed: %v.", what, err)
}

// activityEndpoint is the endpoint as recorded: the path, and the query's
// parameter names without their values.
func activityEndpoint(endpoint, rawQuery string) string {
	path := "/" + strings.TrimPrefix(endpoint, "/")
	if rawQuery == "" {
		return clip(path, 500)
	}
	seen := map[string]bool{}
	var names []string
	for _, kv := range strings.Split(rawQuery, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if name != "" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return clip(path+"?"+strings.Join(names, "&"), 500)
}

// readBody decides how the request body travels: kept in memory (so it can
// be replayed, signed or merged) when it fits NANGO_PROXY_REPLAY_BODY_MAX,
// else streamed once.
func (c *call) readBody(p *plan) (*body, *httpx.Error) {
	r := c.r
	ct := r.Header.Get("Content-Type")
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return p.mergeTemplateBody(nil, r.Method, ct)
	}
	src := c.bodyReader()
	need := p.needsBody(ct)
	limit := c.h.o.Config.ReplayBodyMax
	if !need && (p.attempts == 1 || r.ContentLength > limit) {
		return &body{stream: src, length: r.ContentLength}, nil
	}
	buf, complete, err := readUpTo(src, limit)
	if err != nil {
		return nil, httpx.Ef("request_timeout", "The request body stopped arriving (nothing for %s, or the connection failed): %s.", c.h.o.Config.IdleTimeout, errString(err))
	}
	if !complete {
		if need {
			return nil, httpx.Ef("request_too_large",
				"This provider's requests are signed over (or merged into) the body, so the proxy must hold it in memory, and it is larger than NANGO_PROXY_REPLAY_BODY_MAX (%d bytes).", limit)
		}
		return &body{stream: io.MultiReader(bytes.NewReader(buf), src), length: r.ContentLength}, nil
	}
	if len(buf) == 0 {
		return p.mergeTemplateBody(nil, r.Method, ct)
	}
	return p.mergeTemplateBody(&body{data: buf, replayable: true, length: int64(len(buf))}, r.Method, ct)
}

// needsBody reports whether computing the upstream request needs the
// whole body: OAuth 1 signs form bodies, some templates sign over the body
// (${bodyCanonicalParams}, awsSigV4), some merge values into JSON bodies.
func (p *plan) needsBody(contentType string) bool {
	if p.conn.Credentials.Type == store.OAuth1 && isForm(contentType) {
		return true
	}
	if p.tmpl.Proxy.Body != nil && isJSON(contentType) {
		return true
	}
	for _, h := range p.tmpl.Proxy.Headers {
		if strings.Contains(h.Value, "bodyCanonicalParams") || strings.Contains(h.Value, "awsSigV4") {
			return true
		}
	}
	return false
}

func isForm(ct string) bool {
	return mediaType(ct) == "application/x-www-form-urlencoded"
}

func isJSON(ct string) bool {
	mt := mediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// errString describes an error for an answer without leaking a URL's query.
func errString(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Sprint(err)
}
