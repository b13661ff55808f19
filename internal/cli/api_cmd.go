package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/nango-go/nango/client"
	"github.com/nango-go/nango/internal/version"
)

// The API commands (config:*, connection:*, token:get, proxy) and
// completion: the reference CLI's commands (SPEC §8.2), run through the Go
// client. Each is an apiSpec; apiCommand turns one into a registry entry
// of commands(), with a usage text generated from its real flags.

// DefaultHost is the server the API commands talk to when neither
// NANGO_HOSTPORT nor --host says otherwise.
const DefaultHost = "http://localhost:3003"

// apiRunner runs one API command with its flags parsed.
type apiRunner func(ctx context.Context, e *apiEnv, args []string) error

// apiSpec describes one command.
type apiSpec struct {
	name    string
	summary string
	args    string // positional arguments, for the usage line
	minArgs int
	maxArgs int    // -1: any number
	about   string // paragraphs after the usage line
	example string // lines of examples
	// local marks commands that talk to no server (no --host,
	// --secret-key, --json).
	local bool
	// noJSON marks server commands without a --json mode (proxy).
	noJSON bool
	// setup defines the command's own flags on fs and returns its runner,
	// which reads them.
	setup func(fs *flag.FlagSet) apiRunner
}

// apiSpecs returns the API commands by name. It is built on each call (the
// registry has no global state).
func apiSpecs() map[string]*apiSpec {
	list := []*apiSpec{
		configListSpec(), configGetSpec(), configCreateSpec(), configEditSpec(), configDeleteSpec(),
		connectionListSpec(), connectionGetSpec(), connectionImportSpec(), connectionDeleteSpec(),
		tokenGetSpec(), proxySpec(), completionSpec(),
	}
	m := make(map[string]*apiSpec, len(list))
	for _, s := range list {
		m[s.name] = s
	}
	return m
}

// apiCommand returns the registry entry of the API command name. It panics
// on an unknown name (a programming error, caught by every test run).
func apiCommand(name string) *command {
	s, ok := apiSpecs()[name]
	if !ok {
		panic("cli: no API command " + name)
	}
	return &command{name: s.name, summary: s.summary, usage: s.usage(), run: s.run}
}

// commonFlags are the flags every server command has.
type commonFlags struct {
	host, secretKey string
	json            bool
}

// flagSet builds the command's complete flag set and its runner.
func (s *apiSpec) flagSet() (*flag.FlagSet, *commonFlags, apiRunner) {
	fs := newFlags(s.name)
	cf := &commonFlags{}
	if !s.local {
		fs.StringVar(&cf.host, "host", "", "server `URL` (default $NANGO_HOSTPORT, else "+DefaultHost+")")
		fs.StringVar(&cf.secretKey, "secret-key", "", "the server's secret `KEY` (default $NANGO_SECRET_KEY; prefer the variable: flags show in the process list)")
		if !s.noJSON {
			fs.BoolVar(&cf.json, "json", false, "print JSON on stdout for scripts instead of text for people")
		}
	}
	var r apiRunner
	if s.setup != nil {
		r = s.setup(fs)
	}
	return fs, cf, r
}

// usage is the text after "Usage: nango <name> ": arguments, description,
// flags and examples.
func (s *apiSpec) usage() string {
	fs, _, _ := s.flagSet()
	var b strings.Builder
	b.WriteString(s.args)
	if hasFlags(fs) {
		if s.args != "" {
			b.WriteByte(' ')
		}
		b.WriteString("[flags]")
	}
	if s.about != "" {
		b.WriteString("\n\n")
		b.WriteString(strings.TrimSpace(s.about))
	}
	if hasFlags(fs) {
		b.WriteString("\n\nFlags:\n")
		writeFlagHelp(&b, fs)
		trimNewlines(&b)
	}
	if s.example != "" {
		b.WriteString("\n\nExamples:\n")
		for _, l := range strings.Split(strings.TrimSpace(s.example), "\n") {
			b.WriteString("  " + strings.TrimSpace(l) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// trimNewlines drops b's trailing newlines.
func trimNewlines(b *strings.Builder) {
	s := strings.TrimRight(b.String(), "\n")
	b.Reset()
	b.WriteString(s)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// writeFlagHelp lists fs's flags as --name VALUE, aligned.
func writeFlagHelp(w io.Writer, fs *flag.FlagSet) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if arg := flagArg(f); arg != "" {
			name += " " + arg
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, flagUsage(f))
	})
	_ = tw.Flush()
}

// flagArg is the placeholder of a flag's value ("" for booleans).
func flagArg(f *flag.Flag) string {
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		return ""
	}
	if a, ok := f.Value.(interface{ argName() string }); ok {
		return a.argName()
	}
	name, _ := flag.UnquoteUsage(f)
	return strings.ToUpper(name)
}

// flagUsage is f's usage without the backquotes that name its value.
func flagUsage(f *flag.Flag) string {
	_, u := flag.UnquoteUsage(f)
	return u
}

// run parses the command line and runs the command.
func (s *apiSpec) run(ctx context.Context, o IO, args []string) error {
	fs, cf, runner := s.flagSet()
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < s.minArgs || (s.maxArgs >= 0 && len(pos) > s.maxArgs) {
		return usagef("%s", argCountMessage(s, pos))
	}
	e := &apiEnv{o: o, json: cf.json}
	if !s.local {
		if err := e.connect(cf); err != nil {
			return err
		}
	}
	return runner(ctx, e, pos)
}

func argCountMessage(s *apiSpec, pos []string) string {
	switch {
	case s.maxArgs == 0:
		return fmt.Sprintf("unexpected argument %q", pos[0])
	case len(pos) > s.maxArgs:
		return fmt.Sprintf("too many arguments (%d; at most %d: %s)", len(pos), s.maxArgs, s.args)
	default:
		return fmt.Sprintf("missing arguments: expected %s", s.args)
	}
}

// parseInterleaved parses flags placed anywhere among the positional
// arguments ("nango token:get github u1 --json"); after "--" everything is
// positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" && (consumed < 2 || !needsValue(fs, args[consumed-2])) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// needsValue reports whether arg is a flag of fs that takes a separate
// value (so that a following "--" is that value).
func needsValue(fs *flag.FlagSet, arg string) bool {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	return f != nil && flagArg(f) != ""
}

// apiEnv is what a running API command uses.
type apiEnv struct {
	o    IO
	c    *client.Client
	host string
	json bool
}

// connect resolves the server and key (flags, then environment) and builds
// the client. In text mode it says on stderr which server it uses.
func (e *apiEnv) connect(cf *commonFlags) error {
	host, from := cf.host, "--host"
	if host == "" {
		if v, ok := e.o.lookup("NANGO_HOSTPORT"); ok && strings.TrimSpace(v) != "" {
			host, from = strings.TrimSpace(v), "NANGO_HOSTPORT"
		}
	}
	if host == "" {
		host, from = DefaultHost, "default"
	}
	host = strings.TrimSuffix(host, "/")
	key, err := e.secretKey(cf.secretKey)
	if err != nil {
		return err
	}
	v, _ := version.Info()
	c, err := client.New(host, client.WithSecretKey(key), client.WithUserAgent("nango-cli/"+v))
	if err != nil {
		if from == "--host" {
			return usagef("--host %q is not an http(s) URL (e.g. http://localhost:3003)", host)
		}
		return exitError{ExitError, fmt.Errorf("NANGO_HOSTPORT %q is not an http(s) URL (e.g. http://localhost:3003)", host)}
	}
	e.c, e.host = c, c.BaseURL()
	if !e.json {
		switch from {
		case "default":
			fmt.Fprintf(e.o.Stderr, "Using nango at %s (the default; set NANGO_HOSTPORT or --host to change it)\n", e.host)
		default:
			fmt.Fprintf(e.o.Stderr, "Using nango at %s (from %s)\n", e.host, from)
		}
	}
	return nil
}

// secretKey is --secret-key, else NANGO_SECRET_KEY, else the file named by
// NANGO_SECRET_KEY_FILE (as for the server), else "" (no auth header).
func (e *apiEnv) secretKey(fromFlag string) (string, error) {
	if fromFlag != "" {
		return fromFlag, nil
	}
	if v, ok := e.o.lookup("NANGO_SECRET_KEY"); ok && v != "" {
		return v, nil
	}
	if p, ok := e.o.lookup("NANGO_SECRET_KEY_FILE"); ok && p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", exitError{ExitError, fmt.Errorf("NANGO_SECRET_KEY_FILE: %w", err)}
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// fail turns a client error into the command's error: the server's
// message and type for an *APIError, a hint for an unreachable server.
// Both exit 1.
func (e *apiEnv) fail(err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return exitError{ExitError, errors.New(apiErrorLine(ae))}
	}
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) {
		return exitError{ExitError, fmt.Errorf("cannot reach nango at %s: %v (is `nango serve` running there? Set NANGO_HOSTPORT or --host)", e.host, ue.Err)}
	}
	return exitError{ExitError, err}
}

// apiErrorLine is "❌ <message> (<type>)", plus the provider's message of
// a failed refresh.
func apiErrorLine(ae *client.APIError) string {
	msg := ae.Message
	if msg == "" {
		msg = "the server answered " + fmt.Sprint(ae.Status)
	}
	typ := ae.Type
	if typ == "" {
		typ = fmt.Sprintf("HTTP %d", ae.Status)
	}
	line := fmt.Sprintf("❌ %s (%s)", msg, typ)
	if ext, _ := ae.Payload["external_message"].(string); ext != "" {
		line += "\n   provider: " + ext
	}
	return line
}

// printJSON writes v as indented JSON and a newline on stdout.
func (e *apiEnv) printJSON(v any) error {
	enc := json.NewEncoder(e.o.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table returns a tabwriter on stdout; Flush it.
func (e *apiEnv) table() *tabwriter.Writer {
	return tabwriter.NewWriter(e.o.Stdout, 0, 0, 2, ' ', 0)
}

// stdin is the command's standard input (empty when IO has none).
func (e *apiEnv) stdin() io.Reader {
	if e.o.Stdin == nil {
		return strings.NewReader("")
	}
	return e.o.Stdin
}

// valueFlag is a string flag whose value may be read from elsewhere:
// "-" reads standard input, "@path" reads a file; anything else is the
// value itself. Reading happens in resolve, after parsing.
type valueFlag struct {
	arg string
	raw string
	set bool
}

func (v *valueFlag) String() string  { return v.raw }
func (v *valueFlag) argName() string { return v.arg }
func (v *valueFlag) Set(s string) error {
	v.raw, v.set = s, true
	return nil
}

// resolve returns the flag's value, reading stdin or the file it names.
// Trailing newlines of a read value are dropped.
func (v *valueFlag) resolve(e *apiEnv, name string, stdinUsed *bool) (string, error) {
	switch {
	case v.raw == "-":
		if *stdinUsed {
			return "", usagef("only one value can be read from standard input (--%s -)", name)
		}
		*stdinUsed = true
		b, err := io.ReadAll(bufio.NewReader(e.stdin()))
		if err != nil {
			return "", fmt.Errorf("--%s: reading standard input: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case strings.HasPrefix(v.raw, "@"):
		b, err := os.ReadFile(v.raw[1:])
		if err != nil {
			return "", usagef("--%s: %v", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return v.raw, nil
}

// objectFlag is a JSON object given as JSON ({...}), as @file holding
// JSON, or as repeated key=value pairs (string values).
type objectFlag struct {
	name string
	m    map[string]any
}

func (o *objectFlag) String() string  { return "" }
func (o *objectFlag) argName() string { return "JSON|@FILE|KEY=VALUE" }
func (o *objectFlag) Set(s string) error {
	var obj map[string]any
	switch {
	case strings.HasPrefix(strings.TrimSpace(s), "{"), strings.HasPrefix(s, "@"):
		data := []byte(s)
		if strings.HasPrefix(s, "@") {
			b, err := os.ReadFile(s[1:])
			if err != nil {
				return err
			}
			data = b
		}
		if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
			return fmt.Errorf("not a JSON object: %v", jsonProblem(err))
		}
	default:
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("expected a JSON object, @file or key=value, not %q", s)
		}
		obj = map[string]any{k: v}
	}
	if o.m == nil {
		o.m = map[string]any{}
	}
	for k, v := range obj {
		o.m[k] = v
	}
	return nil
}

func jsonProblem(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}
