package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by this package.
const (
	// EnvURL names the database tests may use.
	EnvURL = "NANGO_TEST_POSTGRES_URL"
	// EnvRequired, when "1" or "true", turns a missing EnvURL into a test
	// failure instead of a skip.
	EnvRequired = "NANGO_TEST_POSTGRES_REQUIRED"
)

// ExampleURL is the value the skip message suggests.
const ExampleURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var skipped atomic.Bool

// Required reports whether PostgreSQL tests must run (EnvRequired is set).
func Required() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvRequired)))
	return v == "1" || v == "true" || v == "yes"
}

// SkipMessage is what a skipped test reports.
func SkipMessage() string {
	return "PostgreSQL tests skipped: " + EnvURL + " is not set. To run them, start PostgreSQL and set " +
		EnvURL + "='" + ExampleURL + "'"
}

// DSN returns a DSN for a fresh schema created for t on the database named
// by NANGO_TEST_POSTGRES_URL; the schema and everything in it is dropped
// when t ends. The DSN selects the schema through search_path, so drivers
// and servers given it work inside it. Without the variable it skips t (or
// fails it when NANGO_TEST_POSTGRES_REQUIRED is set); a database that does
// not answer fails t.
func DSN(t testing.TB) string {
	t.Helper()
	base := strings.TrimSpace(os.Getenv(EnvURL))
	if base == "" {
		if Required() {
			t.Fatalf("%s=1 but %s is not set: PostgreSQL tests cannot run", EnvRequired, EnvURL)
		}
		skipped.Store(true)
		t.Skip(SkipMessage())
	}
	schema := schemaName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: cannot connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// Main runs the package's tests (call it from TestMain) and, when any test
// was skipped for want of PostgreSQL, says so once, so that the skip is seen
// even where go test hides the output of passing packages: on the terminal
// when there is one (and -v is off), else on stderr.
func Main(m *testing.M) {
	code := m.Run()
	if skipped.Load() {
		pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
		note := "NOTE (" + pkg + "): " + SkipMessage() + "\n"
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil && !testing.Verbose() {
			_, _ = tty.WriteString(note)
			_ = tty.Close()
		} else {
			_, _ = os.Stderr.WriteString(note)
		}
	}
	os.Exit(code)
}

// schemaName is a unique lower-case identifier starting with the test name.
func schemaName(testName string) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

// withSearchPath adds search_path to a URL or keyword/value DSN.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}
