package provider

import (
	"regexp"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

// simpleRefRE finds the plain-name placeholders of a string, including
// those nested in function arguments.
var simpleRefRE = regexp.MustCompile(`\$\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}`)

// reserved names that are not connection-config values when bare.
var reservedNames = map[string]bool{
	"apiKey": true, "accessToken": true, "clientId": true, "clientSecret": true, "random": true, "now": true,
	"method": true, "host": true, "path": true, "params": true, "bodyCanonicalParams": true,
}

// ConfigRefs returns the connection-config names s refers to, in order,
// deduplicated: X of ${connectionConfig.X}, ${connectionConfig.params.X},
// and of a bare ${X} that is not a reserved name.
func ConfigRefs(s string) []string {
	var out []string
	for _, m := range simpleRefRE.FindAllStringSubmatch(s, -1) {
		e := m[1]
		if p, ok := configName(e); ok {
			out = appendUnique(out, p)
			continue
		}
		if strings.HasPrefix(e, "credentials.") || strings.HasPrefix(e, "connectionConfig") || reservedNames[e] {
			continue
		}
		out = appendUnique(out, e)
	}
	return out
}

// credentialRefs returns the credential names s refers to (${credentials.X}, ${apiKey}).
func credentialRefs(s string) []string {
	var out []string
	for _, m := range simpleRefRE.FindAllStringSubmatch(s, -1) {
		if c, ok := strings.CutPrefix(m[1], "credentials."); ok && c != "" {
			out = appendUnique(out, c)
		} else if m[1] == "apiKey" {
			out = appendUnique(out, "apiKey")
		}
	}
	return out
}

// allStrings lists every interpolated string of the template, URLs first.
func (t *Template) allStrings() []string {
	out := []string{t.TokenURL, t.AuthorizationURL, t.RefreshURL, t.RequestURL, t.Proxy.BaseURL, verificationBase(t)}
	for _, s := range t.interpolated() {
		out = append(out, s.val)
	}
	return out
}

// ConnectionConfigParams lists the connection-config values an end user
// supplies for this template (the dashboard's connectionConfigParams): the
// names used by token_url, then authorization_url (as the reference
// computes them), then the declared connection_config entries, then names
// used elsewhere (refresh_url, the proxy base URL, headers, query, ...).
// Entries declared automated (filled from the callback or token response)
// are left out.
func (t *Template) ConnectionConfigParams() []string {
	automated := make(map[string]bool)
	for _, f := range t.ConnectionConfig {
		if f.Automated {
			automated[f.Name] = true
		}
	}
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if !automated[n] {
				out = appendUnique(out, n)
			}
		}
	}
	add(ConfigRefs(t.TokenURL)...)
	add(ConfigRefs(t.AuthorizationURL)...)
	for _, f := range t.ConnectionConfig {
		add(f.Name)
	}
	for _, s := range t.allStrings() {
		add(ConfigRefs(s)...)
	}
	return out
}

// sampleSafeRE matches declared examples usable as sample values anywhere in a URL.
var sampleSafeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// SampleTime returns the clock of SampleVars (2024-01-02T03:04:05Z).
func SampleTime() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// SampleURL is the sample value of a connection-config value that a
// template uses as a whole URL (at the start of a URL).
const SampleURL = "https://sample.example.com"

// SampleVars returns values for every placeholder the template uses, for
// tests and load-time validation: a connection-config value that starts a
// URL gets SampleURL, one with an enum its first value, else its declared
// example when that is a plain word, else "443" for a port, else "sample";
// credentials get "sample-<name>"; ${accessToken}, ${clientId} and
// ${clientSecret} get "sample-..." values; the clock is SampleTime and the
// request a GET of https://api.example.com/v1/items?b=2&a=1.
func (t *Template) SampleVars() Vars {
	v := Vars{
		ConnectionConfig: map[string]any{},
		Credentials:      map[string]secret.String{},
		AccessToken:      "sample-access-token",
		ClientID:         "sample-client-id",
		ClientSecret:     "sample-client-secret",
		Now:              SampleTime(),
		Random:           func() string { return "sample-random" },
		Request:          &Request{Method: "GET", Host: "api.example.com", Path: "/v1/items", RawQuery: "b=2&a=1"},
	}
	urlStart := map[string]bool{}
	for _, s := range []string{t.TokenURL, t.AuthorizationURL, t.RefreshURL, t.RequestURL, t.Proxy.BaseURL, verificationBase(t)} {
		alts, err := Alternatives(s)
		if err != nil {
			continue
		}
		for _, a := range alts {
			end := strings.IndexByte(a, '}')
			if !strings.HasPrefix(a, "${") || end < 0 {
				continue
			}
			if refs := ConfigRefs(a[:end+1]); len(refs) == 1 {
				urlStart[refs[0]] = true
			}
		}
	}
	names := []string{}
	for _, f := range t.ConnectionConfig {
		names = append(names, f.Name)
	}
	for _, s := range t.allStrings() {
		names = append(names, ConfigRefs(s)...)
		for _, c := range credentialRefs(s) {
			v.Credentials[c] = secret.String("sample-" + c)
		}
	}
	for _, f := range t.Credentials {
		v.Credentials[f.Name] = secret.String("sample-" + f.Name)
	}
	for _, n := range names {
		if _, done := v.ConnectionConfig[n]; done {
			continue
		}
		f, _ := t.ConnectionConfigField(n)
		switch {
		case urlStart[n]:
			v.ConnectionConfig[n] = SampleURL
		case len(f.Enum) > 0 && f.Enum[0] != "":
			v.ConnectionConfig[n] = f.Enum[0]
		case sampleSafeRE.MatchString(f.Example):
			v.ConnectionConfig[n] = f.Example
		case strings.Contains(strings.ToLower(n), "port"):
			v.ConnectionConfig[n] = "443"
		default:
			v.ConnectionConfig[n] = "sample"
		}
	}
	return v
}
