package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, env map[string]string) (*Config, error) {
	t.Helper()
	return Load(Options{Env: envOf(env), DotenvPath: "-"})
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"port", c.Port, 3003},
		{"server url", c.ServerURL, "http://localhost:3003"},
		{"callback", c.CallbackURL, "http://localhost:3003/oauth/callback"},
		{"driver", c.DB.Driver, "sqlite"},
		{"sqlite path", c.DB.SQLitePath, filepath.Join("nango-data", "nango.db")},
		{"pool", [2]int{c.DB.PoolMin, c.DB.PoolMax}, [2]int{2, 7}},
		{"schema", c.DB.Schema, ""},
		{"telemetry", c.Telemetry, true},
		{"log format", c.LogFormat, "text"},
		{"hmac alg", c.HMAC.Algorithm, "sha256"},
		{"state ttl", c.OAuthStateTTL, 15 * time.Minute},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestPortPrecedence(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want int
		url  string
	}{
		{"server port wins", map[string]string{"SERVER_PORT": "4000", "PORT": "5000"}, 4000, "http://localhost:4000"},
		{"port fallback", map[string]string{"PORT": "5000"}, 5000, "http://localhost:5000"},
		{"explicit url kept", map[string]string{"PORT": "5000", "NANGO_SERVER_URL": "https://nango.example.com/"}, 5000, "https://nango.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Port != tt.want || c.ServerURL != tt.url {
				t.Errorf("port, url = %d, %q; want %d, %q", c.Port, c.ServerURL, tt.want, tt.url)
			}
			if c.CallbackURL != tt.url+"/oauth/callback" {
				t.Errorf("callback = %q", c.CallbackURL)
			}
		})
	}
}

func TestDatabaseSelection(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		driver string
		dsn    string
	}{
		{"sqlite default", nil, "sqlite", ""},
		{"host fields", map[string]string{"NANGO_DB_HOST": "db", "NANGO_DB_PASSWORD": "p@ss", "NANGO_DB_SSL": "TRUE"},
			"postgres", "postgres://nango:p%40ss@db:5432/nango?sslmode=require"},
		{"url wins over host", map[string]string{"NANGO_DB_HOST": "db", "NANGO_DATABASE_URL": "postgres://u:p@h:1/d"},
			"postgres", "postgres://u:p@h:1/d"},
		{"heroku url", map[string]string{"DATABASE_URL": "postgres://u:p@h:1/d?sslmode=no-verify"},
			"postgres", "postgres://u:p@h:1/d?sslmode=require"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.DB.Driver != tt.driver || c.DB.DSN.Reveal() != tt.dsn {
				t.Errorf("driver, dsn = %s, %s; want %s, %s", c.DB.Driver, c.DB.DSN.Reveal(), tt.driver, tt.dsn)
			}
		})
	}
}

// Every problem is reported at once, each naming its variable.
func TestAllProblemsAtOnce(t *testing.T) {
	_, err := load(t, map[string]string{
		"SERVER_PORT":              "eighty",
		"NANGO_SERVER_URL":         "not a url",
		"NANGO_ENCRYPTION_KEY":     "c2hvcnQ=",
		"NANGO_DB_SSL":             "maybe",
		"NANGO_DB_POOL_MAX":        "-1",
		"LOG_LEVEL":                "chatty",
		"LOG_FORMAT":               "xml",
		"NANGO_HMAC_ENABLED":       "true",
		"NANGO_HMAC_ALGORITHM":     "crc32",
		"NANGO_DASHBOARD_USERNAME": "admin",
		"NANGO_DATABASE_URL":       "mysql://x",
		"TELEMETRY":                "sometimes",
		"NANGO_OAUTH_STATE_TTL":    "forever",
	})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v, want Problems", err)
	}
	for _, name := range []string{"SERVER_PORT", "NANGO_SERVER_URL", "NANGO_ENCRYPTION_KEY", "NANGO_DB_SSL",
		"NANGO_DB_POOL_MAX", "LOG_LEVEL", "LOG_FORMAT", "NANGO_HMAC_KEY", "NANGO_HMAC_ALGORITHM",
		"NANGO_DASHBOARD_PASSWORD", "NANGO_DATABASE_URL", "TELEMETRY", "NANGO_OAUTH_STATE_TTL"} {
		found := false
		for _, p := range probs {
			if strings.Contains(p, name) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem names %s; got:\n%v", name, err)
		}
	}
}

func TestEncryptionKeyNeverQuoted(t *testing.T) {
	bad := "dGhpcyBpcyBub3QgMzIgYnl0ZXMgbG9uZyBhdCBhbGwhIQ==" // 34 bytes
	_, err := load(t, map[string]string{"NANGO_ENCRYPTION_KEY": bad, "NANGO_ENCRYPTION_PREVIOUS_KEYS": "%%%," + bad})
	if err == nil || strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "%%%") {
		t.Fatalf("err = %v", err)
	}
	good := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	c, err := load(t, map[string]string{"NANGO_ENCRYPTION_KEY": good, "NANGO_ENCRYPTION_PREVIOUS_KEYS": good + ", " + good})
	if err != nil {
		t.Fatal(err)
	}
	if c.EncryptionKey.Reveal() != good || len(c.EncryptionPreviousKeys) != 2 {
		t.Errorf("keys not loaded")
	}
}

func TestDotenvAndFileTwins(t *testing.T) {
	dir := t.TempDir()
	dot := filepath.Join(dir, ".env")
	if err := os.WriteFile(dot, []byte("# comment\nSERVER_PORT=4100\nexport LOG_LEVEL='debug'\nNANGO_SECRET_KEY=\"from-dotenv$HOME\"\nLOG_FORMAT=json # trailing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "hmac")
	if err := os.WriteFile(keyFile, []byte("file-hmac\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{DotenvPath: dot, Env: envOf(map[string]string{
		"SERVER_PORT":         "4200", // real environment wins
		"NANGO_HMAC_ENABLED":  "true",
		"NANGO_HMAC_KEY_FILE": keyFile,
	})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 4200 {
		t.Errorf("port = %d, want the environment's 4200", c.Port)
	}
	if c.LogFormat != "json" || c.LogLevel.String() != "DEBUG" {
		t.Errorf("dotenv values not applied: %s %s", c.LogFormat, c.LogLevel)
	}
	if c.SecretKey.Reveal() != "from-dotenv$HOME" {
		t.Errorf("secret = %q, want no $ expansion", c.SecretKey.Reveal())
	}
	if c.HMAC.Key.Reveal() != "file-hmac" {
		t.Errorf("hmac key from file = %q", c.HMAC.Key.Reveal())
	}

	_, err = Load(Options{DotenvPath: "-", Env: envOf(map[string]string{
		"NANGO_SECRET_KEY": "a", "NANGO_SECRET_KEY_FILE": keyFile,
		"NANGO_ENCRYPTION_KEY_FILE": filepath.Join(dir, "missing"),
	})})
	if err == nil || !strings.Contains(err.Error(), "set only one") || !strings.Contains(err.Error(), "NANGO_ENCRYPTION_KEY_FILE") {
		t.Errorf("err = %v", err)
	}
}

func TestParseDotenvErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"no equals", "A=1\nJUSTTEXT\n", ".env:2: expected KEY=VALUE"},
		{"bad name", "1A=x", "not a valid variable name"},
		{"open quote", `A="abc`, "unterminated"},
		{"junk after quote", `A="abc" def`, "after the closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDotenv(".env", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDumpMasksSecrets(t *testing.T) {
	env := map[string]string{
		"NANGO_SECRET_KEY": "sk-very-secret", "NANGO_DB_HOST": "db", "NANGO_DB_PASSWORD": "pw-secret",
		"NANGO_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	c, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Dump(&buf, envOf(env)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"sk-very-secret", "pw-secret", "MDEyMzQ1"} {
		if strings.Contains(out, s) {
			t.Errorf("dump contains secret %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"NANGO_SECRET_KEY=[redacted]", "NANGO_DB_HOST=db", "database: postgres postgres://nango:[redacted]@db:5432/nango"} {
		if !strings.Contains(out, s) {
			t.Errorf("dump lacks %q:\n%s", s, out)
		}
	}
}
