package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
)

// TestStatementsAreBounded checks a statement that does not answer within
// StatementTimeout fails as ErrUnavailable at about that time (the
// connection is dropped and the pool serves the next statement), while
// migrations are exempt. Regression: with the database unreachable but the
// connection open, a request waited until TCP gave up, minutes later.
func TestStatementsAreBounded(t *testing.T) {
	s, err := Open(context.Background(), Config{DSN: pgtest.DSN(t), StatementTimeout: 300 * time.Millisecond}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	start := time.Now()
	_, err = s.pool.Exec(ctx, "SELECT pg_sleep(5)")
	if took := time.Since(start); !errors.Is(dbErr(err), store.ErrUnavailable) || took > 3*time.Second {
		t.Fatalf("a 5 s statement: %v after %v, want ErrUnavailable after about 300 ms", err, took)
	}
	// Rows are read under the same bound.
	rows, err := s.pool.Query(ctx, "SELECT pg_sleep(0.1) FROM generate_series(1, 50)")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if !errors.Is(dbErr(err), store.ErrUnavailable) {
		t.Fatalf("a slow result set: %v, want ErrUnavailable", err)
	}
	// The pool recovers at once.
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after the timeouts: %v", err)
	}
	// Statements that finish in time are untouched, over and over (the
	// tracer releases every deadline).
	for i := 0; i < 200; i++ {
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT $1::int", i).Scan(&n); err != nil || n != i {
			t.Fatalf("quick statement %d: %d, %v", i, n, err)
		}
	}
	// Migrations may run long.
	if _, err := s.pool.Exec(withoutBound(ctx), "SELECT pg_sleep(0.5)"); err != nil {
		t.Fatalf("an unbounded statement: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}
