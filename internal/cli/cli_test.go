package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, IO{
		Stdout: &out, Stderr: &errb, DotenvPath: "-",
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, ExitUsage, "Usage: nango <command>"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--bogus"}, ExitUsage, "flag provided but not defined: -bogus"},
		{"extra argument", []string{"version", "x"}, ExitUsage, `unexpected argument "x"`},
		{"config without dump", []string{"config"}, ExitUsage, "expected 'dump'"},
		{"help", []string{"help"}, ExitOK, ""},
		{"command help", []string{"serve", "--help"}, ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", stderr, tt.want)
			}
			if tt.code == ExitOK && !strings.Contains(stdout, "Usage: nango") {
				t.Errorf("help output = %q", stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "nango dev (commit ") {
		t.Errorf("version = %d %q", code, out)
	}
}

// A bad configuration lists every problem, exits 1, and never touches the
// database (the data directory is not even created).
func TestServeBadConfigExitsBeforeDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, _, stderr := run(t, map[string]string{
		"NANGO_DATA_DIR":       dir,
		"SERVER_PORT":          "http",
		"NANGO_SERVER_URL":     "::not a url::",
		"NANGO_ENCRYPTION_KEY": "too-short",
		"NANGO_DB_SSL":         "maybe",
	}, "serve")
	if code != ExitError {
		t.Fatalf("exit = %d, want 1", code)
	}
	for _, v := range []string{"SERVER_PORT", "NANGO_SERVER_URL", "NANGO_ENCRYPTION_KEY", "NANGO_DB_SSL"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr)
		}
	}
	if strings.Contains(stderr, "too-short") {
		t.Errorf("stderr echoes the encryption key:\n%s", stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir was created: %v", err)
	}
}

func TestMigrateAndConfigDump(t *testing.T) {
	env := map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_SECRET_KEY": "sk-dump-me"}
	code, out, stderr := run(t, env, "migrate")
	if code != 0 || !strings.Contains(out, "database schema at version") {
		t.Fatalf("migrate = %d %q %q", code, out, stderr)
	}
	code, out, _ = run(t, env, "config", "dump")
	if code != 0 || !strings.Contains(out, "NANGO_SECRET_KEY=[redacted]") || strings.Contains(out, "sk-dump-me") {
		t.Errorf("dump = %d:\n%s", code, out)
	}
}
