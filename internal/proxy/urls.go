package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
)

// resolveBase interpolates a template's base URL (with its "||"
// alternatives) and checks the result. guarded reports whether the host
// came from connection data (a placeholder in the URL's authority) rather
// than from the template's own text: such hosts may not be private
// addresses (see transport.go).
//
// Connection config and metadata are written by end users and providers,
// so a value may only take part in the URL when it cannot change which host
// is called beyond its placeholder: a value used inside the URL may hold no
// "/", "?", "#", "@", "\", "%", whitespace or non-ASCII character, and a ":"
// only before a port number; a value standing for the whole URL (an
// alternative that starts with a placeholder, like salesforce's
// ${connectionConfig.instance_url}) must be an absolute http(s) URL without
// credentials, query or fragment.
func resolveBase(tmplBase string, v provider.Vars) (*url.URL, bool, *httpx.Error) {
	alts, err := provider.Alternatives(tmplBase)
	if err != nil {
		return nil, false, httpx.Ef("internal_error", "The provider template's base URL is malformed: %v.", err)
	}
	var missing []string
	for _, alt := range alts {
		if _, err := provider.Interpolate(alt, v); err != nil {
			var me *provider.MissingError
			if !errors.As(err, &me) {
				return nil, false, httpx.Ef("internal_error", "The provider template's base URL is malformed: %v.", err)
			}
			missing = append(missing, me.Names...)
			continue
		}
		whole := strings.HasPrefix(alt, "${")
		safe := v
		safe.ConnectionConfig = safeValues(v.ConnectionConfig, whole)
		safe.Metadata = safeValues(v.Metadata, whole)
		out, err := provider.Interpolate(alt, safe)
		if err != nil {
			var me *provider.MissingError
			names := []string{}
			if errors.As(err, &me) {
				names = me.Names
			}
			return nil, false, httpx.Ef("invalid_connection_config",
				"The connection's %s cannot be used in the provider's API URL: it holds characters that could change the host called.", strings.Join(names, ", ")).
				WithPayload(map[string]any{"invalid": names})
		}
		u, cerr := checkAbsolute(out)
		if cerr != nil {
			return nil, false, httpx.Ef("invalid_connection_config", "The provider's API URL built from the template and the connection %s.", cerr)
		}
		return u, !literalAuthority(alt), nil
	}
	return nil, false, httpx.Ef("missing_connection_config",
		"The provider template's base URL needs values this connection lacks: %s.", strings.Join(dedupe(missing), ", ")).
		WithPayload(map[string]any{"missing": dedupe(missing)})
}

// literalAuthority reports whether the scheme and host of a template URL
// are written out (no placeholder before the path).
func literalAuthority(s string) bool {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || strings.Contains(scheme, "${") {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return !strings.Contains(rest[:end], "${")
}

// safeValues returns m without the string values that may not take part in
// a URL (see resolveBase); whole also admits absolute http(s) URLs.
func safeValues(m map[string]any, whole bool) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case string:
			if safeInURL(t) || (whole && urlValue(t)) {
				out[k] = t
			}
		case map[string]any:
			out[k] = safeValues(t, whole)
		default:
			out[k] = v // numbers
		}
	}
	return out
}

// safeInURL reports whether s can stand inside a URL without changing its
// structure: printable ASCII without / ? # @ \ % and with ":" only before a
// port number.
func safeInURL(s string) bool {
	if s == "" {
		return false
	}
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		ch := host[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte("/?#@\\%[]", ch) >= 0 {
			return false
		}
	}
	return true
}

func urlValue(s string) bool {
	_, err := checkAbsolute(s)
	return err == nil
}

// checkAbsolute parses an API base URL: absolute http(s), a plain host name
// or IP address, an optional numeric port, no credentials, no fragment.
// The error completes a sentence ("... is not ...").
func checkAbsolute(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("is not an http or https URL")
	case u.Opaque != "" || u.Host == "":
		return nil, errors.New("has no host")
	case u.User != nil:
		return nil, errors.New("holds credentials (user@host)")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, errors.New("holds a fragment (#...)")
	}
	if !validHost(u.Hostname()) {
		return nil, fmt.Errorf("has an invalid host %q", clip(u.Hostname(), 100))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("has an invalid port %q", clip(p, 10))
		}
	}
	return u, nil
}

// validHost accepts DNS names (letters, digits, "-", "_", ".") and IP
// addresses.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		ch := h[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_') {
			return false
		}
	}
	return !strings.HasPrefix(h, ".") && !strings.Contains(h, "..")
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
