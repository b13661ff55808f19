package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type testKey struct {
	text, id string
}

func genKey() testKey {
	k, text := secret.GenerateKey()
	return testKey{text: text.Reveal(), id: k.ID()}
}

// withKeys returns a copy of env with current ("" = none) and previous
// keys.
func withKeys(env map[string]string, current string, previous ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	if current != "" {
		out["NANGO_ENCRYPTION_KEY"] = current
	}
	if len(previous) > 0 {
		out["NANGO_ENCRYPTION_PREVIOUS_KEYS"] = strings.Join(previous, ",")
	}
	return out
}

// openStore opens env's store as the server does (its keys, migrated).
func openStore(t *testing.T, env map[string]string) store.Store {
	t.Helper()
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// seedPlain writes n integrations with one connection each, in plaintext,
// and returns secret → where, to compare after each step.
func seedPlain(t *testing.T, env map[string]string, n int) map[string]string {
	t.Helper()
	st := openStore(t, env)
	ctx := context.Background()
	want := map[string]string{}
	for i := range n {
		in := store.Integration{Key: fmt.Sprint("int-", i), Provider: "github", ClientID: "cid", ClientSecret: secret.String("cs-" + secret.RandomToken(12))}
		if err := st.CreateIntegration(ctx, &in); err != nil {
			t.Fatal(err)
		}
		want["int:"+in.Key] = in.ClientSecret.Reveal()
		exp := time.Now().Add(time.Hour)
		c := store.Connection{ProviderConfigKey: in.Key, ConnectionID: fmt.Sprint("conn-", i),
			Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String("at-" + secret.RandomToken(12)), ExpiresAt: &exp}}
		if _, err := st.UpsertConnection(ctx, &c); err != nil {
			t.Fatal(err)
		}
		want["conn:"+in.Key] = c.Credentials.AccessToken.Reveal()
	}
	_ = st.Close()
	return want
}

// checkData reads everything back through a store opened with env.
func checkData(t *testing.T, env map[string]string, want map[string]string) {
	t.Helper()
	st := openStore(t, env)
	ctx := context.Background()
	for k, v := range want {
		key := strings.SplitN(k, ":", 2)[1]
		if strings.HasPrefix(k, "int:") {
			in, err := st.GetIntegration(ctx, key)
			if err != nil || in.ClientSecret.Reveal() != v {
				t.Errorf("integration %s: %v (secret matches: %v)", key, err, err == nil && in.ClientSecret.Reveal() == v)
			}
			continue
		}
		c, err := st.GetConnection(ctx, key, "conn-"+strings.TrimPrefix(key, "int-"))
		if err != nil || c.Credentials.AccessToken.Reveal() != v {
			t.Errorf("connection of %s: %v", key, err)
		}
	}
	_ = st.Close()
}

func mustRun(t *testing.T, env map[string]string, wantCode int, args ...string) (string, string) {
	t.Helper()
	code, out, errb := run(t, env, args...)
	if code != wantCode {
		t.Fatalf("nango %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, out, errb)
	}
	return out, errb
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s:\n%s\nwant it to contain:\n%s", what, got, w)
		}
	}
}

// The whole life of encryption through the commands, on both drivers:
// turn it on, rotate, refuse a retired key, decrypt.
func TestKeysEndToEnd(t *testing.T) {
	drivers := []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"sqlite", func(t *testing.T) map[string]string { return map[string]string{"NANGO_DATA_DIR": t.TempDir()} }},
		{"postgres", func(t *testing.T) map[string]string { return map[string]string{"NANGO_DATABASE_URL": pgtest.DSN(t)} }},
	}
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			base := d.env(t)
			base["LOG_LEVEL"] = "debug"
			data := seedPlain(t, base, 60) // 120 values: more than one batch
			k1, k2 := genKey(), genKey()
			all := func(out string) {
				t.Helper()
				for _, k := range []testKey{k1, k2} {
					if strings.Contains(out, k.text) {
						t.Fatalf("output holds a key:\n%s", out)
					}
				}
			}

			// Encryption off.
			out, errb := mustRun(t, base, 0, "keys", "status")
			all(out + errb)
			contains(t, "status, encryption off", out,
				"Encryption at rest: off (NANGO_ENCRYPTION_KEY is not set)",
				"Keys recorded in the database: none",
				"connections   -       60      plaintext (not encrypted)",
				"Server start-up check: passes",
				"Encryption at rest is off: tokens and client secrets are stored in plaintext.")

			// Turn it on in the foreground.
			on := withKeys(base, k1.text)
			out, _ = mustRun(t, on, 0, "keys", "status")
			contains(t, "status, key set", out, "Encryption at rest: on (NANGO_ENCRYPTION_KEY has key id "+k1.id+")",
				"120 secrets are stored in plaintext: a running server encrypts them in the background, or run `nango keys rotate` to do it now.")
			out, errb = mustRun(t, on, 0, "keys", "rotate")
			all(out + errb)
			contains(t, "rotate on plaintext", out,
				"Re-encrypting with key id "+k1.id+": 120 secret(s) to rewrite (120 in plaintext, 0 on other keys).",
				"  re-encrypted 100, about 20 left",
				"Done: re-encrypted 120 secret(s); every stored secret uses key id "+k1.id+".")
			out, _ = mustRun(t, on, 0, "keys", "status")
			contains(t, "status after encrypting", out,
				"Keys recorded in the database: "+k1.id,
				"connections   "+k1.id+"  60      current (NANGO_ENCRYPTION_KEY)",
				"Nothing to do: every stored secret uses the current key (key id "+k1.id+").")
			checkData(t, on, data)

			// Rotate to k2.
			rot := withKeys(base, k2.text, k1.text)
			out, _ = mustRun(t, rot, 0, "keys", "status")
			contains(t, "status before rotating", out,
				"integrations  "+k1.id+"  60      previous (NANGO_ENCRYPTION_PREVIOUS_KEYS)",
				"120 secrets still use previous key id "+k1.id)
			out, errb = mustRun(t, rot, 0, "keys", "rotate")
			all(out + errb)
			contains(t, "rotate", out,
				"Re-encrypting with key id "+k2.id+": 120 secret(s) to rewrite (0 in plaintext, 120 on other keys).",
				"Done: re-encrypted 120 secret(s); every stored secret uses key id "+k2.id+".",
				"Dropped key id(s) "+k1.id+" from the database's key record.",
				"No secret uses previous key id(s) "+k1.id+" any more: remove them from NANGO_ENCRYPTION_PREVIOUS_KEYS")
			out, _ = mustRun(t, rot, 0, "keys", "rotate") // idempotent
			contains(t, "second rotate", out, "0 secret(s) to rewrite", "Done: re-encrypted 0 secret(s)")

			// The old key is no longer needed; the old key alone is refused.
			only2 := withKeys(base, k2.text)
			out, _ = mustRun(t, only2, 0, "keys", "status")
			contains(t, "status with the new key only", out, "Server start-up check: passes", "Nothing to do")
			checkData(t, only2, data)
			only1 := withKeys(base, k1.text)
			out, _ = mustRun(t, only1, 0, "keys", "status")
			contains(t, "status with the retired key", out,
				"connections   "+k2.id+"  60      NOT CONFIGURED (cannot be read)",
				"Server start-up check: FAILS, a server would refuse to start: encryption keys: the database holds secrets encrypted with key id "+k2.id)
			_, errb = mustRun(t, only1, 1, "keys", "rotate")
			contains(t, "rotate with the retired key", errb, "nango keys: encryption keys: the database holds secrets encrypted with key id "+k2.id+", which is not configured")

			// Decrypt: confirmation required, every key required.
			_, errb = mustRun(t, only2, 2, "keys", "decrypt")
			contains(t, "decrypt without --yes", errb, "Stop every server first, then run `nango keys decrypt --yes` to confirm")
			_, errb = mustRun(t, withKeys(base, "", k1.text), 1, "keys", "decrypt", "--yes")
			contains(t, "decrypt with the wrong key", errb, "cannot decrypt: encryption keys: the database holds secrets encrypted with key id "+k2.id)
			out, errb = mustRun(t, only2, 0, "keys", "decrypt", "--yes")
			all(out + errb)
			contains(t, "decrypt", out, "Decrypting 120 secret(s).", "Done: decrypted 120 secret(s); every stored secret is in plaintext and the database records no key.",
				"Now remove NANGO_ENCRYPTION_KEY and NANGO_ENCRYPTION_PREVIOUS_KEYS")
			out, _ = mustRun(t, base, 0, "keys", "status")
			contains(t, "status after decrypt", out, "Keys recorded in the database: none", "connections   -       60      plaintext", "Server start-up check: passes")
			checkData(t, base, data)

			// --json for scripts.
			out, _ = mustRun(t, base, 0, "keys", "status", "--json")
			contains(t, "status --json", out, `"current_key_id": ""`, `"done": true`, `"table": "connections"`)
		})
	}
}

func TestKeysGenerate(t *testing.T) {
	out1, errb := mustRun(t, nil, 0, "keys", "generate")
	out2, _ := mustRun(t, nil, 0, "keys", "generate")
	k, err := secret.ParseKey(out1)
	if err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9+/]{43}=\n$`).MatchString(out1) || out1 == out2 {
		t.Errorf("generate printed %q then %q", out1, out2)
	}
	contains(t, "generate stderr", errb, "key id "+k.ID(), "NANGO_ENCRYPTION_KEY")
	if strings.Contains(errb, strings.TrimSpace(out1)) {
		t.Error("stderr repeats the key")
	}
}

func TestKeysUsage(t *testing.T) {
	env := map[string]string{"NANGO_DATA_DIR": t.TempDir()}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no subcommand", []string{"keys"}, ExitUsage, "expected a subcommand: status, rotate, decrypt or generate"},
		{"unknown subcommand", []string{"keys", "frob"}, ExitUsage, `unknown subcommand "frob"`},
		{"extra argument", []string{"keys", "status", "x"}, ExitUsage, `unexpected argument "x"`},
		{"unknown flag", []string{"keys", "rotate", "--fast"}, ExitUsage, "flag provided but not defined: -fast"},
		{"decrypt unconfirmed", []string{"keys", "decrypt"}, ExitUsage, "then run `nango keys decrypt --yes` to confirm"},
		{"rotate without key", []string{"keys", "rotate"}, ExitError, "NANGO_ENCRYPTION_KEY is not set: `nango keys rotate` encrypts with it."},
		{"help", []string{"keys", "--help"}, ExitOK, ""},
		{"subcommand help", []string{"keys", "status", "--help"}, ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := run(t, env, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errb)
			}
			if !strings.Contains(errb, tt.want) {
				t.Errorf("stderr = %q, want %q", errb, tt.want)
			}
			if tt.code == ExitOK && !strings.Contains(out, "Usage: nango keys <subcommand>") {
				t.Errorf("help = %q", out)
			}
		})
	}
}
