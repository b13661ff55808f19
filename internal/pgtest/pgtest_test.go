package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestSchemaName(t *testing.T) {
	a, b := schemaName("TestX/sub test#1"), schemaName("TestX/sub test#1")
	if a == b {
		t.Fatalf("schema names repeat: %q", a)
	}
	if !strings.HasPrefix(a, "t_testx_sub_test_1_") || len(a) > 63 {
		t.Errorf("schema name %q", a)
	}
	long := schemaName(strings.Repeat("x", 200))
	if len(long) > 63 {
		t.Errorf("schema name too long: %d", len(long))
	}
}

func TestWithSearchPath(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"url", "postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"keyword", "host=h dbname=db", "host=h dbname=db search_path=s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withSearchPath(tt.dsn, "s1"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDSNGivesAPrivateSchema(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		dsn := DSN(t)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "t_") {
			t.Fatalf("current_schema = %q, want the test schema", schema)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE probe (x int)"); err != nil {
			t.Fatal(err)
		}
	})
	if schema == "" {
		return // skipped
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv(EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after the test", schema)
	}
}
