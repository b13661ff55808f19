package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// testMigrations is the real first migration plus a second one that reshapes
// data, as a future migration would.
func testMigrations(t *testing.T, upTo int) fstest.MapFS {
	t.Helper()
	init, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"m/0001_init.sql": {Data: init}}
	if upTo >= 2 {
		fsys["m/0002_scopes_spaces.sql"] = &fstest.MapFile{Data: []byte(`
			ALTER TABLE integrations ADD COLUMN note TEXT NOT NULL DEFAULT '';
			UPDATE integrations SET scopes = replace(scopes, ' ', ','), note = 'migrated';`)}
	}
	if upTo >= 3 {
		fsys["m/0003_broken.sql"] = &fstest.MapFile{Data: []byte(`
			UPDATE integrations SET scopes = 'half-done';
			THIS IS NOT SQL;`)}
	}
	return fsys
}

// TestUpgrade seeds data at version 1, migrates to version 2 and reads it
// back through the store.
func TestUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nango.db")
	k, _ := secret.GenerateKey()
	kr, _ := secret.NewKeyring(k)
	opts := store.Options{Sealer: kr}

	v1, err := openWith(ctx, path, opts, testMigrations(t, 1), "m")
	if err != nil {
		t.Fatal(err)
	}
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
	if err := v1.Close(); err != nil {
		t.Fatal(err)
	}

	v2, err := openWith(ctx, path, opts, testMigrations(t, 2), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if a, l, _ := v2.SchemaVersion(ctx); a != 1 || l != 2 {
		t.Fatalf("before migrating: applied %d latest %d, want 1 and 2", a, l)
	}
	if err := v2.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := v2.SchemaVersion(ctx); a != 2 {
		t.Fatalf("after migrating: applied %d, want 2", a)
	}
	got, err := v2.GetIntegration(ctx, "gh")
	if err != nil {
		t.Fatal(err)
	}
	if got.Scopes != "repo,user" || got.ClientSecret.Reveal() != "shh" || got.ID != in.ID {
		t.Errorf("after migration: %+v secret %q", got, got.ClientSecret.Reveal())
	}
	c, err := v2.GetConnection(ctx, "gh", "u1")
	if err != nil || c.Credentials.APIKey.Reveal() != "key-1" {
		t.Fatalf("connection after migration: %+v, %v", c, err)
	}
	var note string
	if err := v2.r.QueryRow("SELECT note FROM integrations WHERE unique_key = 'gh'").Scan(&note); err != nil || note != "migrated" {
		t.Errorf("note = %q, %v", note, err)
	}

	// A failing migration is rolled back whole and leaves the version.
	v3, err := openWith(ctx, path, opts, testMigrations(t, 3), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer v3.Close()
	err = v3.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "0003_broken.sql") {
		t.Fatalf("broken migration: err = %v, want one naming the file", err)
	}
	if a, _, _ := v3.SchemaVersion(ctx); a != 2 {
		t.Errorf("after a failed migration: applied %d, want 2", a)
	}
	if got, _ := v3.GetIntegration(ctx, "gh"); got.Scopes != "repo,user" {
		t.Errorf("failed migration left scopes %q", got.Scopes)
	}

	// A server that knows fewer migrations than were applied refuses.
	old, err := openWith(ctx, path, opts, testMigrations(t, 1), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("older server migrating a newer database: err = %v", err)
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "nango.db")
	s, err := Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{dir: "drwx------", path: "-rw-------"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().String() != want {
			t.Errorf("%s mode %s, want %s", p, fi.Mode(), want)
		}
	}
	var mode string
	if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk, busy int
	if err := s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if err := s.r.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != int(BusyTimeout.Milliseconds()) {
		t.Errorf("busy_timeout = %d, %v", busy, err)
	}
	// Readers cannot write.
	if _, err := s.r.Exec("INSERT INTO meta (name, value) VALUES ('x', 'y')"); err == nil {
		t.Error("a reader connection wrote")
	}
}

func TestDBErrMapping(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	err = s.SetMeta(ctx, "a", "b")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("write on a closed store: %v, want ErrUnavailable", err)
	}
}
