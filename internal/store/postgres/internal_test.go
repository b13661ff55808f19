package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testMigrations(t *testing.T, upTo int) fstest.MapFS {
	t.Helper()
	init, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"m/0001_init.sql": {Data: init}}
	if upTo >= 2 {
		fsys["m/0002_scopes_commas.sql"] = &fstest.MapFile{Data: []byte(`
			ALTER TABLE integrations ADD COLUMN note text NOT NULL DEFAULT '';
			UPDATE integrations SET scopes = replace(scopes, ' ', ','), note = 'migrated';`)}
	}
	if upTo >= 3 {
		fsys["m/0003_broken.sql"] = &fstest.MapFile{Data: []byte(`
			UPDATE integrations SET scopes = 'half-done';
			THIS IS NOT SQL;`)}
	}
	return fsys
}

func openTest(t *testing.T, dsn string, opts store.Options, upTo int) *Store {
	t.Helper()
	s, err := openWith(context.Background(), Config{DSN: dsn}, opts, testMigrations(t, upTo), "m")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestUpgrade seeds data at version 1, then several instances migrate to
// version 2 at once; the data reads back through the store.
func TestUpgrade(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	k, _ := secret.GenerateKey()
	kr, _ := secret.NewKeyring(k)
	opts := store.Options{Sealer: kr}

	v1 := openTest(t, dsn, opts, 1)
	if err := v1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	in := store.Integration{Key: "gh", Provider: "github", ClientID: "id", ClientSecret: "shh", Scopes: "repo user"}
	if err := v1.CreateIntegration(ctx, &in); err != nil {
		t.Fatal(err)
	}
	conn := store.Connection{ProviderConfigKey: "gh", ConnectionID: "u1", Credentials: store.Credentials{Type: store.APIKey, APIKey: "key-1"}}
	if _, err := v1.UpsertConnection(ctx, &conn); err != nil {
		t.Fatal(err)
	}

	var v2s []*Store
	for range 4 {
		v2s = append(v2s, openTest(t, dsn, opts, 2))
	}
	if a, l, _ := v2s[0].SchemaVersion(ctx); a != 1 || l != 2 {
		t.Fatalf("before migrating: applied %d latest %d, want 1 and 2", a, l)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(v2s))
	for i, s := range v2s {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Migrate(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v2 := v2s[0]
	if a, _, _ := v2.SchemaVersion(ctx); a != 2 {
		t.Fatalf("after migrating: applied %d, want 2", a)
	}
	var rows int
	if err := v2.pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("schema_migrations has %d rows, %v; want 2 (each migration once)", rows, err)
	}
	got, err := v2.GetIntegration(ctx, "gh")
	if err != nil {
		t.Fatal(err)
	}
	if got.Scopes != "repo,user" || got.ClientSecret.Reveal() != "shh" || got.ID != in.ID {
		t.Errorf("after migration: %+v", got)
	}
	if c, err := v2.GetConnection(ctx, "gh", "u1"); err != nil || c.Credentials.APIKey.Reveal() != "key-1" {
		t.Fatalf("connection after migration: %+v, %v", c, err)
	}

	v3 := openTest(t, dsn, opts, 3)
	if err := v3.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "0003_broken.sql") {
		t.Fatalf("broken migration: err = %v, want one naming the file", err)
	}
	if a, _, _ := v3.SchemaVersion(ctx); a != 2 {
		t.Errorf("after a failed migration: applied %d, want 2", a)
	}
	if got, _ := v3.GetIntegration(ctx, "gh"); got.Scopes != "repo,user" {
		t.Errorf("failed migration left scopes %q", got.Scopes)
	}
	// The advisory lock was released: another migrator does not hang.
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := v2s[1].Migrate(ctx2); err != nil {
		t.Errorf("Migrate after a failed one: %v", err)
	}
	if err := v1.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("older server migrating a newer database: err = %v", err)
	}
}

func TestSchemaSelection(t *testing.T) {
	dsn := pgtest.DSN(t) // its search_path names a fresh schema
	ctx := context.Background()
	fromDSN, err := Open(ctx, Config{DSN: dsn}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fromDSN.Close()
	if !strings.HasPrefix(fromDSN.Schema(), "t_") {
		t.Errorf("schema from the DSN = %q", fromDSN.Schema())
	}
	explicit, err := Open(ctx, Config{DSN: dsn, Schema: "Nango Data", MinConns: 1, MaxConns: 3}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer explicit.Close()
	t.Cleanup(func() {
		// On a connection of its own: the store is closed by then.
		admin, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("dropping the test schema: %v", err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(context.Background(), `DROP SCHEMA IF EXISTS "Nango Data" CASCADE`); err != nil {
			t.Errorf("dropping the test schema: %v", err)
		}
	})
	if err := explicit.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var where string
	if err := explicit.pool.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'connections' AND table_schema = current_schema()").Scan(&where); err != nil || where != "Nango Data" {
		t.Errorf("tables created in %q, %v; want the configured schema", where, err)
	}
	if explicit.pool.Config().MaxConns != 3 || explicit.pool.Config().MinConns != 1 {
		t.Errorf("pool bounds %d..%d, want 1..3", explicit.pool.Config().MinConns, explicit.pool.Config().MaxConns)
	}
	if _, err := Open(ctx, Config{DSN: dsn, MinConns: 5, MaxConns: 2}, store.Options{}); err == nil {
		t.Error("Open accepted MinConns > MaxConns")
	}
	// Two schemas do not share events.
	other := openTest(t, dsn, store.Options{}, 1)
	if err := other.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ch, cancel := explicit.Subscribe()
	defer cancel()
	if err := other.Publish(ctx, store.Event{Topic: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := explicit.Publish(ctx, store.Event{Topic: "mine"}); err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Topic != "mine" {
		t.Errorf("got event %+v from another schema", ev)
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""}, {"abc", "abc"}, {`"My Schema", public`, "My Schema"}, {`"a""b"`, `a"b`}, {"$user, public", ""},
	}
	for _, tt := range tests {
		if got := firstSearchPath(tt.in); got != tt.want {
			t.Errorf("firstSearchPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if c := channelName(strings.Repeat("s", 100)); len(c) > 63 || c == channelName(strings.Repeat("s", 99)) {
		t.Errorf("channelName of a long schema = %q", c)
	}
	ev := store.Event{Topic: store.TopicConnection, Payload: store.ConnectionEventPayload("a", "b")}
	if got, err := decodeEvent(`{"t":"connection","k":"a","c":"b"}`); err != nil || got != ev {
		t.Errorf("decodeEvent = %+v, %v", got, err)
	}
	if got, err := decodeEvent(encodeEvent(store.Event{Topic: "t", Payload: "p\x00q"})); err != nil || got.Payload != "p\x00q" {
		t.Errorf("round trip = %+v, %v", got, err)
	}
}

// TestListenerReconnects: when the listener's connection dies, subscribers
// receive TopicReset at once (while it is down, events are lost), then
// again once the listener is back on a new backend, and events flow again.
// The reconnection is held back until the test lets it go, so the first
// reset can only come from the drop.
func TestListenerReconnects(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	s := openTest(t, dsn, store.Options{}, 1)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ch, cancel := s.Subscribe()
	defer cancel()
	pid := s.listenPID.Load()
	release := make(chan struct{})
	var dials atomic.Int32
	dial := func(ctx context.Context) (*pgx.Conn, error) {
		dials.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return s.connectListener(ctx)
	}
	s.listenDial.Store(&dial)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var ok bool
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating the listener: %v %v", ok, err)
	}
	next := func(what string) store.Event {
		t.Helper()
		select {
		case ev := <-ch:
			return ev
		case <-time.After(15 * time.Second):
			t.Fatalf("no event %s", what)
		}
		return store.Event{}
	}
	if ev := next("after the listener dropped"); ev.Topic != store.TopicReset {
		t.Fatalf("first event after the listener dropped = %+v, want reset", ev)
	}
	if s.listenPID.Load() != pid {
		t.Fatal("the listener reconnected before the test let it: the reset proves nothing")
	}
	// Written while the listener is down: lost, as the reset said.
	if err := s.Publish(ctx, store.Event{Topic: "while-down"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if ev := next("after the listener reconnected"); ev.Topic != store.TopicReset {
		t.Fatalf("event after the reconnection = %+v, want reset", ev)
	}
	if s.listenPID.Load() == pid || dials.Load() == 0 {
		t.Error("listener did not reconnect on a new backend")
	}
	if err := s.Publish(ctx, store.Event{Topic: "after"}); err != nil {
		t.Fatal(err)
	}
	if ev := next("after reconnect"); ev.Topic != "after" {
		t.Fatalf("event after reconnect = %+v", ev)
	}
}

func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{DSN: "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}, store.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open on a closed port: %v, want ErrUnavailable", err)
	}
	_, err = Open(ctx, Config{DSN: "postgres://user:hunter2@host:notaport/db"}, store.Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad DSN: %v (must fail without echoing the password)", err)
	}

	dsn := pgtest.DSN(t)
	s := openTest(t, dsn, store.Options{}, 1)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, store.Event{Topic: "big", Payload: strings.Repeat("x", MaxPayload)}); err == nil {
		t.Error("Publish accepted an oversized payload")
	}
	_ = s.Close()
	if _, err := s.GetConnection(ctx, "a", "b"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetConnection on a closed store: %v, want ErrUnavailable", err)
	}
}

// TestConnectionSearchIndex: where pg_trgm is available, migration 0002
// installs it and indexes connection ids by trigrams, and a selective
// search reads that index instead of scanning every connection.
func TestConnectionSearchIndex(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	s, err := Open(ctx, Config{DSN: dsn}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var available bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')`).Scan(&available); err != nil {
		t.Fatal(err)
	}
	if !available {
		t.Skip("pg_trgm is not available on this PostgreSQL server")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var indexed bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('connections_search') IS NOT NULL`).Scan(&indexed); err != nil || !indexed {
		t.Fatalf("no connections_search index (%v)", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO connections (provider_config_key, connection_id, auth_mode, created_at, updated_at, credentials)
		SELECT 'k', 'conn-' || lpad(i::text, 6, '0'), 'API_KEY', now(), now(), '{}' FROM generate_series(1, 20000) i;
		ANALYZE connections`); err != nil {
		t.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, `EXPLAIN SELECT id FROM connections WHERE connection_id_lower LIKE '%conn-012345%' ORDER BY id DESC LIMIT 51`)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "connections_search") {
		t.Errorf("a selective search does not use the trigram index:\n%s", plan.String())
	}
	page, err := s.ListConnections(ctx, store.ConnectionFilter{Search: "CONN-01234", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 10 || len(page.Connections) != 5 || page.Connections[0].ConnectionID != "conn-012349" {
		t.Errorf("search: total %d, %d rows, first %+v; want 10, 5, conn-012349", page.Total, len(page.Connections), page.Connections)
	}
}
