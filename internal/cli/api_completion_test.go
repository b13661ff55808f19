package cli

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// completionScript writes `nango completion <shell>` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := runCLI(nil, "", "completion", shell)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("completion %s: %v", shell, r)
	}
	p := filepath.Join(t.TempDir(), "nango."+shell)
	if err := os.WriteFile(p, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func needShell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	return p
}

func shellLines(t *testing.T, cmd *exec.Cmd) []string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

// completionCases are lines typed so far and the candidates every shell
// must offer (sorted; for bash, the part after the last ':').
var completionCases = []struct {
	line string
	want []string
	bash []string // when bash's answer differs (it completes after ':')
}{
	{line: "nango config:l", want: []string{"config:list"}, bash: []string{"list"}},
	{line: "nango conn", want: []string{"connection:delete", "connection:get", "connection:import", "connection:list"}},
	{line: "nango token:get --f", want: []string{"--force-refresh"}},
	{line: "nango proxy P", want: []string{"PATCH", "POST", "PUT"}},
	{line: "nango proxy GET /user --integ", want: []string{"--integration"}},
	{line: "nango completion z", want: []string{"zsh"}},
	{line: "nango keys r", want: []string{"rotate"}},
	{line: "nango help token", want: []string{"token:get"}},
}

func TestCompletionBash(t *testing.T) {
	bash := needShell(t, "bash")
	script := completionScript(t, "bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tt := range completionCases {
		t.Run(tt.line, func(t *testing.T) {
			prog := `source "$1"
COMP_WORDBREAKS=$' \t\n"'"'"'><=;|&(:'
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
_nango_complete
printf '%s\n' "${COMPREPLY[@]}"`
			got := shellLines(t, exec.Command(bash, "-c", prog, "bash", script, tt.line))
			want := tt.want
			if tt.bash != nil {
				want = tt.bash
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("bash completes %q with %q, want %q", tt.line, got, want)
			}
		})
	}
}

func TestCompletionZsh(t *testing.T) {
	zsh := needShell(t, "zsh")
	script := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	for _, tt := range completionCases {
		t.Run(tt.line, func(t *testing.T) {
			// Stubs for the completion system: compadd and _describe print
			// the candidates matching PREFIX.
			prog := `
compdef() { }
_files() { }
_match() { local c; for c in "$@"; do [[ "$c" == "$PREFIX"* ]] && print -r -- "$c"; done; }
compadd() { [[ "$1" == -- ]] && shift; _match "$@"; }
_describe() { local -a d; d=("${(@P)4}"); d=("${(@)d//\\:/@@}"); d=("${(@)d%%:*}"); _match "${(@)d//@@/:}"; }
source "$1"
words=(${(z)2})
[[ "$2" == *" " ]] && words+=("")
CURRENT=${#words}
PREFIX="${words[CURRENT]}"
_nango
true`
			got := shellLines(t, exec.Command(zsh, "-f", "-c", prog, "zsh", script, tt.line))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("zsh completes %q with %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestCompletionFish(t *testing.T) {
	fish := needShell(t, "fish")
	script := completionScript(t, "fish")
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	for _, tt := range completionCases {
		t.Run(tt.line, func(t *testing.T) {
			var got []string
			for _, l := range shellLines(t, exec.Command(fish, "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", script, tt.line)) {
				cand, _, _ := strings.Cut(l, "\t")
				got = append(got, cand)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fish completes %q with %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

// The scripts follow the registry: every command and every flag of every
// API command is in each of them.
func TestCompletionFollowsRegistry(t *testing.T) {
	scripts := map[string]string{}
	for _, sh := range completionShells {
		r := runCLI(nil, "", "completion", sh)
		if r.code != 0 {
			t.Fatalf("completion %s: %v", sh, r)
		}
		scripts[sh] = r.stdout
	}
	specs := apiSpecs()
	for name := range commands() {
		for sh, s := range scripts {
			want := name
			if sh == "zsh" {
				want = strings.ReplaceAll(name, ":", `\:`)
			}
			if !strings.Contains(s, want) {
				t.Errorf("%s script lacks command %s", sh, name)
			}
		}
		spec, ok := specs[name]
		if !ok {
			continue
		}
		fs, _, _ := spec.flagSet()
		fs.VisitAll(func(f *flag.Flag) {
			for sh, s := range scripts {
				if !strings.Contains(s, f.Name) {
					t.Errorf("%s script lacks %s's flag %s", sh, name, f.Name)
				}
			}
		})
	}
	if r := runCLI(nil, "", "completion", "powershell"); r.code != ExitUsage || !strings.Contains(r.stderr, `unknown shell "powershell"`) {
		t.Errorf("unknown shell: %v", r)
	}
}
