package provider

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// seedEraNames are the 106 templates of the seed-era reference (SPEC §4.3).
var seedEraNames = strings.Fields(`accelo adobe airtable amazon asana atlassian bamboohr battlenet bitbucket boldsign box
braintree braintree-sandbox brex brex-staging calendly clickup confluence contentstack deel deel-sandbox digitalocean
discord docusign docusign-sandbox dropbox epic-games facebook factorial figjam figma fitbit freshbooks front github
gitlab google google-calendar google-mail google-sheet gorgias greenhouse gusto health-gorilla hubspot instagram
intercom intuit jira keap lever linear linkedin linkhut mailchimp microsoft-teams miro monday mural notion one-drive
outreach pagerduty pandadoc payfit pipedrive qualtrics quickbooks ramp ramp-sandbox reddit sage salesforce salesloft
segment shopify slack splitwise spotify squareup squareup-sandbox stackexchange strava stripe teamwork timely todoist
trello twitch twitter twitter-v2 typeform uber wave-accounting xero yahoo yandex youtube zapier-nla zendesk zenefits
zoho-books zoho-crm zoho-desk zoho-invoice zoom`)

func mustLoad(t *testing.T, extra string) *Catalog {
	t.Helper()
	c, err := Load(extra, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Load(%q): %v", extra, err)
	}
	return c
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "providers.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBuiltinValidates parses the embedded catalog with every check on
// (Load skips the URL checks of built-in templates to start fast).
func TestBuiltinValidates(t *testing.T) {
	c, err := Parse("catalog.yaml", builtinYAML)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(seedEraNames); got != 106 {
		t.Fatalf("seed-era list has %d names, want 106", got)
	}
	for _, n := range seedEraNames {
		if _, ok := c.Get(n); !ok {
			t.Errorf("seed-era template %q missing", n)
		}
	}
	loaded := mustLoad(t, "")
	if loaded.Len() != c.Len() {
		t.Fatalf("Load has %d templates, Parse %d", loaded.Len(), c.Len())
	}
	perMode := map[AuthMode]int{}
	for _, tp := range c.Templates() {
		perMode[tp.AuthMode]++
		if !tp.AuthMode.Valid() {
			t.Errorf("%s: auth mode %q", tp.Name, tp.AuthMode)
		}
		lt, _ := loaded.Get(tp.Name)
		if !reflect.DeepEqual(lt, tp) {
			t.Errorf("%s: Load and Parse disagree", tp.Name)
		}
	}
	for _, m := range AuthModes {
		if perMode[m] == 0 {
			t.Errorf("no template of auth mode %s", m)
		}
	}
	t.Logf("built-in templates: %d %v", c.Len(), perMode)
}

// TestBuiltinURLs interpolates every URL of every template with sample
// values for the params it declares or uses and parses the result.
func TestBuiltinURLs(t *testing.T) {
	c := mustLoad(t, "")
	checked := 0
	for _, tp := range c.Templates() {
		vars := tp.SampleVars()
		fields := map[string]string{
			"authorization_url": tp.AuthorizationURL,
			"token_url":         tp.TokenURL,
			"refresh_url":       tp.RefreshURL,
			"request_url":       tp.RequestURL,
			"proxy.base_url":    tp.Proxy.BaseURL,
		}
		for key, raw := range fields {
			if raw == "" {
				continue
			}
			alts, err := Alternatives(raw)
			if err != nil {
				t.Errorf("%s %s: %v", tp.Name, key, err)
				continue
			}
			for _, a := range alts {
				out, err := Interpolate(a, vars)
				if err != nil {
					t.Errorf("%s %s: %v", tp.Name, key, err)
					continue
				}
				if strings.Contains(out, "${") {
					t.Errorf("%s %s: placeholder left in %q", tp.Name, key, out)
				}
				u, err := url.Parse(out)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					t.Errorf("%s %s: %q is not an absolute http(s) URL (%v)", tp.Name, key, out, err)
				}
				checked++
			}
		}
		switch tp.AuthMode {
		case OAuth2:
			if tp.TokenURL == "" || (tp.AuthorizationURL == "" && tp.AuthorizationCodeParamInWebhook == "") {
				t.Errorf("%s: OAUTH2 without authorization_url/token_url", tp.Name)
			}
		case OAuth1:
			if tp.RequestURL == "" || tp.AuthorizationURL == "" || tp.TokenURL == "" {
				t.Errorf("%s: OAUTH1 without request/authorization/token URL", tp.Name)
			}
		case OAuth2CC:
			if tp.TokenURL == "" {
				t.Errorf("%s: OAUTH2_CC without token_url", tp.Name)
			}
		}
		for _, s := range tp.interpolated() {
			if _, err := Interpolate(s.val, vars); err != nil {
				var me *MissingError
				if errors.As(err, &me) && slices.Equal(me.Names, []string{"request"}) {
					continue
				}
				// ed25519Sign with a sample (non-key) password fails by design.
				if strings.Contains(err.Error(), "ed25519Sign") {
					continue
				}
				t.Errorf("%s %s: %v", tp.Name, s.key, err)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d URLs checked", checked)
	}
}

// TestSeedEraFacts spot-checks template facts SPEC §3–§4 relies on.
func TestSeedEraFacts(t *testing.T) {
	c := mustLoad(t, "")
	get := func(name string) *Template {
		tp, ok := c.Get(name)
		if !ok {
			t.Fatalf("template %s missing", name)
		}
		return tp
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"github scope separator default", get("github").ScopeSeparator, " "},
		{"github base URL", get("github").Proxy.BaseURL, "https://api.github.com"},
		{"airtable authorization_method", get("airtable").AuthorizationMethod, "header"},
		{"notion body_format", get("notion").BodyFormat, "json"},
		{"deel token_request_auth_method", get("deel").TokenRequestAuthMethod, "basic"},
		{"linear scope separator", get("linear").ScopeSeparator, ","},
		{"figma PKCE disabled", get("figma").DisablePKCE, true},
		{"figjam is an alias of figma", get("figjam").Alias, "figma"},
		{"figjam inherits refresh_url", get("figjam").RefreshURL, get("figma").RefreshURL},
		{"google-mail base URL (own key over google's)", get("google-mail").Proxy.BaseURL, "https://gmail.googleapis.com"},
		{"google-mail token URL from google", get("google-mail").TokenURL, get("google").TokenURL},
		{"confluence alias of jira", get("confluence").TokenURL, get("jira").TokenURL},
		{"quickbooks redirect metadata", get("quickbooks").RedirectURIMetadata, []string{"realmId"}},
		{"salesforce token metadata", get("salesforce").TokenResponseMetadata, []string{"instance_url"}},
		{"twitter is OAUTH1", get("twitter").AuthMode, OAuth1},
		{"twitter request params", get("twitter").RequestParams, Params{{"x_auth_access_type", "write"}}},
		{"trello authorization params", get("trello").AuthorizationParams.Map()["expiration"], "never"},
		{"OAUTH1 default token method", get("trello").TokenHTTPMethod, "POST"},
		{"exact-online refresh margin", get("exact-online").RefreshMargin, 30 * time.Second},
		{"zendesk params in order", get("zendesk").TokenParams.Names(), []string{"grant_type", "expires_in"}},
		{"shopify numeric param as text", get("shopify").TokenParams.Map()["expiring"], "1"},
		{"zoho-crm connects without params", mustInterpolate(t, get("zoho-crm").TokenURL, Vars{}), "https://accounts.zoho.com/oauth/v2/token"},
		{"zoho-desk with extension", mustInterpolate(t, get("zoho-desk").TokenURL, Vars{ConnectionConfig: map[string]any{"extension": "eu"}}), "https://accounts.zoho.eu/oauth/v2/token"},
		{"certn-partner is an API key template", get("certn-partner").AuthMode, APIKey},
		{"aircall-basic keeps its own mode over its target's", get("aircall-basic").AuthMode, Basic},
		{"google-calendar-mcp flattened to google", get("google-calendar-mcp").Alias, "google"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func mustInterpolate(t *testing.T, s string, v Vars) string {
	t.Helper()
	out, err := Interpolate(s, v)
	if err != nil {
		t.Fatalf("Interpolate(%q): %v", s, err)
	}
	return out
}

func TestTemplatesSortedWithAliases(t *testing.T) {
	c := mustLoad(t, "")
	list := c.Templates()
	if !slices.IsSortedFunc(list, func(a, b *Template) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatal("Templates() not sorted by name")
	}
	aliases := 0
	for _, tp := range list {
		if tp.Alias != "" {
			aliases++
		}
	}
	if aliases < 50 {
		t.Fatalf("only %d aliases listed", aliases)
	}
	list[0] = nil
	if c.Templates()[0] == nil {
		t.Fatal("Templates() exposes the catalog's own slice")
	}
}

func TestAliasMerge(t *testing.T) {
	c, err := Parse("aliases.yaml", []byte(`
base:
  auth_mode: OAUTH2
  authorization_url: https://auth.example.com/authorize
  token_url: https://auth.example.com/token
  authorization_params:
    response_type: code
    access_type: offline
  proxy:
    base_url: https://api.example.com
    headers:
      x-one: "1"
  default_scopes: [a, b]
child:
  alias: base
  display_name: Child
  authorization_params:
    prompt: consent
  base_api_url: https://child.example.com
other-mode:
  alias: base
  auth_mode: API_KEY
`))
	if err != nil {
		t.Fatal(err)
	}
	child, _ := c.Get("child")
	base, _ := c.Get("base")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"alias recorded", child.Alias, "base"},
		{"own display name", child.DisplayName, "Child"},
		{"target display name defaults to its name", base.DisplayName, "base"},
		{"inherited token_url", child.TokenURL, "https://auth.example.com/token"},
		{"own key replaces the whole value (one level)", child.AuthorizationParams, Params{{"prompt", "consent"}}},
		{"seed-era base_api_url overrides proxy base URL", child.Proxy.BaseURL, "https://child.example.com"},
		{"other proxy keys inherited with base_api_url", child.Proxy.Headers, Params{{"x-one", "1"}}},
		{"inherited scopes", child.DefaultScopes, []string{"a", "b"}},
		{"target untouched", base.Proxy.BaseURL, "https://api.example.com"},
		{"alias may change auth_mode", mustGet(t, c, "other-mode").AuthMode, APIKey},
		{"target has no alias", base.Alias, ""},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func mustGet(t *testing.T, c *Catalog, name string) *Template {
	t.Helper()
	tp, ok := c.Get(name)
	if !ok {
		t.Fatalf("%s missing", name)
	}
	return tp
}

func TestExtraFileAddsAndReplaces(t *testing.T) {
	path := writeFile(t, `
my-idp:
  auth_mode: OAUTH2
  authorization_url: https://idp.internal.example/authorize
  token_url: https://idp.internal.example/token
  token_expiration_buffer: 5m
google:
  auth_mode: OAUTH2
  authorization_url: https://mock.example/authorize
  token_url: https://mock.example/token
github:
  alias: my-idp
  display_name: GitHub via our IdP
`)
	var logs bytes.Buffer
	c, err := Load(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	builtin := mustLoad(t, "")
	if c.Len() != builtin.Len()+1 {
		t.Fatalf("Len = %d, want %d (one added)", c.Len(), builtin.Len()+1)
	}
	idp := mustGet(t, c, "my-idp")
	if idp.RefreshMargin != 5*time.Minute {
		t.Errorf("refresh margin = %v", idp.RefreshMargin)
	}
	if got := mustGet(t, c, "google").TokenURL; got != "https://mock.example/token" {
		t.Errorf("google replaced: token_url %q", got)
	}
	// A built-in alias follows its replaced target.
	if got := mustGet(t, c, "google-mail").TokenURL; got != "https://mock.example/token" {
		t.Errorf("google-mail follows replaced google: token_url %q", got)
	}
	if got := mustGet(t, c, "google-mail").Proxy.BaseURL; got != "https://gmail.googleapis.com" {
		t.Errorf("google-mail keeps its own proxy key: %q", got)
	}
	gh := mustGet(t, c, "github")
	if gh.Alias != "my-idp" || gh.TokenURL != "https://idp.internal.example/token" || gh.DisplayName != "GitHub via our IdP" {
		t.Errorf("github replaced by an alias of an extra template: %+v", gh)
	}
	if got := mustGet(t, builtin, "github").TokenURL; got != "https://github.com/login/oauth/access_token" {
		t.Errorf("another Load still sees the built-in github: %q", got)
	}
	for _, want := range []string{"replaced=2", "added=1", "template=google"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestSeedEraFileAsExtra loads the verbatim seed-era providers.yaml as an
// extra file: users' copies of it keep working.
func TestSeedEraFileAsExtra(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "reference", "providers-seed-era.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skip("reference file not present:", err)
	}
	c := mustLoad(t, path)
	z := mustGet(t, c, "zendesk")
	if got := mustInterpolate(t, z.TokenURL, Vars{ConnectionConfig: map[string]any{"subdomain": "acme"}}); got != "https://acme.zendesk.com/oauth/tokens" {
		t.Errorf("seed-era zendesk token URL = %q", got)
	}
	if got := mustGet(t, c, "google-mail").Proxy.BaseURL; got != "https://gmail.googleapis.com" {
		t.Errorf("seed-era google-mail base_api_url = %q", got)
	}
	if got := mustGet(t, c, "squareup").ScopeSeparator; got != "+" {
		t.Errorf("seed-era squareup scope separator = %q", got)
	}
}

func TestMalformedInput(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string // the whole error text, "FILE" standing for the file name
	}{
		{"invalid YAML", "a:\n  auth_mode: OAUTH2\n b: [\n", "FILE:2: invalid YAML: did not find expected key"},
		{"not a map", "- a\n- b\n", "FILE:1: file: expected a map, got a list"},
		{"empty", "", "FILE: empty file: expected a map of provider templates"},
		{"only comments", "# nothing\n", "FILE: empty file: expected a map of provider templates"},
		{"template not a map", "a: 3\n", `FILE:1: template "a": expected a map of template keys, got a number`},
		{"bad name", "\"a b\":\n  auth_mode: BASIC\n", `FILE:1: template "a b": invalid template name (use letters, digits, '-', '_' and '.')`},
		{"unknown key", "a:\n  auth_mode: BASIC\n  colour: red\n", `FILE:3: template "a": unknown key "colour"`},
		{"misspelt key", "a:\n  auth_mode: OAUTH2\n  authorization_url: https://x.example/a\n  token_url: https://x.example/t\n  scope_seprator: ','\n", `FILE:5: template "a": unknown key "scope_seprator"`},
		{"unknown nested key", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: https://x.example\n    colour: red\n", `FILE:5: template "a": proxy: unknown key "colour"`},
		{"unknown field key", "a:\n  auth_mode: BASIC\n  credentials:\n    username:\n      colour: red\n", `FILE:5: template "a": credentials.username: unknown key "colour"`},
		{"duplicate key", "a:\n  auth_mode: BASIC\n  auth_mode: API_KEY\n", `FILE:3: template "a": template: duplicate key "auth_mode"`},
		{"duplicate template", "a:\n  auth_mode: BASIC\na:\n  auth_mode: BASIC\n", `FILE:3: file: duplicate key "a"`},
		{"unknown auth mode", "a:\n  auth_mode: MAGIC\n", `FILE:2: template "a": unknown auth_mode "MAGIC" (supported: OAUTH2, OAUTH1, API_KEY, BASIC, OAUTH2_CC)`},
		{"unsupported auth mode", "a:\n  auth_mode: TWO_STEP\n", `FILE:2: template "a": auth_mode TWO_STEP is not supported by this server (supported: OAUTH2, OAUTH1, API_KEY, BASIC, OAUTH2_CC)`},
		{"missing auth mode", "a:\n  docs: https://x.example\n", `FILE:1: template "a": auth_mode is missing (one of OAUTH2, OAUTH1, API_KEY, BASIC, OAUTH2_CC)`},
		{"wrong type string", "a:\n  auth_mode: BASIC\n  docs: [x]\n", `FILE:3: template "a": docs: expected a string, got a list`},
		{"wrong type bool", "a:\n  auth_mode: OAUTH2\n  authorization_url: https://x.example/a\n  token_url: https://x.example/t\n  disable_pkce: \"yes\"\n", `FILE:5: template "a": disable_pkce: expected true or false, got a string`},
		{"wrong type list", "a:\n  auth_mode: BASIC\n  categories: crm\n", `FILE:3: template "a": categories: expected a list, got a string`},
		{"wrong type params", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: https://x.example\n    headers: [x]\n", `FILE:5: template "a": proxy.headers: expected a map, got a list`},
		{"param value not scalar", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: https://x.example\n    headers:\n      x: [1]\n", `FILE:6: template "a": proxy.headers.x: expected a string, number or boolean, got a list`},
		{"bad enum", "a:\n  auth_mode: OAUTH2\n  authorization_url: https://x.example/a\n  token_url: https://x.example/t\n  body_format: xml\n", `FILE:5: template "a": body_format: "xml" is not one of form, json, query`},
		{"bad margin", "a:\n  auth_mode: BASIC\n  token_expiration_buffer: soon\n", `FILE:3: template "a": token_expiration_buffer: "soon" is neither integer seconds nor a duration such as "5m" (0 to 168h)`},
		{"negative margin", "a:\n  auth_mode: BASIC\n  token_expiration_buffer: -5\n", `FILE:3: template "a": token_expiration_buffer: -5 seconds is out of range (0 to 604800)`},
		{"missing token_url", "a:\n  auth_mode: OAUTH2\n  authorization_url: https://x.example/a\n", `FILE:1: template "a": token_url is required for auth_mode OAUTH2`},
		{"missing OAuth1 request_url", "a:\n  auth_mode: OAUTH1\n  authorization_url: https://x.example/a\n  token_url: https://x.example/t\n", `FILE:1: template "a": request_url is required for auth_mode OAUTH1`},
		{"relative URL", "a:\n  auth_mode: OAUTH2\n  authorization_url: /authorize\n  token_url: https://x.example/t\n", `FILE:3: template "a": authorization_url: "/authorize" is not an absolute http(s) URL (interpolated with sample values: "/authorize")`},
		{"bad scheme", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: ftp://x.example\n", `FILE:4: template "a": proxy.base_url: "ftp://x.example" is not an absolute http(s) URL (interpolated with sample values: "ftp://x.example")`},
		{"bad seed-era base URL", "a:\n  auth_mode: BASIC\n  base_api_url: x.example\n", `FILE:3: template "a": base_api_url: "x.example" is not an absolute http(s) URL (interpolated with sample values: "x.example")`},
		{"bad alternative", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: https://${connectionConfig.host} || nope\n", `FILE:4: template "a": proxy.base_url: "nope" is not an absolute http(s) URL (interpolated with sample values: "nope")`},
		{"unterminated placeholder", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: https://${connectionConfig.host\n", `FILE:4: template "a": proxy.base_url: placeholder "https://${connectionConfig.host": unterminated "${"`},
		{"unknown function", "a:\n  auth_mode: BASIC\n  proxy:\n    base_url: https://x.example\n    headers:\n      authorization: ${md5(${apiKey})}\n", `FILE:5: template "a": proxy.headers: placeholder "${md5(${apiKey})}": unknown function md5`},
		{"both base URLs", "a:\n  auth_mode: BASIC\n  base_api_url: https://a.example\n  proxy:\n    base_url: https://b.example\n", `FILE:3: template "a": base_api_url and proxy.base_url are both set; keep one`},
		{"alias to unknown", "a:\n  alias: nowhere\n", `FILE:2: template "a": alias "nowhere": no such template`},
		{"alias chain", "a:\n  auth_mode: BASIC\nb:\n  alias: a\nc:\n  alias: b\n", `FILE:6: template "c": alias "b" is itself an alias of "a"; only one level of aliases is resolved, point at "a"`},
		{"empty alias", "a:\n  alias: ''\n", `FILE:2: template "a": alias: must name a template`},
		{"null value", "a:\n  auth_mode: BASIC\n  docs:\n", `FILE:3: template "a": docs: expected a string, got null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			want := strings.ReplaceAll(tt.want, "FILE", path)
			if err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != path {
				t.Errorf("error %T does not carry the file name", err)
			}
			if _, err := Parse("x.yaml", []byte(tt.file)); err == nil {
				t.Error("Parse accepted what Load rejected")
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := Load(missing, nil); err == nil || err.Error() != missing+": cannot read provider catalog file: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir, nil); err == nil || err.Error() != dir+": is a directory, not a provider catalog file" {
		t.Errorf("directory: %v", err)
	}
}

func TestManyErrorsReportedTogether(t *testing.T) {
	_, err := Parse("x.yaml", []byte("a:\n  auth_mode: BASIC\n  colour: red\nb:\n  auth_mode: BASIC\n  size: 3\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	want := "x.yaml:3: template \"a\": unknown key \"colour\"\nx.yaml:6: template \"b\": unknown key \"size\""
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestChunkedParse checks that the parallel parse of the built-in catalog
// gives the same templates and line numbers as one serial parse.
func TestChunkedParse(t *testing.T) {
	whole, err := parseFile(BuiltinFile, builtinYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 3, 7} {
		parts, err := parseChunked(BuiltinFile, builtinYAML, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != len(whole) {
			t.Fatalf("n=%d: %d entries, want %d", n, len(parts), len(whole))
		}
		for i := range whole {
			a, b := whole[i], parts[i]
			if a.name != b.name || a.line != b.line || !reflect.DeepEqual(a.own, b.own) {
				t.Fatalf("n=%d: entry %d differs: %s:%d vs %s:%d", n, i, a.name, a.line, b.name, b.line)
			}
		}
	}
	// Errors in a later chunk keep their real line numbers.
	var doc bytes.Buffer
	for i := 0; i < 3000; i++ {
		doc.WriteString("t" + strings.Repeat("x", 3) + itoa(i) + ":\n  auth_mode: BASIC\n")
	}
	doc.WriteString("bad:\n  auth_mode: BASIC\n  colour: red\n")
	_, err = parseChunked("big.yaml", doc.Bytes(), 2)
	if err == nil || err.Error() != `big.yaml:6003: template "bad": unknown key "colour"` {
		t.Fatalf("chunked error: %v", err)
	}
}

func itoa(i int) string {
	b, _ := yaml.Marshal(i)
	return strings.TrimSpace(string(b))
}

func TestConnectionConfigParams(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`
zen:
  auth_mode: OAUTH2
  authorization_url: https://${connectionConfig.params.subdomain}.example.com/authorize?x=${connectionConfig.region}
  token_url: https://${connectionConfig.tenant}.example.com/token || https://${connectionConfig.subdomain}.example.com/token
  proxy:
    base_url: https://${connectionConfig.apiHost}/v2
    headers:
      x-version: ${connectionConfig.version} || 2024-01-01
  connection_config:
    subdomain:
      title: Subdomain
    instance_url:
      automated: true
    extra:
      title: Extra
`))
	if err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, c, "zen").ConnectionConfigParams()
	want := []string{"tenant", "subdomain", "region", "extra", "apiHost", "version"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := mustGet(t, mustLoad(t, ""), "zendesk").ConnectionConfigParams(); !slices.Equal(got, []string{"subdomain"}) {
		t.Errorf("zendesk: %v", got)
	}
	if got := mustGet(t, mustLoad(t, ""), "salesforce").ConnectionConfigParams(); !slices.Equal(got, []string{"hostname"}) {
		t.Errorf("salesforce (instance_url is automated): %v", got)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("a:\n  auth_mode: OAUTH2\n  authorization_url: https://${connectionConfig.subdomain}.x.com/a\n  token_url: https://x.com/t\n"))
	f.Add([]byte("a:\n  auth_mode: API_KEY\n  proxy:\n    base_url: https://x.com\n    headers:\n      authorization: Bearer ${apiKey}\nb:\n  alias: a\n"))
	f.Add([]byte("a:\n  auth_mode: OAUTH1\n  request_url: https://x.com/r\n  authorization_url: https://x.com/a\n  token_url: https://x.com/t\n  signature_method: PLAINTEXT\n"))
	f.Add([]byte("a: &x\n  auth_mode: BASIC\nb: *x\n"))
	f.Add([]byte("a:\n  alias: b\nb:\n  alias: a\n"))
	f.Add([]byte("- [\n"))
	f.Add([]byte("a:\n  auth_mode: BASIC\n  connection_config:\n    x:\n      enum: [1, 2]\n      order: 3\n"))
	if i := bytes.Index(builtinYAML, []byte("\nairtable:")); i > 0 {
		f.Add(builtinYAML[:i+1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *Error", err, err)
			}
			if pe.File != "f.yaml" || pe.Line < 0 || pe.Problem == "" {
				t.Fatalf("bad error %+v", pe)
			}
			return
		}
		for _, tp := range c.Templates() {
			if !tp.AuthMode.Valid() {
				t.Fatalf("%s: auth mode %q", tp.Name, tp.AuthMode)
			}
			if got, ok := c.Get(tp.Name); !ok || got != tp {
				t.Fatalf("Get(%q) mismatch", tp.Name)
			}
			_ = tp.ConnectionConfigParams()
		}
	})
}

func TestConcurrentLoad(t *testing.T) {
	done := make(chan *Catalog)
	for i := 0; i < 4; i++ {
		go func() {
			c, err := Load("", nil)
			if err != nil {
				t.Error(err)
			}
			done <- c
		}()
	}
	var first *Catalog
	for i := 0; i < 4; i++ {
		c := <-done
		if c == nil {
			continue
		}
		if first == nil {
			first = c
		}
		if c.Len() != first.Len() {
			t.Errorf("Len %d vs %d", c.Len(), first.Len())
		}
		if tp, ok := c.Get("github"); !ok || tp.AuthMode != OAuth2 {
			t.Errorf("github: %v %v", tp, ok)
		}
	}
}

func TestTemplateHelpers(t *testing.T) {
	c := mustLoad(t, "")
	api := mustGet(t, c, "1password-scim")
	if f, ok := api.CredentialField("apiKey"); !ok || !f.Secret || f.Type != "string" {
		t.Errorf("apiKey field: %+v %v", f, ok)
	}
	if f, ok := api.ConnectionConfigField("domain"); !ok || f.Prefix != "https://" {
		t.Errorf("domain field: %+v %v", f, ok)
	}
	if _, ok := api.ConnectionConfigField("nope"); ok {
		t.Error("unknown field found")
	}
	if v, ok := api.Proxy.Headers.Get("authorization"); !ok || v != "Bearer ${apiKey}" {
		t.Errorf("authorization header: %q %v", v, ok)
	}
	if _, ok := c.Get("no-such-provider"); ok {
		t.Error("Get found an unknown template")
	}
}

// TestBuiltinKeepsOnlyAliasTrees: the built-in entries, kept for the life of
// the process, hold the YAML trees of aliases only (applied at every build),
// and an extra file's alias of a built-in template still resolves.
func TestBuiltinKeepsOnlyAliasTrees(t *testing.T) {
	entries, err := builtinEntries()
	if err != nil {
		t.Fatal(err)
	}
	aliases, trees := 0, 0
	for _, e := range entries {
		if e.alias != "" {
			aliases++
			if e.node == nil {
				t.Errorf("alias %s lost its YAML tree", e.name)
			}
		} else if e.node != nil {
			trees++
		}
		if e.line <= 0 {
			t.Errorf("%s: line %d", e.name, e.line)
		}
	}
	if aliases == 0 || trees != 0 {
		t.Errorf("%d aliases; %d non-alias templates keep their YAML tree, want 0", aliases, trees)
	}
	c := mustLoad(t, writeFile(t, "my-github:\n  alias: github\n  display_name: Our GitHub\n"))
	got, want := mustGet(t, c, "my-github"), mustGet(t, mustLoad(t, ""), "github")
	if got.TokenURL != want.TokenURL || got.AuthorizationURL != want.AuthorizationURL || got.DisplayName != "Our GitHub" || got.Alias != "github" {
		t.Errorf("alias of a built-in template: %+v", got)
	}
}
