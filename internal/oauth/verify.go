package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// DefaultVerifyTimeout bounds a credential check when VerifyRequest.Timeout
// is 0: the end user is waiting.
const DefaultVerifyTimeout = 10 * time.Second

// VerifyRequest is what VerifyCredentials needs.
type VerifyRequest struct {
	// Template is the connection's provider template.
	Template *provider.Template
	// Integration supplies ${clientId} and ${clientSecret}.
	Integration store.Integration
	// Credentials are the credentials to check (API_KEY, BASIC).
	Credentials store.Credentials
	// ConnectionConfig fills the URLs' and headers' placeholders.
	ConnectionConfig map[string]any
	// AllowPrivateNetworks lets a host that comes from the connection config
	// resolve to a loopback, private or link-local address (the operator's
	// NANGO_PROXY_ALLOW_PRIVATE_NETWORKS). Off, such hosts are refused, so
	// that the public credential endpoints cannot probe internal networks.
	AllowPrivateNetworks bool
	// Timeout bounds the whole check; 0 means DefaultVerifyTimeout.
	Timeout time.Duration
}

// VerifyResult says how a check went when it reached a verdict.
type VerifyResult struct {
	// Checked is false when the template declares no verification.
	Checked bool
	// Endpoint is the URL that accepted the credentials (without query).
	Endpoint string
	// Status is its HTTP status.
	Status int
}

// RejectedError is a definite refusal of the credentials: every
// verification endpoint answered a 4xx status other than 408 and 429.
type RejectedError struct {
	// Endpoint is the last URL tried (without query).
	Endpoint string
	// Status is its HTTP status.
	Status int
}

// Error describes the refusal.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("oauth: the provider rejected the credentials (HTTP %d from %s)", e.Status, e.Endpoint)
}

// UnverifiedError is a check that reached no verdict: the provider could
// not be reached, timed out, answered 5xx, 408 or 429, or the template's
// verification request could not be built from the connection's values.
type UnverifiedError struct {
	// Endpoint is the last URL tried (without query), "" when none was.
	Endpoint string
	// Problem says what happened.
	Problem string
}

// Error describes the problem.
func (e *UnverifiedError) Error() string {
	if e.Endpoint == "" {
		return "oauth: the credentials could not be checked: " + e.Problem
	}
	return "oauth: the credentials could not be checked at " + e.Endpoint + ": " + e.Problem
}

// VerifyCredentials checks API_KEY or BASIC credentials with the template's
// proxy.verification request, built as the proxy would send it: the method,
// each endpoint joined to base_url_override or proxy.base_url, the
// template's proxy headers and query (interpolated with the credentials and
// connection config), a Basic header for BASIC templates that set no
// Authorization header, the verification's own headers, and its data as a
// JSON body. The first endpoint answering 2xx proves the credentials.
// Redirects are not followed; a host that comes from the connection config
// must be public unless AllowPrivateNetworks.
//
// It returns Checked=false and no error when the template declares no
// verification, *RejectedError for a definite refusal, *MissingValuesError
// when the request needs connection-config values the caller did not give,
// and *UnverifiedError when no verdict could be reached.
func (c *Client) VerifyCredentials(ctx context.Context, r VerifyRequest) (VerifyResult, error) {
	t := r.Template
	if t == nil || t.Proxy.Verification == nil || len(t.Proxy.Verification.Endpoints) == 0 {
		return VerifyResult{}, nil
	}
	v := t.Proxy.Verification
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultVerifyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	vars := provider.Vars{
		ConnectionConfig: r.ConnectionConfig,
		Credentials:      credentialVars(r.Credentials),
		ClientID:         r.Integration.ClientID,
		ClientSecret:     r.Integration.ClientSecret,
	}
	baseTmpl := v.BaseURLOverride
	if baseTmpl == "" {
		baseTmpl = t.Proxy.BaseURL
	}
	if strings.TrimSpace(baseTmpl) == "" {
		return VerifyResult{}, &UnverifiedError{Problem: "the template declares a verification request but no base URL"}
	}
	base, err := provider.Interpolate(baseTmpl, vars)
	if err != nil {
		return VerifyResult{}, missingOr(err, "the verification base URL")
	}
	bu, err := url.Parse(base)
	if err != nil || (bu.Scheme != "https" && bu.Scheme != "http") || bu.Host == "" {
		return VerifyResult{}, &UnverifiedError{Problem: "the verification base URL " + clip(base, 200) + " is not an absolute http(s) URL"}
	}
	guard := !r.AllowPrivateNetworks && hostFromConfig(baseTmpl)
	hc := c.verifyClient(guard)

	var last error
	for _, epTmpl := range v.Endpoints {
		ep, err := provider.Interpolate(epTmpl, vars)
		if err != nil {
			return VerifyResult{}, missingOr(err, "the verification endpoint")
		}
		u := *bu
		u.Path = strings.TrimSuffix(bu.Path, "/") + "/" + strings.TrimPrefix(ep, "/")
		u.RawPath = ""
		if i := strings.IndexByte(ep, '?'); i >= 0 {
			u.Path = strings.TrimSuffix(bu.Path, "/") + "/" + strings.TrimPrefix(ep[:i], "/")
			u.RawQuery = joinRawQuery(bu.RawQuery, ep[i+1:])
		}
		if err := addQuery(&u, t, vars); err != nil {
			return VerifyResult{}, err
		}
		var body []byte
		if v.Data != nil {
			body, _ = json.Marshal(v.Data)
		}
		req, err := http.NewRequestWithContext(ctx, v.Method, u.String(), bytes.NewReader(body))
		if err != nil {
			return VerifyResult{}, &UnverifiedError{Endpoint: endpointText(&u), Problem: "the request cannot be built: " + err.Error()}
		}
		if body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		if err := verificationHeaders(req, t, r.Credentials, vars, &u, body); err != nil {
			return VerifyResult{}, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			last = &UnverifiedError{Endpoint: endpointText(&u), Problem: transportText(err)}
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		c.logger().Debug("credential verification", "endpoint", endpointText(&u), "status", resp.StatusCode)
		switch s := resp.StatusCode; {
		case s >= 200 && s < 300:
			return VerifyResult{Checked: true, Endpoint: endpointText(&u), Status: s}, nil
		case s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
			last = &RejectedError{Endpoint: endpointText(&u), Status: s}
		default:
			last = &UnverifiedError{Endpoint: endpointText(&u), Problem: fmt.Sprintf("the provider answered HTTP %d", s)}
		}
	}
	return VerifyResult{}, last
}

// MissingValuesError reports connection-config values a request needs but
// the connection lacks.
type MissingValuesError struct {
	// What names the template value being built.
	What string
	// Names are the missing placeholders.
	Names []string
}

// Error lists the missing values.
func (e *MissingValuesError) Error() string {
	return "oauth: " + e.What + " needs values the connection lacks: " + strings.Join(e.Names, ", ")
}

func missingOr(err error, what string) error {
	var me *provider.MissingError
	if errors.As(err, &me) {
		return &MissingValuesError{What: what, Names: me.Names}
	}
	return &UnverifiedError{Problem: what + " of the template cannot be computed: " + err.Error()}
}

// verificationHeaders sets the credentials and the template's headers:
// Basic auth for BASIC templates without an Authorization header, the proxy
// headers, then the verification's own.
func verificationHeaders(req *http.Request, t *provider.Template, cr store.Credentials, vars provider.Vars, u *url.URL, body []byte) error {
	templateAuth := false
	for _, h := range append(append(provider.Params{}, t.Proxy.Headers...), t.Proxy.Verification.Headers...) {
		if strings.EqualFold(h.Name, "Authorization") {
			templateAuth = true
		}
	}
	if cr.Type == store.Basic && !templateAuth {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cr.Username+":"+cr.Password.Reveal())))
	}
	vars.Now = time.Now()
	vars.Request = &provider.Request{Method: req.Method, Host: u.Host, Path: u.EscapedPath(), RawQuery: u.RawQuery, Body: body}
	for _, set := range []provider.Params{t.Proxy.Headers, t.Proxy.Verification.Headers} {
		for _, h := range set {
			val, err := provider.Interpolate(h.Value, vars)
			var me *provider.MissingError
			if errors.As(err, &me) && optionalOnly(t, me) {
				continue // an optional value the connection does not have
			}
			if err != nil {
				return missingOr(err, "the header "+h.Name)
			}
			req.Header.Set(h.Name, val)
		}
	}
	return nil
}

// addQuery adds the template's proxy query parameters to u.
func addQuery(u *url.URL, t *provider.Template, vars provider.Vars) error {
	if len(t.Proxy.Query) == 0 {
		return nil
	}
	var parts []string
	for _, x := range t.Proxy.Query {
		val, err := provider.Interpolate(x.Value, vars)
		var me *provider.MissingError
		if errors.As(err, &me) && optionalOnly(t, me) {
			continue
		}
		if err != nil {
			return missingOr(err, "the query parameter "+x.Name)
		}
		parts = append(parts, url.QueryEscape(x.Name)+"="+url.QueryEscape(val))
	}
	u.RawQuery = joinRawQuery(u.RawQuery, strings.Join(parts, "&"))
	return nil
}

func joinRawQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}

// credentialVars exposes credentials to placeholders (${apiKey},
// ${credentials.X}).
func credentialVars(cr store.Credentials) map[string]secret.String {
	m := map[string]secret.String{}
	switch cr.Type {
	case store.APIKey:
		m["apiKey"] = cr.APIKey
	case store.Basic:
		m["username"] = secret.String(cr.Username)
		m["password"] = cr.Password
	case store.OAuth2CC:
		m["token"] = cr.AccessToken
		m["access_token"] = cr.AccessToken
		if cr.ClientID != "" {
			m["client_id"] = secret.String(cr.ClientID)
		}
		if !cr.ClientSecret.IsZero() {
			m["client_secret"] = cr.ClientSecret
		}
	}
	return m
}

// hostFromConfig reports whether the host of a template URL comes from a
// placeholder (connection config): one of its alternatives starts with a
// placeholder or has one in its authority.
func hostFromConfig(tmpl string) bool {
	alts, err := provider.Alternatives(tmpl)
	if err != nil {
		return true
	}
	for _, a := range alts {
		if strings.HasPrefix(a, "${") {
			return true
		}
		rest := a
		if i := strings.Index(rest, "://"); i >= 0 {
			rest = rest[i+3:]
		}
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			rest = rest[:j]
		}
		if strings.Contains(rest, "${") {
			return true
		}
	}
	return false
}

// verifyClient is an HTTP client that never follows redirects and, with
// guard, refuses to connect to non-public addresses (checked on the address
// dialled, after DNS resolution).
func (c *Client) verifyClient(guard bool) *http.Client {
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if guard {
		d := &net.Dialer{Timeout: 10 * time.Second, Control: refuseNonPublic}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.DialContext = d.DialContext
		hc.Transport = tr
	}
	if c.Tracer != nil {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hc.Transport = guardTransport{base: base, tracer: c.Tracer} // unmarked requests pass through: tracing only
	}
	return &hc
}

// errNonPublic is a refused connection to a non-public address.
var errNonPublic = errors.New("the host resolves to a non-public address")

func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !publicAddr(ap.Addr().Unmap()) {
		return errNonPublic
	}
	return nil
}

// nonPublic lists special-purpose ranges beyond netip.Addr's predicates.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fec0::/10"),
}

func publicAddr(a netip.Addr) bool {
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
