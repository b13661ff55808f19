package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
	"github.com/nango-go/nango/internal/store/storetest"
)

// TestMain (pgtest.Main) is in internal_test.go.

func TestConformance(t *testing.T) { storetest.Run(t, factory{}) }

func BenchmarkListConnections100k(b *testing.B) { storetest.BenchmarkListConnections(b, factory{}) }

func BenchmarkGetConnection(b *testing.B) { storetest.BenchmarkGetConnection(b, factory{}) }

type factory struct{}

func (factory) NewDatabase(t testing.TB) storetest.Database { return database{dsn: pgtest.DSN(t)} }

type database struct{ dsn string }

func (d database) Open(t testing.TB, opts store.Options) store.Store {
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: d.dsn}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (database) Instances() bool { return true }

func (d database) conn(t testing.TB) *pgx.Conn {
	c, err := pgx.Connect(context.Background(), d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (d database) Exec(t testing.TB, q string) {
	if _, err := d.conn(t).Exec(context.Background(), q); err != nil {
		t.Fatalf("Exec: %v", err)
	}
}

// Dump renders every column of every table of the schema with ::text
// (bytea as hex).
func (d database) Dump(t testing.TB) map[string][]storetest.Row {
	ctx := context.Background()
	c := d.conn(t)
	rows, err := c.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string][]string{}
	for rows.Next() {
		var tn, cn string
		if err := rows.Scan(&tn, &cn); err != nil {
			t.Fatal(err)
		}
		cols[tn] = append(cols[tn], cn)
	}
	rows.Close()
	out := map[string][]storetest.Row{}
	for table, cs := range cols {
		exprs := make([]string, len(cs))
		for i, c := range cs {
			exprs[i] = pgx.Identifier{c}.Sanitize() + "::text"
		}
		rows, err := c.Query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+pgx.Identifier{table}.Sanitize())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]*string, len(cs))
			ptrs := make([]any, len(cs))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			r := storetest.Row{}
			for i, v := range vals {
				if v != nil {
					r[cs[i]] = *v
				}
			}
			out[table] = append(out[table], r)
		}
		rows.Close()
	}
	return out
}
