package proxy

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// hopByHop are the connection-level headers (RFC 9110 §7.6.1) that never
// cross a proxy, in either direction, plus the framing headers the proxy
// sets itself.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Proxy-Connection":    true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// connectionTokens returns the header names listed in h's Connection
// headers (also hop-by-hop), canonicalised.
func connectionTokens(h http.Header) map[string]bool {
	var out map[string]bool
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if out == nil {
				out = map[string]bool{}
			}
			out[textproto.CanonicalMIMEHeaderKey(name)] = true
		}
	}
	return out
}

// notForwardable are caller header names (after the prefix is stripped)
// the proxy never sends: hop-by-hop and framing headers, and Host (the
// upstream host is the template's).
func notForwardable(name string) bool {
	return hopByHop[name] || name == "Host" || name == "Content-Length"
}

// headers computes the upstream request headers of one attempt: the
// caller's Content-Type and Accept, the credentials, the template's proxy
// headers, the caller's Nango-Proxy-* headers (which win), then the OAuth 1
// signature when nobody set an Authorization header.
func (c *call) headers(p *plan, method string, now time.Time) (http.Header, *httpx.Error) {
	in := c.r.Header
	out := http.Header{}
	if v := in.Values("Content-Type"); len(v) > 0 {
		out["Content-Type"] = v
	}
	if p.body != nil && p.body.contentType != "" && out.Get("Content-Type") == "" {
		out.Set("Content-Type", p.body.contentType)
	}
	if v := in.Values("Accept"); len(v) > 0 {
		out["Accept"] = v
	}
	out.Set("User-Agent", c.h.o.UserAgent)

	cr := p.conn.Credentials
	templateAuth := false
	for _, h := range p.tmpl.Proxy.Headers {
		if strings.EqualFold(h.Name, "Authorization") {
			templateAuth = true
		}
	}
	switch cr.Type {
	case store.OAuth2, store.OAuth2CC:
		if !cr.AccessToken.IsZero() {
			out.Set("Authorization", "Bearer "+cr.AccessToken.Reveal())
		}
	case store.Basic:
		if !templateAuth {
			out.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cr.Username+":"+cr.Password.Reveal())))
		}
	}

	if len(p.tmpl.Proxy.Headers) > 0 {
		v := p.vars
		v.Now = now
		v.Request = &provider.Request{
			Method:   method,
			Host:     p.target.Host,
			Path:     p.target.EscapedPath(),
			RawQuery: p.target.RawQuery,
			Body:     p.body.bytes(),
		}
		for _, h := range p.tmpl.Proxy.Headers {
			val, err := provider.Interpolate(h.Value, v)
			var me *provider.MissingError
			if errors.As(err, &me) && p.tmpl.OnlyOptionalMissing(me) {
				continue // built from optional values this connection lacks
			}
			if e := interpolationError("header "+h.Name, err); e != nil {
				return nil, e
			}
			out.Set(h.Name, val)
		}
	}

	conn := connectionTokens(in)
	var forwarded http.Header
	for name, vals := range in {
		rest, ok := cutPrefixFold(name, ForwardPrefix)
		if !ok || rest == "" {
			continue
		}
		rest = textproto.CanonicalMIMEHeaderKey(rest)
		if notForwardable(rest) || conn[name] {
			continue
		}
		if forwarded == nil {
			forwarded = http.Header{}
		}
		forwarded[rest] = append(forwarded[rest], vals...)
	}
	for name, vals := range forwarded {
		out[name] = vals
	}

	if cr.Type == store.OAuth1 && out.Get("Authorization") == "" {
		var form []byte
		if isForm(out.Get("Content-Type")) {
			form = p.body.bytes()
		}
		auth, err := oauth.SignOAuth1(oauth.OAuth1Signing{
			Method:          method,
			URL:             p.target,
			Form:            form,
			ConsumerKey:     p.in.ClientID,
			ConsumerSecret:  p.in.ClientSecret,
			Token:           cr.OAuthToken.Reveal(),
			TokenSecret:     cr.OAuthTokenSecret,
			SignatureMethod: p.tmpl.SignatureMethod,
			Timestamp:       now.Unix(),
		})
		if err != nil {
			return nil, httpx.Ef("internal_error", "The OAuth 1.0a signature cannot be computed: %v.", err)
		}
		out.Set("Authorization", auth)
	}
	return out, nil
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
