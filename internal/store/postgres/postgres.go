package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/internal/driverkit"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Config says which database to use and how.
type Config struct {
	// DSN is a PostgreSQL URL or keyword/value string, as libpq accepts it.
	DSN string
	// MinConns and MaxConns bound the pool; 0 keeps pgx's defaults (0 and
	// max(4, CPUs)).
	MinConns, MaxConns int32
	// Schema holds the tables; it is created by Migrate when missing and set
	// as search_path on every connection. Empty means the DSN's search_path
	// when it names one, else "public".
	Schema string
	// ConnectTimeout bounds opening a connection when the DSN sets no
	// connect_timeout; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// StatementTimeout bounds each statement (migrations excepted); 0 means
	// DefaultStatementTimeout, negative means no bound.
	StatementTimeout time.Duration
}

// Store is the PostgreSQL implementation of store.Store. Open returns it;
// it is safe for concurrent use by many goroutines and many processes.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	channel string // LISTEN/NOTIFY channel of this schema
	sealer  store.Sealer
	log     *slog.Logger
	nowFn   func() time.Time
	broker  driverkit.Broker
	// countCap bounds the counts of listings (store.Options.CountCap).
	countCap int

	migrations []driverkit.Migration

	listenMu   sync.Mutex
	listening  bool
	listenStop context.CancelFunc
	listenDone chan struct{}
	listenPID  atomic.Uint32 // backend pid of the listener connection (tests)
	// listenDial, when set (tests), replaces connectListener.
	listenDial atomic.Pointer[func(context.Context) (*pgx.Conn, error)]

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database and checks that it answers. It does not
// migrate: call Migrate. A database that cannot be reached gives an error
// wrapping store.ErrUnavailable.
func Open(ctx context.Context, cfg Config, opts store.Options) (*Store, error) {
	return openWith(ctx, cfg, opts, migrationFiles, "migrations")
}

func openWith(ctx context.Context, cfg Config, opts store.Options, mfs fs.FS, mdir string) (*Store, error) {
	migs, err := driverkit.LoadMigrations(mfs, mdir)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's message masks the password.
		return nil, fmt.Errorf("postgres: invalid database URL: %w", err)
	}
	schema := cfg.Schema
	if schema == "" {
		schema = firstSearchPath(pcfg.ConnConfig.RuntimeParams["search_path"])
	}
	if schema == "" {
		schema = "public"
	}
	pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	if cfg.MinConns > 0 {
		pcfg.MinConns = cfg.MinConns
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
		if pcfg.ConnConfig.ConnectTimeout <= 0 {
			pcfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		}
	}
	if pcfg.ConnConfig.Tracer == nil {
		d := cfg.StatementTimeout
		if d == 0 {
			d = DefaultStatementTimeout
		}
		pcfg.ConnConfig.Tracer = statementBound{d: d}
	}
	if pcfg.MinConns > pcfg.MaxConns {
		return nil, fmt.Errorf("postgres: pool minimum %d is above its maximum %d", pcfg.MinConns, pcfg.MaxConns)
	}
	s := &Store{
		schema:     schema,
		channel:    channelName(schema),
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
	s.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", dbErr(err))
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: connecting to the database: %w", dbErr(err))
	}
	return s, nil
}

// firstSearchPath returns the first schema of a search_path value, unquoted.
func firstSearchPath(v string) string {
	first, _, _ := strings.Cut(v, ",")
	first = strings.TrimSpace(first)
	if len(first) >= 2 && first[0] == '"' && first[len(first)-1] == '"' {
		return strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	}
	if first == "$user" {
		return ""
	}
	return first
}

// channelName is the NOTIFY channel of a schema: readable when it fits in
// an identifier (63 bytes), hashed otherwise.
func channelName(schema string) string {
	c := "nango_events_" + schema
	if len(c) <= 63 {
		return c
	}
	h := sha256.Sum256([]byte(schema))
	return "nango_events_" + hex.EncodeToString(h[:16])
}

// Schema returns the schema holding the tables.
func (s *Store) Schema() string { return s.schema }

func (s *Store) now() time.Time { return s.nowFn().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return dbErr(s.pool.Ping(ctx)) }

// PoolStats reports the pgx pool (store.PoolStatser).
func (s *Store) PoolStats() []store.PoolStats {
	st := s.pool.Stat()
	return []store.PoolStats{{
		Name: "main", Open: int64(st.TotalConns()), InUse: int64(st.AcquiredConns()), Idle: int64(st.IdleConns()),
		Max: int64(st.MaxConns()), WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime(),
	}}
}

// Close stops the listener, ends every subscription and closes the pool. It
// is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.listenMu.Lock()
		stop, done := s.listenStop, s.listenDone
		s.listenMu.Unlock()
		if stop != nil {
			stop()
			<-done
		}
		s.broker.Close()
		s.pool.Close()
	})
	return nil
}

// inTx runs fn in a transaction and commits unless fn fails; fn's error is
// returned as is.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return dbErr(tx.Commit(ctx))
}

// Unavailable SQLSTATEs: connection exceptions (class 08) are matched by
// prefix.
var unavailableCodes = map[string]bool{
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"53300": true, // too_many_connections
	"53100": true, // disk_full
	"53200": true, // out_of_memory
	"25006": true, // read_only_sql_transaction (a standby)
}

// Invalid-value SQLSTATEs: data the caller gave that PostgreSQL cannot
// hold (a NUL character in text, "\u0000" in jsonb).
var invalidValueCodes = map[string]bool{
	"22021": true, // character_not_in_repertoire (NUL in text)
	"22P05": true, // untranslatable_character (\u0000 in jsonb)
}

// dbErr maps pgx errors to the store's sentinels.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case strings.HasPrefix(pe.Code, "08") || unavailableCodes[pe.Code]:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		case invalidValueCodes[pe.Code]:
			return fmt.Errorf("%w: %w", store.ErrInvalidValue, err)
		}
		return fmt.Errorf("postgres: %w", err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		err.Error() == "closed pool" || strings.Contains(err.Error(), "conn closed") {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
