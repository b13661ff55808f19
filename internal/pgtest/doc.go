// Package pgtest gives tests a private PostgreSQL schema to work in, or
// skips them (loudly) when no test database is configured.
//
// Set NANGO_TEST_POSTGRES_URL to a database URL, e.g.
//
//	NANGO_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// and every call of DSN creates a fresh, uniquely named schema on that
// database, returns a DSN whose search_path selects it, and drops it when the
// test ends. Without the variable, tests that call DSN are skipped; with
// NANGO_TEST_POSTGRES_REQUIRED=1 (CI) they fail instead.
//
// It is a test helper: only _test.go files may import it. It imports pgx and
// the standard library only.
package pgtest
