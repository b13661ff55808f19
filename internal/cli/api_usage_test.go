package cli

import (
	"flag"
	"strings"
	"testing"
)

// Every API command has --help (exit 0, on stdout) and the same text
// through `nango help <command>`, listing each of its flags.
func TestAPICommandHelp(t *testing.T) {
	for name, spec := range apiSpecs() {
		t.Run(name, func(t *testing.T) {
			r := runCLI(nil, "", name, "--help")
			if r.code != ExitOK || !strings.HasPrefix(r.stdout, spec.summary+"\n\nUsage: nango "+name+" ") || r.stderr != "" {
				t.Fatalf("--help: %v", r)
			}
			if h := runCLI(nil, "", "help", name); h.code != ExitOK || h.stdout != r.stdout {
				t.Errorf("help %s differs from %s --help:\n%s", name, name, h.stdout)
			}
			if !strings.Contains(r.stdout, spec.summary) || (spec.example != "" && !strings.Contains(r.stdout, "Examples:\n  nango ")) {
				t.Errorf("help lacks summary or examples:\n%s", r.stdout)
			}
			fs, _, _ := spec.flagSet()
			for _, f := range flagNames(fs) {
				if !strings.Contains(r.stdout, f+" ") && !strings.Contains(r.stdout, f+"\n") {
					t.Errorf("help lacks flag %s:\n%s", f, r.stdout)
				}
			}
			// -h works too, after the arguments as well.
			if h := runCLI(nil, "", name, "x", "-h"); h.code != ExitOK || h.stdout != r.stdout {
				t.Errorf("%s x -h: %v", name, h)
			}
		})
	}
}

// Bad command lines exit 2 with the problem and the usage on stderr, and
// never reach the server (there is none at NANGO_HOSTPORT).
func TestAPICommandUsageErrors(t *testing.T) {
	env := map[string]string{"NANGO_HOSTPORT": "http://127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"config:get without key", []string{"config:get"}, "missing arguments: expected <provider_config_key>"},
		{"config:get extra", []string{"config:get", "a", "b"}, "too many arguments (2; at most 1"},
		{"config:list argument", []string{"config:list", "x"}, `unexpected argument "x"`},
		{"config:create one arg", []string{"config:create", "gh"}, "missing arguments"},
		{"config:create id without secret", []string{"config:create", "gh", "github", "id"}, "oauth_client_id given without oauth_client_secret"},
		{"config:create six args", []string{"config:create", "a", "b", "c", "d", "e", "f"}, "too many arguments"},
		{"config:delete nothing", []string{"config:delete"}, "missing arguments"},
		{"connection:get one arg", []string{"connection:get", "gh"}, "missing arguments: expected <provider_config_key> <connection_id>"},
		{"connection:delete one arg", []string{"connection:delete", "gh"}, "missing arguments"},
		{"connection:list argument", []string{"connection:list", "gh"}, `unexpected argument "gh"`},
		{"token:get unknown flag", []string{"token:get", "a", "b", "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{"import bad expires-at", []string{"connection:import", "a", "b", "--expires-at", "tomorrow"}, `--expires-at "tomorrow" is not an RFC 3339`},
		{"import bad expires-in", []string{"connection:import", "a", "b", "--expires-in", "-5"}, `--expires-in "-5"`},
		{"import both expiries", []string{"connection:import", "a", "b", "--expires-in", "5", "--expires-at", "2030-01-01T00:00:00Z"}, "not both"},
		{"import bad metadata", []string{"connection:import", "a", "b", "--metadata", "{nope"}, "not a JSON object"},
		{"import bad config pair", []string{"connection:import", "a", "b", "--connection-config", "novalue"}, "expected a JSON object, @file or key=value"},
		{"import missing file", []string{"connection:import", "a", "b", "--access-token", "@/no/such/file"}, "--access-token: open /no/such/file"},
		{"import two stdin values", []string{"connection:import", "a", "b", "--access-token", "-", "--refresh-token", "-"}, "only one value can be read from standard input"},
		{"proxy without connection", []string{"proxy", "GET", "/x", "--integration", "gh"}, "--connection and --integration are required"},
		{"proxy bad method", []string{"proxy", "G T", "/x", "--integration", "gh", "--connection", "c"}, `"G T" is not an HTTP method`},
		{"proxy bad header", []string{"proxy", "GET", "/x", "-H", "nocolon"}, "expected 'Name: value'"},
		{"proxy negative retries", []string{"proxy", "GET", "/x", "--integration", "gh", "--connection", "c", "--retries", "-1"}, "--retries must not be negative"},
		{"proxy bad query", []string{"proxy", "GET", "/x", "--query", "x"}, "expected key=value"},
		{"proxy missing data file", []string{"proxy", "GET", "/x", "--integration", "gh", "--connection", "c", "--data", "@/no/such/file"}, "--data: open /no/such/file"},
		{"completion without shell", []string{"completion"}, "missing arguments: expected bash|zsh|fish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(env, "", tt.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "Usage: nango "+tt.args[0]) {
				t.Fatalf("want exit 2 with %q and the usage; got %v", tt.want, r)
			}
			if r.stdout != "" || strings.Contains(r.stderr, "cannot reach") {
				t.Errorf("stdout %q; stderr %q", r.stdout, r.stderr)
			}
		})
	}
}

// Flags and arguments mix in any order; "--" ends the flags.
func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantPos  []string
		wantJSON bool
		wantData string
	}{
		{"flags first", []string{"--json", "a", "b"}, []string{"a", "b"}, true, ""},
		{"flags last", []string{"a", "b", "--json"}, []string{"a", "b"}, true, ""},
		{"flags between", []string{"a", "--data", "x", "b"}, []string{"a", "b"}, false, "x"},
		{"double dash", []string{"a", "--", "--json"}, []string{"a", "--json"}, false, ""},
		{"double dash as a value", []string{"a", "--data", "--", "--json"}, []string{"a"}, true, "--"},
		{"dash is an argument", []string{"-", "a"}, []string{"-", "a"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlags("t")
			j := fs.Bool("json", false, "")
			d := fs.String("data", "", "")
			pos, err := parseInterleaved(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(pos, "|") != strings.Join(tt.wantPos, "|") || *j != tt.wantJSON || *d != tt.wantData {
				t.Errorf("got %q json=%v data=%q", pos, *j, *d)
			}
		})
	}
}

// flagNames lists fs's flags as typed (--json, -H).
func flagNames(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) == 1 {
			out = append(out, "-"+f.Name)
		} else {
			out = append(out, "--"+f.Name)
		}
	})
	return out
}
