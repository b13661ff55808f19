package provider

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error is a problem found in a catalog file.
type Error struct {
	// File is the file name ("built-in catalog.yaml" for the embedded one).
	File string
	// Line is the 1-based line, 0 when unknown.
	Line int
	// Template is the template concerned, "" for file-level problems.
	Template string
	// Problem says what is wrong.
	Problem string
}

// Error formats the problem as "file:line: template "x": problem".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Template != "" {
		b.WriteString("template ")
		b.WriteString(strconv.Quote(e.Template))
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// maxErrors bounds how many problems one file reports.
const maxErrors = 20

type decoder struct {
	file string
	tmpl string
	errs []*Error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Template: d.tmpl, Problem: fmt.Sprintf(format, args...)})
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "an unexpected node"
}

// mapping calls fn for each pair of the map n, rejecting non-maps,
// non-string keys and duplicate keys.
func (d *decoder) mapping(n *yaml.Node, what string, fn func(key string, k, v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a map, got %s", what, kindName(n))
		return false
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			d.errorf(k, "%s: keys must be strings", what)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
	return true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a string, got %s", what, kindName(n))
		return ""
	}
	switch n.ShortTag() {
	case "!!null", "!!bool":
		d.errorf(n, "%s: expected a string, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// scalar accepts any string, number or boolean scalar as text.
func (d *decoder) scalar(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "%s: expected a string, number or boolean, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, "%s: expected true or false, got %s", what, kindName(n))
		return false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(n, "%s: %v", what, err)
	}
	return b
}

func (d *decoder) integer(n *yaml.Node, what string) int64 {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(n, "%s: expected an integer, got %s", what, kindName(n))
		return 0
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.errorf(n, "%s: %q is not a 64-bit integer", what, n.Value)
	}
	return i
}

func (d *decoder) enum(n *yaml.Node, what string, allowed ...string) string {
	s := d.str(n, what)
	if s == "" && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		d.errorf(n, "%s: must not be empty (allowed: %s)", what, strings.Join(allowed, ", "))
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	if s != "" {
		d.errorf(n, "%s: %q is not one of %s", what, s, strings.Join(allowed, ", "))
	}
	return ""
}

func (d *decoder) strList(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: expected a list, got %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		c = resolve(c)
		out = append(out, d.scalar(c, what+" item"))
	}
	return out
}

func (d *decoder) params(n *yaml.Node, what string) Params {
	var out Params
	if !d.mapping(n, what, func(key string, _, v *yaml.Node) {
		out = append(out, Param{Name: key, Value: d.scalar(v, what+"."+key)})
	}) {
		return nil
	}
	if out == nil {
		out = Params{}
	}
	return out
}

func (d *decoder) anyValue(n *yaml.Node, what string) any {
	var v any
	if err := n.Decode(&v); err != nil {
		d.errorf(n, "%s: %v", what, err)
	}
	return v
}

func (d *decoder) fields(n *yaml.Node, what string) []Field {
	var out []Field
	d.mapping(n, what, func(name string, _, v *yaml.Node) {
		f := Field{Name: name}
		w := what + "." + name
		d.mapping(v, w, func(key string, _, x *yaml.Node) {
			kw := w + "." + key
			switch key {
			case "type":
				f.Type = d.enum(x, kw, "string")
			case "title":
				f.Title = d.str(x, kw)
			case "description":
				f.Description = d.str(x, kw)
			case "example":
				f.Example = d.scalar(x, kw)
			case "pattern":
				f.Pattern = d.str(x, kw)
			case "format":
				f.Format = d.str(x, kw)
			case "prefix":
				f.Prefix = d.str(x, kw)
			case "suffix":
				f.Suffix = d.str(x, kw)
			case "enum":
				f.Enum = d.strList(x, kw)
			case "default_value":
				f.DefaultValue = d.scalar(x, kw)
			case "optional":
				f.Optional = d.boolean(x, kw)
			case "hidden":
				f.Hidden = d.boolean(x, kw)
			case "automated":
				f.Automated = d.boolean(x, kw)
			case "secret":
				f.Secret = d.boolean(x, kw)
			case "order":
				f.Order = int(d.integer(x, kw))
			case "doc_section":
				f.DocSection = d.str(x, kw)
			case "warnings":
				f.Warnings = d.params(x, kw).Map()
			default:
				d.errorf(x, "%s: unknown key %q", w, key)
			}
		})
		if f.Type == "" {
			f.Type = "string"
		}
		out = append(out, f)
	})
	return out
}

func (d *decoder) retry(n *yaml.Node) *Retry {
	r := &Retry{}
	d.mapping(n, "proxy.retry", func(key string, _, v *yaml.Node) {
		w := "proxy.retry." + key
		switch key {
		case "after":
			r.After = d.strList(v, w)
		case "at":
			r.At = d.strList(v, w)
		case "error_code":
			r.ErrorCodes = d.strList(v, w)
		case "remaining":
			r.Remaining = d.str(v, w)
		case "in_body":
			ib := &RetryInBody{}
			d.mapping(v, w, func(k string, _, x *yaml.Node) {
				switch k {
				case "path":
					ib.Path = d.str(x, w+".path")
				case "value":
					ib.Value = d.str(x, w+".value")
				case "strategy":
					ib.Strategy = d.enum(x, w+".strategy", "after", "at")
				default:
					d.errorf(x, "%s: unknown key %q", w, k)
				}
			})
			r.InBody = ib
		default:
			d.errorf(v, "proxy.retry: unknown key %q", key)
		}
	})
	return r
}

func (d *decoder) verification(n *yaml.Node) *Verification {
	vf := &Verification{}
	d.mapping(n, "proxy.verification", func(key string, _, v *yaml.Node) {
		w := "proxy.verification." + key
		switch key {
		case "method":
			vf.Method = d.enum(v, w, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
		case "endpoints":
			vf.Endpoints = d.strList(v, w)
		case "headers":
			vf.Headers = d.params(v, w)
		case "base_url_override":
			vf.BaseURLOverride = d.str(v, w)
		case "data":
			vf.Data = d.anyValue(v, w)
		default:
			d.errorf(v, "proxy.verification: unknown key %q", key)
		}
	})
	if vf.Method == "" {
		vf.Method = "GET"
	}
	return vf
}

func (d *decoder) proxy(n *yaml.Node) Proxy {
	var p Proxy
	d.mapping(n, "proxy", func(key string, _, v *yaml.Node) {
		w := "proxy." + key
		switch key {
		case "base_url":
			p.BaseURL = d.str(v, w)
		case "headers":
			p.Headers = d.params(v, w)
		case "query":
			p.Query = d.params(v, w)
		case "body":
			if m, ok := d.anyValue(v, w).(map[string]any); ok {
				p.Body = m
			} else {
				d.errorf(v, "%s: expected a map, got %s", w, kindName(v))
			}
		case "retry":
			p.Retry = d.retry(v)
		case "decompress":
			p.Decompress = d.boolean(v, w)
		case "verification":
			p.Verification = d.verification(v)
		case "paginate", "connection_config":
			// Known but ignored (see docs/catalog.md).
		default:
			d.errorf(v, "proxy: unknown key %q", key)
		}
	})
	return p
}

// ignoredKeys are template keys of the reference schema that a self-hosted
// token server has no use for; they are accepted and dropped.
var ignoredKeys = map[string]bool{
	"auth":                            true, // seed-era leftover, never read by the reference
	"connection_configuration":        true, // post-connection script inputs
	"credentials_verification_script": true,
	"installation":                    true,
	"post_connection_script":          true,
	"pre_connection_deletion_script":  true,
	"webhook_allowed_query_params":    true,
	"webhook_response_metadata":       true,
	"webhook_routing_script":          true,
	"webhook_user_defined_secret":     true,
}

// otherModes are auth modes of the reference that this server does not implement.
var otherModes = map[string]bool{
	"TWO_STEP": true, "MCP_OAUTH2": true, "MCP_OAUTH2_GENERIC": true, "JWT": true, "BILL": true,
	"NONE": true, "AWS_SIGV4": true, "INSTALL_PLUGIN": true, "SIGNATURE": true, "APP": true,
	"CUSTOM": true, "TBA": true, "APP_STORE": true,
}

// apply decodes the keys of template node n onto t (keys present replace the
// whole field: the one-level merge aliases use). It returns the alias named
// by the node, if any.
func (d *decoder) apply(t *Template, n *yaml.Node) (alias string) {
	var hasRefresh, hasBaseAPI, hasProxy bool
	var refreshToken Params
	var baseAPI string
	var proxy Proxy
	var baseAPIKey *yaml.Node
	d.mapping(n, "template", func(key string, k, v *yaml.Node) {
		switch key {
		case "alias":
			alias = d.str(v, key)
			if alias == "" && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
				d.errorf(v, "alias: must name a template")
			}
		case "auth_mode":
			m := d.str(v, key)
			switch {
			case AuthMode(m).Valid():
				t.AuthMode = AuthMode(m)
			case otherModes[m]:
				d.errorf(v, "auth_mode %s is not supported by this server (supported: OAUTH2, OAUTH1, API_KEY, BASIC, OAUTH2_CC)", m)
			case m != "":
				d.errorf(v, "unknown auth_mode %q (supported: OAUTH2, OAUTH1, API_KEY, BASIC, OAUTH2_CC)", m)
			}
		case "display_name":
			t.DisplayName = d.str(v, key)
		case "categories":
			t.Categories = d.strList(v, key)
		case "docs":
			t.Docs = d.str(v, key)
		case "docs_connect":
			t.DocsConnect = d.str(v, key)
		case "setup_guide_url":
			t.SetupGuideURL = d.str(v, key)
		case "authorization_url":
			t.AuthorizationURL = d.str(v, key)
		case "authorization_params":
			t.AuthorizationParams = d.params(v, key)
		case "authorization_url_replacements":
			t.AuthorizationURLReplacements = d.params(v, key)
		case "authorization_url_fragment":
			t.AuthorizationURLFragment = d.str(v, key)
		case "authorization_url_skip_empty":
			t.AuthorizationURLSkipEmpty = d.boolean(v, key)
		case "authorization_url_skip_encode":
			t.AuthorizationURLSkipEncode = d.strList(v, key)
		case "decode_url":
			t.DecodeURL = d.boolean(v, key)
		case "authorization_code_param_in_callback":
			t.AuthorizationCodeParam = d.str(v, key)
		case "authorization_code_param_in_webhook":
			t.AuthorizationCodeParamInWebhook = d.str(v, key)
		case "token_url":
			t.TokenURL = d.str(v, key)
		case "token_params":
			t.TokenParams = d.params(v, key)
		case "token_headers":
			t.TokenHeaders = d.params(v, key)
		case "refresh_url":
			t.RefreshURL = d.str(v, key)
		case "refresh_params":
			hasRefresh = true
			t.RefreshParams = d.params(v, key)
		case "refresh_token_params":
			refreshToken = d.params(v, key)
		case "scope_separator":
			t.ScopeSeparator = d.str(v, key)
			if t.ScopeSeparator == "" && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
				d.errorf(v, "scope_separator: must not be empty")
			}
		case "default_scopes":
			t.DefaultScopes = d.strList(v, key)
		case "disable_pkce":
			t.DisablePKCE = d.boolean(v, key)
		case "authorization_method":
			t.AuthorizationMethod = d.enum(v, key, AuthorizationMethodBody, AuthorizationMethodHeader)
		case "body_format":
			t.BodyFormat = d.enum(v, key, BodyFormatForm, BodyFormatJSON, BodyFormatQuery)
		case "token_request_auth_method":
			t.TokenRequestAuthMethod = d.enum(v, key, TokenAuthBasic, TokenAuthPrivateKeyJWT, TokenAuthCustom)
		case "require_client_certificate":
			t.RequireClientCertificate = d.boolean(v, key)
		case "alternate_access_token_response_path":
			t.AlternateAccessTokenResponsePath = d.str(v, key)
		case "expires_in_unit":
			t.ExpiresInUnit = d.enum(v, key, ExpiresInSeconds, ExpiresInMilliseconds)
		case "token_expires_in_ms":
			ms := d.integer(v, key)
			if ms < 0 {
				d.errorf(v, "token_expires_in_ms: must not be negative")
			}
			dur := time.Duration(ms) * time.Millisecond
			t.TokenExpiresIn = &dur
		case "token_expiration_buffer":
			t.RefreshMargin = d.margin(v)
		case "redirect_uri_metadata":
			t.RedirectURIMetadata = d.strList(v, key)
		case "token_response_metadata":
			t.TokenResponseMetadata = d.strList(v, key)
		case "refresh_token_response_metadata":
			t.RefreshTokenResponseMetadata = d.strList(v, key)
		case "request_url":
			t.RequestURL = d.str(v, key)
		case "request_params":
			t.RequestParams = d.params(v, key)
		case "request_http_method":
			t.RequestHTTPMethod = d.enum(v, key, "GET", "POST", "PUT")
		case "token_http_method":
			t.TokenHTTPMethod = d.enum(v, key, "GET", "POST", "PUT")
		case "signature_method":
			t.SignatureMethod = d.enum(v, key, SignatureHMACSHA1, SignatureRSASHA1, SignaturePlaintext)
		case "base_api_url":
			hasBaseAPI, baseAPIKey = true, k
			baseAPI = d.str(v, key)
		case "proxy":
			hasProxy = true
			proxy = d.proxy(v)
		case "connection_config":
			t.ConnectionConfig = d.fields(v, key)
		case "credentials":
			t.Credentials = d.fields(v, key)
		case "integration_config":
			t.IntegrationConfig = d.fields(v, key)
		default:
			if !ignoredKeys[key] {
				d.errorf(k, "unknown key %q", key)
			}
		}
	})
	if hasProxy {
		t.Proxy = proxy
	}
	if hasBaseAPI {
		if hasProxy && proxy.BaseURL != "" {
			d.errorf(baseAPIKey, "base_api_url and proxy.base_url are both set; keep one")
		}
		t.Proxy.BaseURL = baseAPI
	}
	if !hasRefresh && refreshToken != nil {
		t.RefreshParams = refreshToken
	}
	return alias
}

// margin decodes token_expiration_buffer: integer seconds or a Go duration.
func (d *decoder) margin(n *yaml.Node) time.Duration {
	const what = "token_expiration_buffer"
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		s := d.integer(n, what)
		if s < 0 || s > 86400*7 {
			d.errorf(n, "%s: %d seconds is out of range (0 to 604800)", what, s)
			return 0
		}
		return time.Duration(s) * time.Second
	}
	s := d.str(n, what)
	if s == "" {
		return 0
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 || dur > 7*24*time.Hour {
		d.errorf(n, "%s: %q is neither integer seconds nor a duration such as \"5m\" (0 to 168h)", what, s)
		return 0
	}
	return dur
}
