package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
	"github.com/nango-go/nango/internal/store/sqlite"
)

// OpenStore opens the database cfg names (embedded SQLite by default,
// PostgreSQL when configured). It does not migrate.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	sealer, err := sealerFor(cfg)
	if err != nil {
		return nil, err
	}
	opts := store.Options{Logger: log, Sealer: sealer}
	switch cfg.DB.Driver {
	case "postgres":
		st, err := postgres.Open(ctx, postgres.Config{
			DSN:      cfg.DB.DSN.Reveal(),
			MinConns: int32(cfg.DB.PoolMin),
			MaxConns: int32(cfg.DB.PoolMax),
			Schema:   cfg.DB.Schema,
		}, opts)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL %s: %w", cfg.DB.RedactedDSN(), err)
		}
		return st, nil
	default:
		st, err := sqlite.Open(ctx, cfg.DB.SQLitePath, opts)
		if err != nil {
			return nil, fmt.Errorf("opening SQLite database %s: %w", cfg.DB.SQLitePath, err)
		}
		return st, nil
	}
}
