package tokens_test

import (
	"context"
	"testing"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// postgresBackend gives each test a fresh schema (pgtest.DSN); every store
// opened on it is a separate instance sharing leases and LISTEN/NOTIFY
// events. It skips when NANGO_TEST_POSTGRES_URL is unset.
var postgresBackend = backend{name: "postgres", newDB: func(t *testing.T) func(t *testing.T) store.Store {
	dsn := pgtest.DSN(t)
	return func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn}, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
}}

func backends() []backend { return []backend{sqliteBackend, postgresBackend} }
