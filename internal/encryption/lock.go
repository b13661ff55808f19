package encryption

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/store"
)

// Locker serialises the key check and the key-record updates of every
// process sharing one database (server instances and `nango keys`
// commands), so that two of them can never both read the record, both
// decide, and overwrite each other's update.
type Locker interface {
	// Lock blocks until the lock is held or ctx ends. The returned unlock
	// releases it; it must be called exactly once.
	Lock(ctx context.Context) (unlock func(), err error)
}

// LockerFor returns the Locker for cfg's database: a PostgreSQL advisory
// lock for PostgreSQL; for SQLite a FileLock on "<database>.keylock" where
// flock(2) exists (Unix), else nil.
func LockerFor(cfg *config.Config) Locker {
	if cfg.DB.Driver == "postgres" {
		schema := cfg.DB.Schema
		if schema == "" { // the store uses the DSN's search_path, else public
			if pc, err := pgx.ParseConfig(cfg.DB.DSN.Reveal()); err == nil {
				schema = pc.RuntimeParams["search_path"]
			}
		}
		return &PostgresLock{DSN: cfg.DB.DSN.Reveal(), Schema: schema}
	}
	if cfg.DB.SQLitePath == "" {
		return nil
	}
	return sqliteLocker(cfg.DB.SQLitePath)
}

// PostgresLock is a session-level PostgreSQL advisory lock taken on a
// dedicated connection, named after the schema so that deployments sharing
// a database in different schemas do not wait for each other. The lock is
// released when unlock runs or, if the process dies, when its connection
// drops.
type PostgresLock struct {
	DSN    string // as for the store; never logged
	Schema string
}

// lockID derives the advisory lock key.
func (l *PostgresLock) lockID() int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("nango-go encryption keys\x00" + l.Schema))
	return int64(h.Sum64())
}

// Lock takes the advisory lock.
func (l *PostgresLock) Lock(ctx context.Context) (func(), error) {
	conn, err := pgx.Connect(ctx, l.DSN)
	if err != nil {
		// pgx masks the password in its errors.
		return nil, fmt.Errorf("taking the encryption lock: %w: %v", store.ErrUnavailable, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", l.lockID()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("taking the encryption lock: %w: %v", store.ErrUnavailable, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.lockID())
		_ = conn.Close(ctx)
	}, nil
}
