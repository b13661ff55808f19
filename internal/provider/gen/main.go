// Command gen writes the built-in provider catalog (internal/provider/catalog.yaml)
// and docs/providers.md from the provider facts of the reference
// (shared/reference/providers-seed-era.yaml and providers-latest.yaml).
//
// It is run by go generate in internal/provider:
//
//	go run ./gen -reference ../../../shared/reference -catalog catalog.yaml -docs ../../docs/providers.md
//
// Rules (docs/catalog.md explains them): every template of the current file
// whose auth mode, or whose alias target's auth mode, is OAUTH2, OAUTH1,
// API_KEY, BASIC or OAUTH2_CC is written, plus every seed-era template the
// current file lacks; the current facts win for names in both, except for the
// documented overrides below. Keys a self-hosted token server ignores, and
// the prose descriptions of fields, are not carried over. Output is sorted
// and deterministic.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nango-go/nango/internal/provider"
)

func main() {
	ref := flag.String("reference", "../../../shared/reference", "folder holding providers-seed-era.yaml and providers-latest.yaml")
	catalogOut := flag.String("catalog", "catalog.yaml", "catalog file to write")
	docsOut := flag.String("docs", "../../docs/providers.md", "providers.md to write")
	flag.Parse()
	if err := run(*ref, *catalogOut, *docsOut); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(ref, catalogOut, docsOut string) error {
	seed, err := readRef(filepath.Join(ref, "providers-seed-era.yaml"))
	if err != nil {
		return err
	}
	latest, err := readRef(filepath.Join(ref, "providers-latest.yaml"))
	if err != nil {
		return err
	}
	res, err := Generate(seed, latest)
	if err != nil {
		return err
	}
	if err := os.WriteFile(catalogOut, res.Catalog, 0o644); err != nil {
		return err
	}
	return os.WriteFile(docsOut, res.Docs, 0o644)
}

// refFile is one reference file: its entries in file order.
type refFile struct {
	names []string
	nodes map[string]*yaml.Node
}

func readRef(path string) (*refFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseRef(path, data)
}

func parseRef(path string, data []byte) (*refFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a map of templates", path)
	}
	top := doc.Content[0]
	f := &refFile{nodes: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(top.Content); i += 2 {
		name := top.Content[i].Value
		f.names = append(f.names, name)
		f.nodes[name] = top.Content[i+1]
	}
	return f, nil
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func getStr(m *yaml.Node, key string) string {
	if n := get(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// set replaces or appends key in map m.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}

func del(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// supported are the auth modes the catalog carries.
var supported = map[string]bool{"OAUTH2": true, "OAUTH1": true, "API_KEY": true, "BASIC": true, "OAUTH2_CC": true}

// excludedWhy says why templates of the other auth modes are left out.
var excludedWhy = map[string]string{
	"TWO_STEP":           "provider-specific two-step token exchange (token_response mappings, token_headers) not implemented",
	"MCP_OAUTH2":         "OAuth for MCP servers with dynamic client registration not implemented",
	"MCP_OAUTH2_GENERIC": "OAuth for arbitrary MCP servers with dynamic client registration not implemented",
	"JWT":                "credentials are JWTs the server signs itself; not implemented",
	"BILL":               "Bill.com session login not implemented",
	"NONE":               "no credentials: nothing for a token server to hold",
	"AWS_SIGV4":          "AWS role assumption (STS) not implemented",
	"INSTALL_PLUGIN":     "plugin installation flow not implemented",
	"SIGNATURE":          "request-signature credentials (token generated per request) not implemented",
	"APP":                "GitHub App installation flow not implemented",
	"CUSTOM":             "combined OAuth + App installation flow not implemented",
	"TBA":                "NetSuite token-based authentication not implemented",
	"APP_STORE":          "App Store Connect JWT flow not implemented",
}

// override is a documented deviation from the current reference facts.
type override struct {
	why   string
	apply func(t *yaml.Node)
}

// overrides are applied after the reference template is chosen. Each one is
// listed in docs/providers.md with its reason.
var overrides = map[string]override{
	"zoho": {
		why: "token_url gains a final `|| https://accounts.zoho.com/oauth/v2/token` alternative: the current template only resolves with the " +
			"`extension` param or the callback's `accounts-server`, which broke the seed-era zoho-crm/zoho-books/zoho-invoice aliases " +
			"(fixed accounts.zoho.com URLs, no params) at connect time (url_param_err).",
		apply: func(t *yaml.Node) {
			set(t, "token_url", str(getStr(t, "token_url")+" || https://accounts.zoho.com/oauth/v2/token"))
		},
	},
	"certn-partner": {
		why: "auth_mode OAUTH2_CC without any token_url while the proxy sends `Bearer ${apiKey}`: it is an API-key template, " +
			"so it is written as API_KEY with an apiKey credential.",
		apply: func(t *yaml.Node) {
			set(t, "auth_mode", str("API_KEY"))
			set(t, "credentials", &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
				str("apiKey"), {Kind: yaml.MappingNode, Content: []*yaml.Node{str("type"), str("string"), str("title"), str("API Key"), str("secret"), {Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}}},
			}})
		},
	},
}

// Result is what Generate produces.
type Result struct {
	Catalog []byte
	Docs    []byte
}

// refEntry is one reference template with its resolved facts.
type refEntry struct {
	name     string
	mode     string // resolved auth mode ("" when none)
	docs     string
	included bool
	why      string // exclusion reason
	source   string // "current", "seed era"
	note     string // deviation note
}

// Generate builds the catalog and the docs from the reference files.
func Generate(seed, latest *refFile) (*Result, error) {
	var entries []*refEntry
	out := map[string]*yaml.Node{}

	resolveMode := func(n *yaml.Node, f *refFile) string {
		for depth := 0; n != nil && depth < 4; depth++ {
			if m := getStr(n, "auth_mode"); m != "" {
				return m
			}
			a := getStr(n, "alias")
			if a == "" {
				return ""
			}
			n = f.nodes[a]
		}
		return ""
	}

	for _, name := range latest.names {
		n := latest.nodes[name]
		e := &refEntry{name: name, mode: resolveMode(n, latest), docs: getStr(n, "docs"), source: "current"}
		entries = append(entries, e)
		if !supported[e.mode] {
			switch {
			case e.mode == "":
				e.why = "no auth_mode"
			case excludedWhy[e.mode] != "":
				e.why = "auth mode " + e.mode + ": " + excludedWhy[e.mode]
			default:
				e.why = "auth mode " + e.mode + " not implemented"
			}
			continue
		}
		t := flattenAlias(n, latest)
		if o, ok := overrides[name]; ok {
			t = clone(t)
			o.apply(t)
			e.note = o.why
		}
		if getStr(t, "alias") != "" {
			if tm := resolveMode(latest.nodes[getStr(t, "alias")], latest); !supported[tm] && getStr(t, "auth_mode") == "" {
				e.why = "alias of an unsupported template"
				continue
			}
		}
		e.included = true
		out[name] = t
	}
	inLatest := map[string]bool{}
	for _, n := range latest.names {
		inLatest[n] = true
	}
	for _, name := range seed.names {
		if inLatest[name] {
			continue
		}
		n := seed.nodes[name]
		e := &refEntry{name: name, mode: resolveMode(n, seed), docs: getStr(n, "docs"), source: "seed era", included: true}
		entries = append(entries, e)
		out[name] = n
	}

	catalog, err := writeCatalog(out)
	if err != nil {
		return nil, err
	}
	cat, err := provider.Parse("generated catalog.yaml", catalog)
	if err != nil {
		return nil, fmt.Errorf("generated catalog does not load: %w", err)
	}
	for _, e := range entries {
		if e.included {
			if _, ok := cat.Get(e.name); !ok {
				return nil, fmt.Errorf("template %s missing from the generated catalog", e.name)
			}
		}
	}
	return &Result{Catalog: catalog, Docs: writeDocs(entries, cat)}, nil
}

// flattenAlias turns an alias of an alias into an alias of the final
// target carrying the intermediate entry's keys (the loader resolves one
// level only).
func flattenAlias(n *yaml.Node, f *refFile) *yaml.Node {
	target := getStr(n, "alias")
	if target == "" {
		return n
	}
	mid := f.nodes[target]
	if mid == nil || getStr(mid, "alias") == "" {
		return n
	}
	merged := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(mid.Content); i += 2 {
		set(merged, mid.Content[i].Value, mid.Content[i+1])
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "alias" {
			set(merged, n.Content[i].Value, n.Content[i+1])
		}
	}
	return flattenAlias(merged, f)
}

func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = clone(x)
	}
	return &c
}

// Key orders of the written catalog. Keys not listed and not ignored stop
// the generator, so new reference keys are noticed.
var (
	templateKeys = []string{
		"display_name", "alias", "auth_mode", "categories", "docs", "docs_connect", "setup_guide_url",
		"authorization_url", "authorization_params", "authorization_url_replacements", "authorization_url_fragment",
		"authorization_url_skip_empty", "authorization_url_skip_encode", "decode_url",
		"authorization_code_param_in_callback", "authorization_code_param_in_webhook",
		"token_url", "token_params", "token_headers", "refresh_url", "refresh_params",
		"scope_separator", "default_scopes", "disable_pkce", "authorization_method", "body_format",
		"token_request_auth_method", "require_client_certificate", "alternate_access_token_response_path",
		"expires_in_unit", "token_expires_in_ms", "token_expiration_buffer",
		"redirect_uri_metadata", "token_response_metadata", "refresh_token_response_metadata",
		"request_url", "request_params", "request_http_method", "token_http_method", "signature_method",
		"proxy", "connection_config", "credentials", "integration_config",
	}
	proxyKeys = []string{"base_url", "headers", "query", "body", "decompress", "retry", "verification"}
	fieldKeys = []string{"type", "title", "example", "pattern", "format", "prefix", "suffix", "enum", "default_value",
		"optional", "hidden", "automated", "secret", "order", "doc_section", "warnings"}
	droppedKeys = map[string]bool{
		"auth": true, "connection_configuration": true, "credentials_verification_script": true, "installation": true,
		"post_connection_script": true, "pre_connection_deletion_script": true, "webhook_allowed_query_params": true,
		"webhook_response_metadata": true, "webhook_routing_script": true, "webhook_user_defined_secret": true,
	}
	droppedProxyKeys = map[string]bool{"paginate": true, "connection_config": true}
	droppedFieldKeys = map[string]bool{"description": true}
)

// normalise rewrites a reference template into our written form.
func normalise(name string, t *yaml.Node) (*yaml.Node, error) {
	src := clone(t)
	if rp := get(src, "refresh_token_params"); rp != nil {
		if get(src, "refresh_params") == nil {
			set(src, "refresh_params", rp)
		}
		del(src, "refresh_token_params")
	}
	if b := get(src, "base_api_url"); b != nil {
		p := get(src, "proxy")
		if p == nil {
			p = &yaml.Node{Kind: yaml.MappingNode}
			set(src, "proxy", p)
		}
		if get(p, "base_url") == nil {
			set(p, "base_url", b)
		}
		del(src, "base_api_url")
	}
	if p := get(src, "proxy"); p != nil {
		np, err := ordered(name+".proxy", p, proxyKeys, droppedProxyKeys)
		if err != nil {
			return nil, err
		}
		set(src, "proxy", np)
	}
	for _, k := range []string{"connection_config", "credentials", "integration_config"} {
		m := get(src, k)
		if m == nil {
			continue
		}
		nm := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i+1 < len(m.Content); i += 2 {
			f, err := ordered(name+"."+k+"."+m.Content[i].Value, m.Content[i+1], fieldKeys, droppedFieldKeys)
			if err != nil {
				return nil, err
			}
			nm.Content = append(nm.Content, str(m.Content[i].Value), f)
		}
		set(src, k, nm)
	}
	return ordered(name, src, templateKeys, droppedKeys)
}

func ordered(what string, m *yaml.Node, order []string, dropped map[string]bool) (*yaml.Node, error) {
	known := map[string]bool{}
	for _, k := range order {
		known[k] = true
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i].Value
		if !known[k] && !dropped[k] {
			return nil, fmt.Errorf("%s: key %q is neither written nor knowingly dropped; teach the generator and the loader about it", what, k)
		}
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range order {
		if v := get(m, k); v != nil {
			out.Content = append(out.Content, str(k), restyle(v))
		}
	}
	return out, nil
}

// restyle drops the reference's formatting so the encoder chooses one style.
func restyle(n *yaml.Node) *yaml.Node {
	c := &yaml.Node{Kind: n.Kind, Tag: n.ShortTag(), Value: n.Value}
	if n.Kind == yaml.ScalarNode && c.Tag == "!!timestamp" {
		c.Tag = "!!str"
	}
	if n.Kind != yaml.ScalarNode {
		c.Tag = ""
	}
	for _, x := range n.Content {
		c.Content = append(c.Content, restyle(x))
	}
	return c
}

const catalogHeader = `# nango-go built-in provider catalog. GENERATED by internal/provider/gen
# (go generate ./internal/provider) from the provider facts in shared/reference;
# do not edit by hand: change the generator or add templates with
# NANGO_PROVIDERS_FILE (see docs/catalog.md).
`

func writeCatalog(out map[string]*yaml.Node) ([]byte, error) {
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	top := &yaml.Node{Kind: yaml.MappingNode}
	for _, n := range names {
		t, err := normalise(n, out[n])
		if err != nil {
			return nil, err
		}
		top.Content = append(top.Content, str(n), t)
	}
	var buf bytes.Buffer
	buf.WriteString(catalogHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(top); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// notUsable says why a loaded template is not fully supported, or "": the
// engine (internal/oauth, internal/connect, internal/tokens, internal/proxy)
// implements every key of the catalog schema for the auth modes below,
// except these combinations.
func notUsable(t *provider.Template) string {
	switch {
	case t.AuthorizationCodeParamInWebhook != "":
		return "partial: the authorization code arrives by a provider webhook (authorization_code_param_in_webhook), which this server does not receive, " +
			"so the browser flow cannot complete; connections imported with POST /connection (access_token, refresh_token, connection_config) are refreshed and proxied"
	case t.TokenRequestAuthMethod == provider.TokenAuthCustom && t.AuthMode != provider.OAuth2CC:
		return "token_request_auth_method: custom is implemented for OAUTH2_CC only"
	case t.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT && t.AuthMode != provider.OAuth2CC:
		return "token_request_auth_method: private_key_jwt is implemented for OAUTH2_CC only"
	case t.RequireClientCertificate && t.AuthMode != provider.OAuth2CC:
		return "require_client_certificate (mutual TLS) is implemented for OAUTH2_CC only"
	}
	return ""
}

// feature is an engine capability some templates need beyond the seed-era core.
type feature struct {
	name string
	has  func(t *provider.Template) bool
}

var features = []feature{
	{"`||` alternatives in a URL", func(t *provider.Template) bool {
		return strings.Contains(t.AuthorizationURL+t.TokenURL+t.RefreshURL+t.Proxy.BaseURL, "||")
	}},
	{"placeholders in authorization_params / token_params / refresh_params", func(t *provider.Template) bool {
		for _, p := range [][]provider.Param{t.AuthorizationParams, t.TokenParams, t.RefreshParams} {
			for _, x := range p {
				if strings.Contains(x.Value, "${") {
					return true
				}
			}
		}
		return false
	}},
	{"refresh_url", func(t *provider.Template) bool { return t.RefreshURL != "" }},
	{"authorization_url_replacements", func(t *provider.Template) bool { return len(t.AuthorizationURLReplacements) > 0 }},
	{"authorization_url_fragment", func(t *provider.Template) bool { return t.AuthorizationURLFragment != "" }},
	{"authorization_url_skip_empty", func(t *provider.Template) bool { return t.AuthorizationURLSkipEmpty }},
	{"authorization_url_skip_encode", func(t *provider.Template) bool { return len(t.AuthorizationURLSkipEncode) > 0 }},
	{"decode_url", func(t *provider.Template) bool { return t.DecodeURL }},
	{"authorization_code_param_in_callback", func(t *provider.Template) bool { return t.AuthorizationCodeParam != "code" }},
	{"token_headers", func(t *provider.Template) bool { return len(t.TokenHeaders) > 0 }},
	{"body_format: query", func(t *provider.Template) bool { return t.BodyFormat == provider.BodyFormatQuery }},
	{"token_request_auth_method: private_key_jwt", func(t *provider.Template) bool {
		return t.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT
	}},
	{"require_client_certificate (mutual TLS)", func(t *provider.Template) bool { return t.RequireClientCertificate }},
	{"alternate_access_token_response_path", func(t *provider.Template) bool { return t.AlternateAccessTokenResponsePath != "" }},
	{"expires_in_unit: milliseconds", func(t *provider.Template) bool { return t.ExpiresInUnit == provider.ExpiresInMilliseconds }},
	{"token_expires_in_ms", func(t *provider.Template) bool { return t.TokenExpiresIn != nil }},
	{"token_expiration_buffer (refresh margin)", func(t *provider.Template) bool { return t.RefreshMargin != 0 }},
	{"dotted token_response_metadata paths", func(t *provider.Template) bool {
		for _, m := range t.TokenResponseMetadata {
			if strings.Contains(m, ".") {
				return true
			}
		}
		return false
	}},
	{"refresh_token_response_metadata", func(t *provider.Template) bool { return len(t.RefreshTokenResponseMetadata) > 0 }},
	{"proxy.headers", func(t *provider.Template) bool { return len(t.Proxy.Headers) > 0 }},
	{"proxy.query", func(t *provider.Template) bool { return len(t.Proxy.Query) > 0 }},
	{"proxy.body", func(t *provider.Template) bool { return t.Proxy.Body != nil }},
	{"proxy.decompress", func(t *provider.Template) bool { return t.Proxy.Decompress }},
	{"proxy.retry", func(t *provider.Template) bool { return t.Proxy.Retry != nil }},
	{"proxy.verification", func(t *provider.Template) bool { return t.Proxy.Verification != nil }},
	{"placeholder functions (base64, hmacSha1Hex, sha256Base64, ed25519Sign, awsSigV4, now, random)", func(t *provider.Template) bool {
		for _, p := range [][]provider.Param{t.Proxy.Headers, t.Proxy.Query, t.AuthorizationParams} {
			for _, x := range p {
				if strings.Contains(x.Value, "(") && strings.Contains(x.Value, "${") || strings.Contains(x.Value, "${now") || strings.Contains(x.Value, "${random}") {
					return true
				}
			}
		}
		return false
	}},
}

func writeDocs(entries []*refEntry, cat *provider.Catalog) []byte {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var b strings.Builder
	perMode := map[string]int{}
	excluded := map[string]int{}
	usable := 0
	var notes []*refEntry
	for _, e := range entries {
		if e.note != "" {
			notes = append(notes, e)
		}
		if !e.included {
			excluded[e.mode]++
			continue
		}
		t, _ := cat.Get(e.name)
		perMode[string(t.AuthMode)]++
		if notUsable(t) == "" {
			usable++
		}
	}
	b.WriteString("# Provider templates\n\n")
	b.WriteString("GENERATED by `go generate ./internal/provider` (internal/provider/gen); do not edit.\n")
	b.WriteString("How the catalog is built and how to add your own templates: [catalog.md](catalog.md).\n\n")
	fmt.Fprintf(&b, "Reference templates: %d. In the built-in catalog: **%d** (every OAUTH2, OAUTH1, API_KEY, BASIC and OAUTH2_CC template of the reference, by name), "+
		"of which **%d are fully supported**: the server implements every key they use (connect flows, token exchange and refresh, client credentials, "+
		"credential endpoints, proxy injection). %d partially (reason in the table). Not included: %d (auth modes this server does not implement).\n\n",
		len(entries), cat.Len(), usable, cat.Len()-usable, len(entries)-cat.Len())
	b.WriteString("How each auth mode works: [auth-modes.md](auth-modes.md). Every OAUTH2, OAUTH2_CC and OAUTH1 template's token requests " +
		"are checked against a recording server by `internal/oauth/catalog_test.go`.\n\n")
	b.WriteString("| Auth mode | Built-in templates |\n|---|---|\n")
	for _, m := range provider.AuthModes {
		fmt.Fprintf(&b, "| %s | %d |\n", m, perMode[string(m)])
	}
	b.WriteString("\n| Auth mode (not included) | Templates | Why |\n|---|---|---|\n")
	var modes []string
	for m := range excluded {
		modes = append(modes, m)
	}
	sort.Strings(modes)
	for _, m := range modes {
		why := excludedWhy[m]
		label := m
		if m == "" {
			label, why = "(none)", "no auth_mode"
		}
		fmt.Fprintf(&b, "| %s | %d | %s |\n", label, excluded[m], why)
	}

	b.WriteString("\n## Engine features the templates use\n\n")
	b.WriteString("Beyond the seed-era core (SPEC §3–§4). Every one is a field of `provider.Template`, implemented by the OAuth engine, the connect flows, the token service or the proxy (docs/catalog.md, docs/auth-modes.md).\n\n")
	b.WriteString("| Feature | Templates | Examples |\n|---|---|---|\n")
	for _, f := range features {
		var names []string
		for _, t := range cat.Templates() {
			if f.has(t) {
				names = append(names, t.Name)
			}
		}
		ex := names
		if len(ex) > 6 {
			ex = append(append([]string(nil), ex[:6]...), "…")
		}
		fmt.Fprintf(&b, "| %s | %d | %s |\n", f.name, len(names), strings.Join(ex, ", "))
	}

	b.WriteString("\n## Deviations from the reference facts\n\n")
	b.WriteString("Templates present in both reference files use the current facts. These ones are changed:\n\n")
	for _, e := range notes {
		fmt.Fprintf(&b, "- **%s**: %s\n", e.name, e.note)
	}

	b.WriteString("\n## All templates\n\n| Name | Auth mode | Docs | Status |\n|---|---|---|---|\n")
	for _, e := range entries {
		mode := e.mode
		status := "not included: " + e.why
		if e.included {
			t, _ := cat.Get(e.name)
			mode = string(t.AuthMode)
			status = "supported"
			if t.Alias != "" {
				status += " (alias of " + t.Alias + ")"
			}
			if why := notUsable(t); why != "" {
				status = why
			}
			if e.source != "current" {
				status += "; " + e.source + " facts"
			}
		}
		if mode == "" {
			mode = "—"
		}
		docs := "—"
		if e.docs != "" {
			docs = "[docs](" + e.docs + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.name, mode, docs, status)
	}
	return []byte(b.String())
}
