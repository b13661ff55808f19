package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// ProxyAttemptsHeader is set by nango-go on every proxy response that comes
// from the provider (its value is the number of attempts made). The proxy's
// own error answers never carry it.
const ProxyAttemptsHeader = "X-Nango-Proxy-Attempts"

// ProxyRequest is one call to a provider's API through the server's proxy
// (ALL /proxy/*), made with a connection's credentials.
type ProxyRequest struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// Endpoint is the path at the provider's API, relative to the
	// template's base URL ("/user", "repos/o/r/issues"). It may carry a
	// query string, and percent-escapes that are kept as written
	// ("files/a%2Fb" stays one segment); other characters are escaped.
	Endpoint string
	// ProviderConfigKey names the integration (required).
	ProviderConfigKey string
	// ConnectionID names the connection (required).
	ConnectionID string
	// Retries is the number of attempts in total on 429, 5xx and network
	// errors (0 means one); the server caps it.
	Retries int
	// Headers are sent to the provider: Content-Type and Accept as they
	// are, every other one as Nango-Proxy-<Name>, which the proxy forwards
	// as <Name>. The caller's Authorization never reaches the provider
	// unless given here (it then replaces the connection's).
	Headers http.Header
	// Query parameters are appended to the endpoint's own.
	Query url.Values
	// Body is streamed to the provider; nil means none. The request's
	// length is known for *bytes.Buffer, *bytes.Reader and *strings.Reader
	// bodies; others are sent chunked.
	Body io.Reader
	// BaseURLOverride replaces the template's base URL for this call; the
	// server refuses it unless its operator allows overrides.
	BaseURLOverride string
}

// Proxy calls a provider's API through the server and returns the
// provider's response, whatever its status, for the caller to read and
// close: upstream errors (a 404 from GitHub, a 429...) come back as the
// response with err nil, status, headers and body unchanged.
//
// Errors of the proxy itself (unknown connection, missing base URL, the
// provider unreachable or timing out, a refused secret key...) are returned
// as *APIError, the response already closed. A response is taken as the
// provider's when it carries ProxyAttemptsHeader (nango-go sets it) or, for
// servers that do not set it (Nango itself), when its status is 2xx.
func (c *Client) Proxy(ctx context.Context, r ProxyRequest) (*http.Response, error) {
	switch {
	case r.ProviderConfigKey == "":
		return nil, errors.New("client: Proxy needs a ProviderConfigKey")
	case r.ConnectionID == "":
		return nil, errors.New("client: Proxy needs a ConnectionID")
	case strings.Trim(r.Endpoint, "/") == "":
		return nil, errors.New("client: Proxy needs an Endpoint")
	case r.Retries < 0:
		return nil, errors.New("client: Proxy Retries must not be negative")
	}
	target, err := c.proxyURL(r.Endpoint, r.Query)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = http.MethodGet
	}
	req, err := c.newRequest(ctx, method, target, r.Body)
	if err != nil {
		return nil, err
	}
	// newRequest asks for JSON from our API; here Accept is the provider's
	// business and is forwarded, so only the caller sets it.
	req.Header.Del("Accept")
	req.Header.Set("Connection-Id", r.ConnectionID)
	req.Header.Set("Provider-Config-Key", r.ProviderConfigKey)
	if r.Retries > 0 {
		req.Header.Set("Retries", strconv.Itoa(r.Retries))
	}
	if r.BaseURLOverride != "" {
		req.Header.Set("Base-Url-Override", r.BaseURLOverride)
	}
	for name, vals := range r.Headers {
		name = textproto.CanonicalMIMEHeaderKey(name)
		switch name {
		case "Content-Type", "Accept":
			req.Header[name] = vals
		default:
			req.Header["Nango-Proxy-"+name] = vals
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.Header.Get(ProxyAttemptsHeader) != "" || (resp.StatusCode >= 200 && resp.StatusCode <= 299) {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(resp)
}

// proxyURL is the server's /proxy/<endpoint> URL: the endpoint's escapes
// kept, its query and q appended.
func (c *Client) proxyURL(endpoint string, q url.Values) (string, error) {
	if strings.Contains(endpoint, "#") {
		return "", errors.New("client: Proxy Endpoint must not hold a fragment (#...)")
	}
	path, query, _ := strings.Cut(endpoint, "?")
	raw := strings.TrimSuffix(c.base.EscapedPath(), "/") + "/proxy/" + escapePath(strings.TrimLeft(path, "/"))
	p, err := url.PathUnescape(raw)
	if err != nil {
		return "", errors.New("client: Proxy Endpoint has invalid percent-escapes")
	}
	u := *c.base
	u.Path, u.RawPath = p, raw
	if extra := q.Encode(); extra != "" {
		if query != "" {
			query += "&"
		}
		query += extra
	}
	u.RawQuery = query
	return u.String(), nil
}

// escapePath percent-encodes the characters of p that may not appear in a
// URL path, keeping "/" and existing %XX escapes as written.
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			b.WriteString(p[i : i+3])
			i += 2
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@/", ch) >= 0:
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[ch>>4])
			b.WriteByte(hexDigits[ch&15])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
