package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
	"github.com/nango-go/nango/internal/store/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, factory{}) }

func BenchmarkListConnections100k(b *testing.B) { storetest.BenchmarkListConnections(b, factory{}) }

func BenchmarkGetConnection(b *testing.B) { storetest.BenchmarkGetConnection(b, factory{}) }

type factory struct{}

func (factory) NewDatabase(t testing.TB) storetest.Database {
	return database{path: filepath.Join(t.TempDir(), "data", "nango.db")}
}

type database struct{ path string }

func (d database) Open(t testing.TB, opts store.Options) store.Store {
	s, err := sqlite.Open(context.Background(), d.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (database) Instances() bool { return false }

func (d database) raw(t testing.TB) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+d.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func (d database) Exec(t testing.TB, q string) {
	if _, err := d.raw(t).Exec(q); err != nil {
		t.Fatalf("Exec: %v", err)
	}
}

func (d database) Dump(t testing.TB) map[string][]storetest.Row {
	db := d.raw(t)
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string][]storetest.Row{}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			r := storetest.Row{}
			for i, v := range vals {
				switch v := v.(type) {
				case nil:
				case []byte:
					r[cols[i]] = string(v)
				default:
					r[cols[i]] = fmt.Sprint(v)
				}
			}
			out[table] = append(out[table], r)
		}
		rows.Close()
	}
	return out
}
