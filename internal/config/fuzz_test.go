package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad sets one variable (any of the table, chosen by i) to an
// arbitrary value, with an arbitrary .env file beside it: Load never
// panics, fails only with Problems, and never puts a secret variable's
// value in its error or in the configuration dump.
func FuzzLoad(f *testing.F) {
	seeds := []struct {
		i       uint16
		v, dotf string
	}{
		{0, "http://localhost:3003", ""},
		{1, "99999999999", "SERVER_PORT=1\n"},
		{4, "-5m", "export NANGO_OAUTH_STATE_TTL='1h'\n"},
		{10, "postgres://u:pa ss@h:5432/db?sslmode=nope", "NANGO_DB_PASSWORD=\"a\\nb\"\n# c\n"},
		{14, "9223372036854775807", "NANGO_DB_POOL_MAX=0\nNANGO_DB_POOL_MIN=9\n"},
		{19, "not-base64-key-material", "NANGO_ENCRYPTION_KEY=short\n"},
		{22, "sha999", "NANGO_HMAC_ENABLED=yes\n"},
		{25, "1e9", "=x\nBAD LINE\n'unterminated\n"},
		{30, "\x00\xff", "NANGO_SECRET_KEY=\"unterminated\n"},
	}
	for _, s := range seeds {
		f.Add(s.i, s.v, []byte(s.dotf))
	}
	f.Fuzz(func(t *testing.T, i uint16, value string, dotenv []byte) {
		v := vars[int(i)%len(vars)]
		path := filepath.Join(t.TempDir(), ".env")
		if err := os.WriteFile(path, dotenv, 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{v.Name: value}
		c, err := Load(Options{Env: envOf(env), DotenvPath: path})
		secretValue := v.Secret && len(value) >= 8 && !strings.Contains(v.Name+v.Doc+v.Default+string(dotenv)+path, value)
		if err != nil {
			var p Problems
			if !errors.As(err, &p) {
				t.Fatalf("Load error %T: %v", err, err)
			}
			if secretValue && strings.Contains(err.Error(), value) {
				t.Fatalf("the error shows the value of secret %s: %v", v.Name, err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
		if secretValue {
			var b, without strings.Builder
			if err := c.Dump(&b, envOf(env)); err != nil {
				t.Fatal(err)
			}
			if base, err := Load(Options{Env: envOf(nil), DotenvPath: path}); err == nil {
				_ = base.Dump(&without, envOf(nil))
			}
			if strings.Contains(b.String(), value) && !strings.Contains(without.String(), value) {
				t.Fatalf("the dump shows the value of secret %s", v.Name)
			}
		}
	})
}

// FuzzParseDotenv checks the .env parser: no panic, every key it returns
// is a valid variable name, and a file it wrote itself (KEY="value" with
// the value escaped) reads back.
func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{"A=1\nB='2'\nexport C=\"3\\n\"\n", "# c\n\nX=y # z\n", "=x\n", "A\n", "A=\"unterminated\n", "A=\"\\q\"\n", "\xff=1\n"} {
		f.Add([]byte(s), "value with \"quotes\" and \\ and $")
	}
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		m, err := ParseDotenv(".env", data)
		if err == nil {
			for k := range m {
				if !validEnvName(k) {
					t.Fatalf("invalid name %q accepted", k)
				}
			}
		}
		if strings.ContainsAny(value, "\n\r\x00") {
			return
		}
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value)
		m, err = ParseDotenv(".env", []byte(`KEY="`+esc+`"`+"\n"))
		if err != nil || m["KEY"] != value {
			t.Fatalf("round trip of %q: %q, %v", value, m["KEY"], err)
		}
	})
}
