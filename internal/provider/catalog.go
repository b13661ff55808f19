package provider

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:generate go run ./gen -reference ../../../shared/reference -catalog catalog.yaml -docs ../../docs/providers.md

// BuiltinFile is the name errors give the embedded catalog.
const BuiltinFile = "built-in catalog.yaml"

// maxFileSize bounds an extra catalog file.
const maxFileSize = 32 << 20

//go:embed catalog.yaml
var builtinYAML []byte

// Catalog is a set of resolved templates. It is immutable and safe for
// concurrent use.
type Catalog struct {
	byName map[string]*Template
	sorted []*Template
}

// Get returns the template called name (aliases included).
func (c *Catalog) Get(name string) (*Template, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// Templates returns every template sorted by name, aliases included under
// their own names. The slice is the caller's; the templates are shared and
// read-only.
func (c *Catalog) Templates() []*Template {
	return append([]*Template(nil), c.sorted...)
}

// Len returns the number of templates.
func (c *Catalog) Len() int { return len(c.sorted) }

// entry is one template as written in one file, before alias resolution.
type entry struct {
	name string
	file string
	line int // of the template's name
	// node is the template's map, for alias resolution and error locations;
	// nil for the built-in catalog's non-alias templates (see parseBuiltin).
	node  *yaml.Node
	own   Template // the template's own keys
	alias string
	// trusted entries come from the embedded catalog, which the package tests
	// validate fully; Load skips their URL checks to start fast.
	trusted bool
}

var builtin struct {
	once    sync.Once
	entries []*entry
	err     error
}

// builtinEntries parses the embedded catalog once per process.
func builtinEntries() ([]*entry, error) {
	builtin.once.Do(func() {
		builtin.entries, builtin.err = parseBuiltin()
	})
	return builtin.entries, builtin.err
}

// parseBuiltin parses the embedded catalog, using every available core.
//
// The entries are kept for the life of the process (every Load combines
// them with its extra file), so they keep only what a later build needs:
// the decoded templates, and the YAML trees of aliases (applied over their
// target at each build). The other trees (about 7 MB for the whole
// catalog) are dropped; an error later located in such a template (an
// extra file's alias inheriting a key from it) points at the template's
// name line rather than the key's.
func parseBuiltin() ([]*entry, error) {
	entries, err := parseChunked(BuiltinFile, builtinYAML, runtime.GOMAXPROCS(0))
	for _, e := range entries {
		e.trusted = true
		if e.alias == "" {
			e.node = nil
		}
	}
	return entries, err
}

// Load returns the built-in catalog plus the templates of extraFile (the
// NANGO_PROVIDERS_FILE; "" for none), which are added or replace built-in
// templates of the same name. Aliases are resolved after the files are
// combined, so an alias of the built-in catalog follows a replaced target.
// Any problem stops the load with an error naming the file, the line and
// the problem (errors.As finds *Error; several problems are joined).
// logger may be nil.
func Load(extraFile string, logger *slog.Logger) (*Catalog, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	base, err := builtinEntries()
	if err != nil {
		return nil, err
	}
	files := [][]*entry{base}
	if extraFile != "" {
		extra, err := readFile(extraFile)
		if err != nil {
			return nil, err
		}
		files = append(files, extra)
	}
	c, err := build(files...)
	if err != nil {
		return nil, err
	}
	if extraFile != "" {
		known := make(map[string]bool, len(base))
		for _, e := range base {
			known[e.name] = true
		}
		added, replaced := 0, 0
		for _, e := range files[1] {
			if known[e.name] {
				replaced++
				logger.Info("provider template replaced by extra catalog file", "template", e.name, "file", extraFile)
			} else {
				added++
			}
		}
		logger.Info("extra provider catalog file loaded", "file", extraFile, "added", added, "replaced", replaced)
	}
	logger.Debug("provider catalog loaded", "templates", c.Len())
	return c, nil
}

// Parse parses one catalog file on its own (no built-in templates), with the
// same rules as Load; filename only labels errors.
func Parse(filename string, data []byte) (*Catalog, error) {
	entries, err := parseFile(filename, data)
	if err != nil {
		return nil, err
	}
	return build(entries)
}

func readFile(path string) ([]*entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Problem: "cannot read provider catalog file: " + errText(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{File: path, Problem: "cannot read provider catalog file: " + errText(err)}
	}
	if st.IsDir() {
		return nil, &Error{File: path, Problem: "is a directory, not a provider catalog file"}
	}
	if st.Size() > maxFileSize {
		return nil, &Error{File: path, Problem: fmt.Sprintf("file is larger than %d MiB", maxFileSize>>20)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Problem: "cannot read provider catalog file: " + errText(err)}
	}
	return parseFile(path, data)
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// parseFile decodes a catalog file into entries, checking every key and type.
func parseFile(file string, data []byte) ([]*entry, error) {
	return parseFileAt(file, data, 0)
}

// parseFileAt parses data whose first line is line lineOffset+1 of file.
func parseFileAt(file string, data []byte, lineOffset int) ([]*entry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			line += lineOffset
			return nil, &Error{File: file, Line: line, Problem: "invalid YAML: " + m[2]}
		}
		return nil, &Error{File: file, Problem: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: file, Problem: "empty file: expected a map of provider templates"}
	}
	if lineOffset > 0 {
		shiftLines(&doc, lineOffset)
	}
	top := resolve(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" {
		return nil, &Error{File: file, Line: top.Line, Problem: "empty file: expected a map of provider templates"}
	}
	d := &decoder{file: file}
	var entries []*entry
	d.mapping(top, "file", func(name string, k, v *yaml.Node) {
		d.tmpl = name
		defer func() { d.tmpl = "" }()
		if !nameRE.MatchString(name) {
			d.errorf(k, "invalid template name (use letters, digits, '-', '_' and '.')")
			return
		}
		if v.Kind != yaml.MappingNode {
			d.errorf(v, "expected a map of template keys, got %s", kindName(v))
			return
		}
		e := &entry{name: name, file: file, line: k.Line, node: v}
		e.alias = d.apply(&e.own, v)
		entries = append(entries, e)
	})
	if err := joinErrs(d.errs); err != nil {
		return nil, err
	}
	return entries, nil
}

// parseChunked parses a catalog in up to n pieces concurrently, split at
// top-level keys. Only for files without YAML anchors spanning templates
// (the generated built-in catalog has none); line numbers are preserved.
func parseChunked(file string, data []byte, n int) ([]*entry, error) {
	if n < 2 || len(data) < 64<<10 {
		return parseFile(file, data)
	}
	// Offsets of lines that start a top-level key.
	var starts []int
	for i := 0; i < len(data); {
		c := data[i]
		if c != ' ' && c != '#' && c != '\n' && c != '\t' && c != '-' {
			starts = append(starts, i)
		}
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	if len(starts) < n {
		return parseFile(file, data)
	}
	type part struct {
		entries []*entry
		err     error
	}
	parts := make([]part, n)
	var wg sync.WaitGroup
	prev := 0
	for k := 0; k < n; k++ {
		end := len(data)
		if k < n-1 {
			end = starts[len(starts)*(k+1)/n]
		}
		chunk := data[prev:end]
		lineOffset := bytes.Count(data[:prev], []byte("\n"))
		prev = end
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[k].entries, parts[k].err = parseFileAt(file, chunk, lineOffset)
		}()
	}
	wg.Wait()
	var all []*entry
	for _, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		all = append(all, p.entries...)
	}
	return all, nil
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

func joinErrs(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// build combines files (later ones replace earlier templates of the same
// name), resolves aliases one level and validates every template.
func build(files ...[]*entry) (*Catalog, error) {
	byName := make(map[string]*entry)
	for _, f := range files {
		for _, e := range f {
			byName[e.name] = e
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)

	c := &Catalog{byName: make(map[string]*Template, len(names)), sorted: make([]*Template, 0, len(names))}
	var errs []*Error
	for _, n := range names {
		e := byName[n]
		t, problems := resolveEntry(e, byName)
		errs = append(errs, problems...)
		if len(errs) >= maxErrors {
			break
		}
		if t != nil {
			c.byName[n] = t
			c.sorted = append(c.sorted, t)
		}
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	return c, nil
}

func resolveEntry(e *entry, byName map[string]*entry) (*Template, []*Error) {
	var target *entry
	t := e.own
	if e.alias != "" {
		var ok bool
		target, ok = byName[e.alias]
		if !ok {
			return nil, []*Error{at(e, nil, "alias", "alias %q: no such template", e.alias)}
		}
		if target.alias != "" {
			return nil, []*Error{at(e, nil, "alias", "alias %q is itself an alias of %q; only one level of aliases is resolved, point at %q", e.alias, target.alias, target.alias)}
		}
		// One-level merge: the target's keys, then the alias entry's own keys.
		t = target.own
		d := &decoder{file: e.file, tmpl: e.name}
		d.apply(&t, e.node)
		t.Alias = e.alias
	}
	t.Name = e.name
	check := !e.trusted || (target != nil && !target.trusted)
	return &t, finalize(&t, e, target, check)
}

// at builds an Error located at key of the entry (or of its alias target
// when the entry inherits that key), else at the template name.
func at(e, target *entry, key, format string, args ...any) *Error {
	file, line := e.file, e.line
	if n := keyNode(e.node, key); n != nil {
		line = n.Line
	} else if target != nil {
		if n := keyNode(target.node, key); n != nil {
			file, line = target.file, n.Line
		}
	}
	return &Error{File: file, Line: line, Template: e.name, Problem: fmt.Sprintf(format, args...)}
}

func keyNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	head, rest, nested := strings.Cut(key, ".")
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == head {
			if nested {
				if n := keyNode(resolve(m.Content[i+1]), rest); n != nil {
					return n
				}
			}
			return m.Content[i]
		}
	}
	return nil
}

// finalize fills defaults and checks what needs the whole (merged) template.
// When check is false the URL and placeholder checks are skipped.
func finalize(t *Template, e, target *entry, check bool) []*Error {
	var errs []*Error
	fail := func(key, format string, args ...any) {
		errs = append(errs, at(e, target, key, format, args...))
	}
	if t.AuthMode == "" {
		fail("auth_mode", "auth_mode is missing (one of OAUTH2, OAUTH1, API_KEY, BASIC, OAUTH2_CC)")
		return errs
	}
	if t.DisplayName == "" {
		t.DisplayName = t.Name
	}
	if t.ScopeSeparator == "" {
		t.ScopeSeparator = " "
	}
	if t.AuthorizationMethod == "" {
		t.AuthorizationMethod = AuthorizationMethodBody
	}
	if t.BodyFormat == "" {
		t.BodyFormat = BodyFormatForm
	}
	if t.ExpiresInUnit == "" {
		t.ExpiresInUnit = ExpiresInSeconds
	}
	if t.AuthorizationCodeParam == "" {
		t.AuthorizationCodeParam = "code"
	}
	if t.AuthMode == OAuth1 {
		if t.RequestHTTPMethod == "" {
			t.RequestHTTPMethod = "POST"
		}
		if t.TokenHTTPMethod == "" {
			t.TokenHTTPMethod = "POST"
		}
		if t.SignatureMethod == "" {
			t.SignatureMethod = SignatureHMACSHA1
		}
	}
	required := func(key, val string) {
		if val == "" {
			fail(key, "%s is required for auth_mode %s", key, t.AuthMode)
		}
	}
	switch t.AuthMode {
	case OAuth2:
		if t.AuthorizationCodeParamInWebhook == "" {
			required("authorization_url", t.AuthorizationURL)
		}
		required("token_url", t.TokenURL)
	case OAuth2CC:
		required("token_url", t.TokenURL)
	case OAuth1:
		required("request_url", t.RequestURL)
		required("authorization_url", t.AuthorizationURL)
		required("token_url", t.TokenURL)
	}
	if !check {
		return errs
	}
	vars := t.SampleVars()
	for _, u := range []struct{ key, val string }{
		{"authorization_url", t.AuthorizationURL},
		{"token_url", t.TokenURL},
		{"refresh_url", t.RefreshURL},
		{"request_url", t.RequestURL},
		{"proxy.base_url", t.Proxy.BaseURL},
		{"proxy.verification.base_url_override", verificationBase(t)},
	} {
		if u.val == "" {
			continue
		}
		key := u.key
		if key == "proxy.base_url" && keyNode(e.node, "proxy.base_url") == nil && keyNode(e.node, "base_api_url") != nil {
			key = "base_api_url"
		}
		if err := CheckURL(u.val, vars); err != nil {
			fail(key, "%s: %v", key, err)
		}
	}
	for _, s := range t.interpolated() {
		if _, err := Interpolate(s.val, vars); err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				fail(s.key, "%s: %v", s.key, err)
			}
		}
	}
	return errs
}

func verificationBase(t *Template) string {
	if t.Proxy.Verification == nil {
		return ""
	}
	return t.Proxy.Verification.BaseURLOverride
}

// CheckURL reports whether every alternative of the template URL s is an
// absolute http(s) URL once interpolated with vars.
func CheckURL(s string, vars Vars) error {
	alts, err := Alternatives(s)
	if err != nil {
		return err
	}
	for _, a := range alts {
		out, err := Interpolate(a, vars)
		if err != nil {
			return err
		}
		u, err := url.Parse(out)
		if err != nil {
			return fmt.Errorf("%q is not a valid URL: %v", a, unwrapURLErr(err))
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an absolute http(s) URL (interpolated with sample values: %q)", a, out)
		}
	}
	return nil
}

func unwrapURLErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

type keyedString struct{ key, val string }

// interpolated lists the template's strings that are interpolated at use,
// other than the URLs CheckURL covers.
func (t *Template) interpolated() []keyedString {
	var out []keyedString
	add := func(key string, p Params) {
		for _, x := range p {
			out = append(out, keyedString{key, x.Value})
		}
	}
	add("authorization_params", t.AuthorizationParams)
	add("token_params", t.TokenParams)
	add("token_headers", t.TokenHeaders)
	add("refresh_params", t.RefreshParams)
	add("proxy.headers", t.Proxy.Headers)
	add("proxy.query", t.Proxy.Query)
	walkStrings(t.Proxy.Body, func(s string) { out = append(out, keyedString{"proxy.body", s}) })
	if v := t.Proxy.Verification; v != nil {
		add("proxy.verification.headers", v.Headers)
		for _, ep := range v.Endpoints {
			out = append(out, keyedString{"proxy.verification.endpoints", ep})
		}
	}
	return out
}

func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkStrings(x[k], fn)
		}
	case []any:
		for _, y := range x {
			walkStrings(y, fn)
		}
	}
}

// NewCatalog returns a catalog of the given templates, as they are (no
// defaults filled, no validation): for tests and programs that build or
// adjust templates in code. A later template replaces an earlier one of the
// same name. The templates must not be modified afterwards.
func NewCatalog(ts ...*Template) *Catalog {
	c := &Catalog{byName: make(map[string]*Template, len(ts))}
	for _, t := range ts {
		c.byName[t.Name] = t
	}
	for _, t := range c.byName {
		c.sorted = append(c.sorted, t)
	}
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Name < c.sorted[j].Name })
	return c
}
