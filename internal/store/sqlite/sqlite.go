package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/internal/driverkit"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// BusyTimeout is how long a write waits for another process holding the
// database file's write lock before failing with store.ErrUnavailable —
// the whole write, queueing for the writer connection included (writeCtx).
const BusyTimeout = 10 * time.Second

// Store is the SQLite implementation of store.Store. Open returns it; it is
// safe for concurrent use.
type Store struct {
	path   string
	w      *sql.DB // writer: exactly one connection, BEGIN IMMEDIATE
	r      *sql.DB // readers: query_only connections
	sealer store.Sealer
	log    *slog.Logger
	nowFn  func() time.Time
	broker driverkit.Broker
	// countCap bounds the counts of listings (store.Options.CountCap).
	countCap int

	migrations []driverkit.Migration

	rstmts stmtCache // prepared statements on the reader pool
	wstmts stmtCache // prepared statements on the writer

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it (mode 0600, parent
// directory 0700) when missing. It does not migrate: call Migrate.
func Open(ctx context.Context, path string, opts store.Options) (*Store, error) {
	return openWith(ctx, path, opts, migrationFiles, "migrations")
}

func openWith(ctx context.Context, path string, opts store.Options, mfs fs.FS, mdir string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: database path is empty")
	}
	migs, err := driverkit.LoadMigrations(mfs, mdir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: database path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: creating the database directory: %w", err)
	}
	// Create the file ourselves so that it (and the -wal/-shm files SQLite
	// gives the same mode) is private to its owner.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: opening the database file: %w", err)
	} else {
		_ = f.Close()
	}

	s := &Store{
		path:       abs,
		sealer:     opts.Sealer,
		log:        opts.Logger,
		nowFn:      opts.Now,
		countCap:   store.CountCapOf(opts),
		migrations: migs,
	}
	if s.sealer == nil {
		s.sealer = store.Plaintext{}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}

	base := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()),
			"foreign_keys(1)",
			"synchronous(FULL)",
			"temp_store(MEMORY)",
		},
	}.Encode()

	s.w, err = sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.w.SetConnMaxLifetime(0)

	// The writer's first connection switches the file to WAL before any
	// reader opens it.
	if err := s.w.PingContext(ctx); err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", abs, dbErr(err))
	}

	s.r, err = sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := max(4, runtime.NumCPU())
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	s.r.SetConnMaxIdleTime(0)
	s.r.SetConnMaxLifetime(0)
	s.rstmts.db, s.wstmts.db = s.r, s.w
	return s, nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// now is the store clock, in UTC, at the microsecond precision stored.
func (s *Store) now() time.Time { return s.nowFn().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return dbErr(err)
	}
	var one int
	return dbErr(s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// PoolStats reports the reader and writer pools (store.PoolStatser).
func (s *Store) PoolStats() []store.PoolStats {
	conv := func(name string, st sql.DBStats) store.PoolStats {
		return store.PoolStats{Name: name, Open: int64(st.OpenConnections), InUse: int64(st.InUse), Idle: int64(st.Idle),
			Max: int64(st.MaxOpenConnections), WaitCount: st.WaitCount, WaitDuration: st.WaitDuration}
	}
	return []store.PoolStats{conv("writer", s.w.Stats()), conv("reader", s.r.Stats())}
}

// Close closes both pools and ends every subscription. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.broker.Close()
		s.rstmts.close()
		s.wstmts.close()
		err1 := s.r.Close()
		// A last checkpoint folds the WAL into the database file, so the
		// file alone is a complete backup after a clean shutdown.
		_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		err2 := s.w.Close()
		s.closeErr = errors.Join(err1, err2)
	})
	return s.closeErr
}

// Publish delivers ev to this process's subscribers.
func (s *Store) Publish(_ context.Context, ev store.Event) error {
	s.broker.Publish(ev)
	return nil
}

// Subscribe returns this process's events.
func (s *Store) Subscribe() (<-chan store.Event, func()) { return s.broker.Subscribe() }

type unboundedKey struct{}

// withoutBound marks ctx for writes that may legitimately take long
// (migrations).
func withoutBound(ctx context.Context) context.Context {
	return context.WithValue(ctx, unboundedKey{}, true)
}

// writeCtx bounds one write — waiting for the single writer connection
// plus waiting for another process's lock on the file — by BusyTimeout in
// total: with the file locked elsewhere, writes queued behind each other
// must each fail after about BusyTimeout, not after BusyTimeout times
// their place in the queue. Past the bound the write fails with
// ErrUnavailable (SQLite interrupts a running statement, which rolls back).
func (s *Store) writeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Value(unboundedKey{}) != nil {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, BusyTimeout)
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE on the single writer
// connection) and commits unless fn fails. fn's error is returned as is.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return dbErr(tx.Commit())
}

// stmtCache prepares each query once per pool.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.m[q]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, dbErr(err)
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = nil
}

// dbErr maps SQLite errors to the store's sentinels.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_INTERRUPT,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	if errors.Is(err, sql.ErrConnDone) || err.Error() == "sql: database is closed" {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// A write's bound passed (writeCtx): the file is locked, or too
		// many writes are queued for the one writer connection.
		return fmt.Errorf("%w: the database is locked or overloaded: %w", store.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %w", err)
}

// Timestamps are stored as microseconds since the Unix epoch.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func ptrMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// truncPtr truncates a caller's time to what the database keeps.
func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}
