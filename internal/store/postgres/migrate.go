package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// lockKey is the advisory lock key serialising migrations of one schema.
func (s *Store) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("nango-go migrate " + s.schema))
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

// Migrate creates the schema if missing and applies the pending migrations,
// each in its own transaction, while holding a session advisory lock: when
// several instances start at once, one migrates and the others wait, then
// find nothing to do. A database migrated by a newer server is refused.
func (s *Store) Migrate(ctx context.Context) error {
	ctx = withoutBound(ctx) // index builds and the migration lock may take long
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", dbErr(err))
	}
	defer conn.Release()
	key := s.lockKey()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("postgres: migrate: taking the migration lock: %w", dbErr(err))
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); err != nil {
			// The lock dies with the session: drop the connection.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: creating schema %s: %w", s.schema, dbErr(err))
	}
	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("postgres: creating schema_migrations: %w", dbErr(err))
	}
	var applied int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
		return fmt.Errorf("postgres: migrate: %w", dbErr(err))
	}
	if applied > len(s.migrations) {
		return fmt.Errorf("postgres: the database schema is at version %d but this server knows only %d: run a newer server", applied, len(s.migrations))
	}
	for _, m := range s.migrations[applied:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, dbErr(err))
		}
		s.log.Info("applied database migration", "migration", m.Name, "schema", s.schema)
	}
	return nil
}

// SchemaVersion reports the highest applied migration (0 on an empty
// schema) and the latest this server knows.
func (s *Store) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	latest = len(s.migrations)
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, latest, dbErr(err)
	}
	if !exists {
		return 0, latest, nil
	}
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
		return 0, latest, dbErr(err)
	}
	return applied, latest, nil
}
