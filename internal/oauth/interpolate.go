package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// hostBreakers are the characters that, inside a connection-config value
// interpolated into the middle of a URL, could move the URL to another host
// ("evil.example#" in https://${subdomain}.zendesk.com) or path.
const hostBreakers = "/?#@\\"

// interpolateURL interpolates a template URL (authorization_url, token_url,
// refresh_url) with the connection config (and, as a fallback, metadata).
// Missing values give url_param_err with the reference's text. A value used
// inside a URL (not at its start, where templates take a whole base URL)
// may not contain '/', '?', '#', '@', '\', whitespace or control characters:
// otherwise an end user could send the token request, with the client
// secret, to a host of their choosing.
func interpolateURL(tmpl string, cc, metadata map[string]any, clientID string) (*url.URL, error) {
	vars := provider.Vars{ConnectionConfig: cc, Metadata: metadata, ClientID: clientID}
	if err := checkURLValues(tmpl, vars); err != nil {
		return nil, err
	}
	out, err := provider.Interpolate(tmpl, vars)
	if err != nil {
		var me *provider.MissingError
		if errors.As(err, &me) {
			fe := ErrURLParam(out, cc)
			fe.Err = err
			return nil, fe
		}
		fe := ErrURLParam(tmpl, cc)
		fe.Err = err
		return nil, fe
	}
	u, err := url.Parse(out)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fe := ErrURLParam(out, cc)
		fe.Description = "The URL " + out + " built from the provider template and the Connection Config is not a valid http(s) URL."
		fe.Err = fmt.Errorf("oauth: invalid interpolated URL: %v", err)
		return nil, fe
	}
	return u, nil
}

// checkURLValues rejects connection-config values that would change the
// host or path of a URL they are interpolated into.
func checkURLValues(tmpl string, vars provider.Vars) error {
	if !strings.Contains(tmpl, "${") {
		return nil
	}
	alts, err := provider.Alternatives(tmpl)
	if err != nil {
		return nil // Interpolate reports it
	}
	for _, alt := range alts {
		for i := 0; i < len(alt); i++ {
			if !strings.HasPrefix(alt[i:], "${") {
				continue
			}
			end := strings.IndexByte(alt[i:], '}')
			if end < 0 {
				break
			}
			ph := alt[i : i+end+1]
			atStart := i == 0
			i += end
			if atStart {
				continue
			}
			for _, name := range provider.ConfigRefs(ph) {
				v, ok := lookupString(vars.ConnectionConfig, name)
				if !ok {
					v, ok = lookupString(vars.Metadata, name)
				}
				if !ok {
					continue
				}
				if strings.ContainsAny(v, hostBreakers) || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
					return &FlowError{
						Type: ErrTypeURLParam,
						Description: fmt.Sprintf("Connection Config param %q may not contain '/', '?', '#', '@', '\\', spaces or control characters: it is interpolated into the url %s.",
							name, tmpl),
					}
				}
			}
		}
	}
	return nil
}

func lookupString(m map[string]any, name string) (string, bool) {
	if m == nil {
		return "", false
	}
	s, ok := m[name].(string)
	return s, ok
}

// baseURL is scheme://host/path of u: the reference drops a template URL's
// query string (SPEC §3.2).
func baseURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment, c.User = "", false, "", "", nil
	return c.String()
}

// endpointText is u without query, fragment and user info: what errors and
// logs may name.
func endpointText(u *url.URL) string { return baseURL(u) }

// interpolateParams resolves the placeholders of template parameters
// (authorization_params, token_params, refresh_params, request_params) with
// the connection config (metadata as a fallback), ${clientId},
// ${clientSecret} and ${random}. A parameter whose placeholders have no
// value is left out when every missing value is declared optional in the
// template's connection_config (or the template skips empty authorization
// parameters); otherwise the result is url_param_err naming the parameter.
func interpolateParams(t *provider.Template, ps provider.Params, cc, md map[string]any, in store.Integration) (params, error) {
	var out params
	vars := provider.Vars{ConnectionConfig: cc, Metadata: md, ClientID: in.ClientID, ClientSecret: in.ClientSecret}
	for _, x := range ps {
		if !strings.Contains(x.Value, "${") && !strings.Contains(x.Value, "||") {
			out.set(x.Name, x.Value)
			continue
		}
		v, err := provider.Interpolate(x.Value, vars)
		if err == nil {
			out.set(x.Name, v)
			continue
		}
		var me *provider.MissingError
		if errors.As(err, &me) && optionalOnly(t, me) {
			continue
		}
		if cc == nil {
			cc = map[string]any{}
		}
		fe := ErrURLParam(x.Name+"="+x.Value, cc)
		fe.Description = fmt.Sprintf("Missing Connection Config param(s) for the parameter %s=%s of the provider template. Provided Connection Config: %s",
			x.Name, x.Value, configJSON(cc))
		fe.Err = err
		return nil, fe
	}
	return out, nil
}

// optionalOnly reports whether every missing value of me may be absent:
// declared optional connection-config values, or any value of a template
// that skips empty authorization parameters.
func optionalOnly(t *provider.Template, me *provider.MissingError) bool {
	if t != nil && t.AuthorizationURLSkipEmpty {
		return true
	}
	return t.OnlyOptionalMissing(me)
}
