package cli

import (
	"context"
	"fmt"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/version"
)

func loadConfig(o IO) (*config.Config, error) {
	cfg, err := config.Load(config.Options{Env: o.lookup, DotenvPath: o.DotenvPath})
	if err != nil {
		return nil, exitError{ExitError, err}
	}
	return cfg, nil
}

func runServe(ctx context.Context, o IO, args []string) error {
	fs := newFlags("serve")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	// One line is logged per request: buffer them (flushed every 100 ms
	// and when the server stops) rather than pay a write per line.
	lw := server.NewLogWriter(o.Stderr)
	defer lw.Close()
	log := newLogger(lw, cfg.LogLevel, cfg.LogFormat)
	v, commit := version.Info()
	log.Info("starting nango-go", "version", v, "commit", commit, "database", cfg.DB.Driver)
	if cfg.SecretKey.IsZero() {
		log.Warn("NANGO_SECRET_KEY is not set: the API (/config, /connection, /proxy) is OPEN to anyone who can reach this port. Set NANGO_SECRET_KEY before exposing the server.")
	}
	srv, err := server.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := srv.Listen()
	if err != nil {
		return err
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped")
	return nil
}

func runMigrate(ctx context.Context, o IO, args []string) error {
	fs := newFlags("migrate")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	log := newLogger(o.Stderr, cfg.LogLevel, cfg.LogFormat)
	st, err := server.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	applied, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "database schema at version %d (latest %d)\n", applied, latest)
	return nil
}

func runVersion(_ context.Context, o IO, args []string) error {
	fs := newFlags("version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	v, commit := version.Info()
	fmt.Fprintf(o.Stdout, "nango %s (commit %s)\n", v, commit)
	return nil
}

func runConfig(_ context.Context, o IO, args []string) error {
	fs := newFlags("config")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "dump" {
		return usagef("expected 'dump'")
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	return cfg.Dump(o.Stdout, o.lookup)
}
