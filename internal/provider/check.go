package provider

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// FieldError reports a value that does not match its declaration.
type FieldError struct {
	// Kind is "credential" or "connection config".
	Kind string
	// Field is the declared name.
	Field string
	// Problem says what is wrong (never the value itself: it may be secret).
	Problem string
}

// Error describes the problem.
func (e *FieldError) Error() string {
	return fmt.Sprintf("The %s value %q %s.", e.Kind, e.Field, e.Problem)
}

// patterns caches compiled declaration patterns; nil marks a pattern Go's
// regexp cannot compile (JavaScript look-arounds and the like).
var patterns sync.Map // string -> *regexp.Regexp

// fieldPattern compiles a declaration's pattern, or returns nil when Go's
// regexp does not support its syntax (such patterns are checked by the
// browser only).
func fieldPattern(p string) *regexp.Regexp {
	if v, ok := patterns.Load(p); ok {
		re, _ := v.(*regexp.Regexp)
		return re
	}
	re, err := regexp.Compile(p)
	if err != nil {
		re = nil
	}
	patterns.Store(p, re)
	return re
}

// Check validates value against the declaration: its enum, and its pattern
// when Go's regexp compiles it (patterns are JavaScript regular expressions;
// those using syntax Go lacks are left to the browser). An empty value is
// not checked here (see Optional).
func (f Field) Check(value string) string {
	if value == "" {
		return ""
	}
	if len(f.Enum) > 0 {
		ok := false
		for _, e := range f.Enum {
			if value == e {
				ok = true
				break
			}
		}
		if !ok {
			return "must be one of " + strings.Join(f.Enum, ", ")
		}
	}
	if f.Pattern != "" {
		if re := fieldPattern(f.Pattern); re != nil && !re.MatchString(value) {
			return "does not match the pattern " + f.Pattern
		}
	}
	return ""
}

// CheckCredentials validates credential values (apiKey; username,
// password; client_id, ...) against the template's credentials
// declarations. Undeclared names are not checked.
func (t *Template) CheckCredentials(values map[string]string) *FieldError {
	for _, f := range t.Credentials {
		if p := f.Check(values[f.Name]); p != "" {
			return &FieldError{Kind: "credential", Field: f.Name, Problem: p}
		}
	}
	return nil
}

// CheckConnectionConfig validates the string values of a connection config
// against the template's connection_config declarations. With required,
// declared values that are neither optional, automated, hidden nor
// defaulted must be present.
func (t *Template) CheckConnectionConfig(cc map[string]any, required bool) *FieldError {
	for _, f := range t.ConnectionConfig {
		v, present := cc[f.Name]
		s, _ := v.(string)
		if (!present || s == "") && required && !f.Optional && !f.Automated && !f.Hidden && f.DefaultValue == "" {
			return &FieldError{Kind: "connection config", Field: f.Name, Problem: "is required (send it as params[" + f.Name + "])"}
		}
		if p := f.Check(s); p != "" {
			return &FieldError{Kind: "connection config", Field: f.Name, Problem: p}
		}
	}
	return nil
}

// WithDefaults returns cc plus the declared default_value of every
// connection-config value cc lacks (cc itself is not modified).
func (t *Template) WithDefaults(cc map[string]any) map[string]any {
	out := make(map[string]any, len(cc))
	for k, v := range cc {
		out[k] = v
	}
	for _, f := range t.ConnectionConfig {
		if f.DefaultValue == "" {
			continue
		}
		if s, _ := out[f.Name].(string); s == "" {
			out[f.Name] = f.DefaultValue
		}
	}
	return out
}

// Rehost returns a copy of t whose URLs (authorization, token, refresh,
// request, proxy base and verification base, every "||" alternative) keep
// their paths but have their scheme and host — placeholders included —
// replaced by base ("http://127.0.0.1:8080"). Tests point real catalog
// templates at a recording server with it.
func (t *Template) Rehost(base string) *Template {
	c := *t
	base = strings.TrimSuffix(base, "/")
	c.AuthorizationURL = rehost(t.AuthorizationURL, base)
	c.TokenURL = rehost(t.TokenURL, base)
	c.RefreshURL = rehost(t.RefreshURL, base)
	c.RequestURL = rehost(t.RequestURL, base)
	c.Proxy.BaseURL = rehost(t.Proxy.BaseURL, base)
	if v := t.Proxy.Verification; v != nil {
		vc := *v
		vc.BaseURLOverride = rehost(v.BaseURLOverride, base)
		c.Proxy.Verification = &vc
	}
	return &c
}

func rehost(u, base string) string {
	if strings.TrimSpace(u) == "" {
		return u
	}
	alts, err := Alternatives(u)
	if err != nil {
		return u
	}
	for i, a := range alts {
		rest := a
		if k := strings.Index(rest, "://"); k >= 0 {
			rest = rest[k+3:]
		} else if strings.HasPrefix(rest, "${") {
			// A whole URL from the connection config: ${connectionConfig.instance_url}/x.
			if end := strings.IndexByte(rest, '}'); end >= 0 {
				rest = rest[end+1:]
				alts[i] = base + rest
				continue
			}
		}
		path := ""
		depth := 0
		for j := 0; j < len(rest); j++ {
			switch {
			case strings.HasPrefix(rest[j:], "${"):
				depth++
				j++
			case rest[j] == '}' && depth > 0:
				depth--
			case depth == 0 && (rest[j] == '/' || rest[j] == '?'):
				path = rest[j:]
				j = len(rest)
			}
		}
		alts[i] = base + path
	}
	return strings.Join(alts, " || ")
}
