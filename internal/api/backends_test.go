package api_test

import (
	"context"
	"testing"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var postgresAPIBackend = apiBackend{"postgres", func(t *testing.T) store.Store {
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: pgtest.DSN(t)}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}}

func apiBackends() []apiBackend { return []apiBackend{sqliteAPIBackend, postgresAPIBackend} }
