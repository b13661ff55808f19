package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT`

// Migrate applies the pending migrations, each in its own write transaction
// that first re-checks that the version is still pending, so processes that
// migrate the same file at once serialise and apply each exactly once. A
// database migrated by a newer server (a version this one does not know) is
// refused.
func (s *Store) Migrate(ctx context.Context) error {
	ctx = withoutBound(ctx)
	if _, err := s.w.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("sqlite: creating schema_migrations: %w", dbErr(err))
	}
	applied, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if applied > latest {
		return fmt.Errorf("sqlite: the database schema is at version %d but this server knows only %d: run a newer server", applied, latest)
	}
	for _, m := range s.migrations {
		if m.Version <= applied {
			continue
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
				return dbErr(err)
			}
			if n > 0 {
				return nil // another process applied it meanwhile
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return dbErr(err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, micros(s.now()))
			return dbErr(err)
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		s.log.Info("applied database migration", "migration", m.Name)
	}
	return nil
}

// SchemaVersion reports the highest applied migration (0 on an empty
// database) and the latest this server knows.
func (s *Store) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	latest = len(s.migrations)
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&n); err != nil {
		return 0, latest, dbErr(err)
	}
	if n == 0 {
		return 0, latest, nil
	}
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, latest, dbErr(err)
	}
	return int(v.Int64), latest, nil
}
