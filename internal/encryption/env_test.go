package encryption_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/encryption"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
	"github.com/nango-go/nango/internal/store/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// key is a generated key with its text.
type key struct {
	k    secret.Key
	text string
}

func newKey() key {
	k, text := secret.GenerateKey()
	return key{k: k, text: text.Reveal()}
}

func (k key) id() string { return k.k.ID() }

// db is one database under test, reached through the configuration as the
// server reaches it.
type db struct {
	t   *testing.T
	env map[string]string
}

// forEachDriver runs fn with a maker of fresh databases: SQLite files, and
// PostgreSQL schemas (skipped unless NANGO_TEST_POSTGRES_URL is set).
func forEachDriver(t *testing.T, fn func(t *testing.T, newDB func(t *testing.T) *db)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) *db {
			return &db{t: t, env: map[string]string{"NANGO_DATA_DIR": t.TempDir()}}
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pgtest.DSN(t) // skip early without PostgreSQL
		fn(t, func(t *testing.T) *db {
			return &db{t: t, env: map[string]string{"NANGO_DATABASE_URL": pgtest.DSN(t)}}
		})
	})
}

// config loads the configuration of d with current (nil: none) and
// previous keys.
func (d *db) config(current *key, previous ...key) *config.Config {
	d.t.Helper()
	env := map[string]string{}
	for k, v := range d.env {
		env[k] = v
	}
	if current != nil {
		env["NANGO_ENCRYPTION_KEY"] = current.text
	}
	var prev []string
	for _, k := range previous {
		prev = append(prev, k.text)
	}
	if len(prev) > 0 {
		env["NANGO_ENCRYPTION_PREVIOUS_KEYS"] = strings.Join(prev, ",")
	}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		d.t.Fatal(err)
	}
	return cfg
}

// instance is one process's view: a store opened with cfg's keyring and
// the manager over it.
type instance struct {
	st   store.Store
	m    *encryption.Manager
	logs *syncBuffer
}

// open opens a migrated store with cfg's keyring and its manager; opts
// tune the manager (Store, Keyring and Locker are set from cfg).
func (d *db) open(cfg *config.Config, opts encryption.Options) *instance {
	d.t.Helper()
	ctx := context.Background()
	kr, err := encryption.KeyringFromConfig(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	sopts := store.Options{Sealer: kr}
	var st store.Store
	if cfg.DB.Driver == "postgres" {
		st, err = postgres.Open(ctx, postgres.Config{DSN: cfg.DB.DSN.Reveal(), Schema: cfg.DB.Schema}, sopts)
	} else {
		st, err = sqlite.Open(ctx, cfg.DB.SQLitePath, sopts)
	}
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		d.t.Fatal(err)
	}
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := encryption.NewForConfig(cfg, st, opts)
	if err != nil {
		d.t.Fatal(err)
	}
	return &instance{st: st, m: m, logs: logs}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dataset is what writeData stored, to compare with what is read back.
type dataset struct {
	integrations map[string]string // key → client secret
	connections  map[string]string // connection id → credentials JSON
	sessions     map[string]string // id → code verifier
}

func (d *dataset) values() int { return len(d.integrations) + len(d.connections) + len(d.sessions) }

// writeData stores n integrations, each with two connections, and n OAuth
// sessions, through st.
func writeData(t *testing.T, st store.Store, n int) *dataset {
	t.Helper()
	ctx := context.Background()
	d := &dataset{integrations: map[string]string{}, connections: map[string]string{}, sessions: map[string]string{}}
	for i := range n {
		in := store.Integration{Key: fmt.Sprint("int-", i), Provider: "github", ClientID: fmt.Sprint("client-", i),
			ClientSecret: secret.String("cs-" + secret.RandomToken(16))}
		if err := st.CreateIntegration(ctx, &in); err != nil {
			t.Fatal(err)
		}
		d.integrations[in.Key] = in.ClientSecret.Reveal()
		for j := range 2 {
			exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
			at, rt := "at-"+secret.RandomToken(16), "rt-"+secret.RandomToken(16)
			c := store.Connection{ProviderConfigKey: in.Key, ConnectionID: fmt.Sprintf("conn-%d-%d", i, j),
				Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: secret.String(rt),
					ExpiresAt: &exp, Raw: map[string]any{"access_token": at, "refresh_token": rt}}}
			if _, err := st.UpsertConnection(ctx, &c); err != nil {
				t.Fatal(err)
			}
			b, _ := c.Credentials.MarshalJSON()
			d.connections[c.ConnectionID] = string(b)
		}
		sess := store.OAuthSession{ID: fmt.Sprint("sess-", i), Provider: "github", ProviderConfigKey: in.Key, ConnectionID: "u",
			CallbackURL: "https://x.example.com/oauth/callback", AuthMode: store.OAuth2,
			CodeVerifier: secret.String("cv-" + secret.RandomToken(16)), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := st.CreateOAuthSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		d.sessions[sess.ID] = sess.CodeVerifier.Reveal()
	}
	return d
}

// check reads every integration and connection back through st and
// compares it with what was written: a value encrypted twice, lost or
// mixed up fails.
func (d *dataset) check(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	for k, cs := range d.integrations {
		in, err := st.GetIntegration(ctx, k)
		if err != nil {
			t.Fatalf("GetIntegration %s: %v", k, err)
		}
		if in.ClientSecret.Reveal() != cs {
			t.Errorf("integration %s: client secret differs from what was written", k)
		}
		for j := range 2 {
			id := strings.Replace(k, "int-", "conn-", 1) + fmt.Sprint("-", j)
			c, err := st.GetConnection(ctx, k, id)
			if err != nil {
				t.Fatalf("GetConnection %s: %v", id, err)
			}
			b, _ := c.Credentials.MarshalJSON()
			if string(b) != d.connections[id] {
				t.Errorf("connection %s: credentials differ from what was written", id)
			}
		}
	}
}

// takeSessions takes every session and compares its code verifier.
func (d *dataset) takeSessions(t *testing.T, st store.Store) {
	t.Helper()
	for id, cv := range d.sessions {
		s, err := st.TakeOAuthSession(context.Background(), id)
		if err != nil {
			t.Fatalf("TakeOAuthSession %s: %v", id, err)
		}
		if s.CodeVerifier.Reveal() != cv {
			t.Errorf("session %s: code verifier differs", id)
		}
	}
}

// usage returns key id → number of values.
func usage(t *testing.T, st store.Store) map[string]int64 {
	t.Helper()
	ku, err := st.KeyUsage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, k := range ku {
		m[k.KeyID] += k.Count
	}
	return m
}

// record returns the recorded key ids.
func record(t *testing.T, st store.Store) []string {
	t.Helper()
	v, err := st.GetMeta(context.Background(), secret.KeyRecordMeta)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	r, err := secret.ParseKeyRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	return r.IDs()
}

func sameIDs(a []string, b ...string) bool {
	b = append([]string{}, b...)
	sort.Strings(b)
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// exec runs one SQL statement on d, bypassing the store.
func (d *db) exec(q string) {
	d.t.Helper()
	ctx := context.Background()
	cfg := d.config(nil)
	if cfg.DB.Driver == "postgres" {
		c, err := pgx.Connect(ctx, cfg.DB.DSN.Reveal())
		if err != nil {
			d.t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, q); err != nil {
			d.t.Fatalf("exec: %v", err)
		}
		return
	}
	sdb, err := sql.Open("sqlite", "file:"+cfg.DB.SQLitePath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		d.t.Fatal(err)
	}
	defer sdb.Close()
	if _, err := sdb.ExecContext(ctx, q); err != nil {
		d.t.Fatalf("exec: %v", err)
	}
}

// moveCredentials copies the sealed credentials of connection from onto
// connection to, as an attacker with write access to the database could.
func moveCredentials(t *testing.T, d *db, from, to string) {
	t.Helper()
	d.exec(`UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE connection_id = '` + from + `'),
		credentials_key = (SELECT credentials_key FROM connections WHERE connection_id = '` + from + `') WHERE connection_id = '` + to + `'`)
}

func sortStrings(s ...string) []string {
	sort.Strings(s)
	return s
}
