package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults of Config.ConnectTimeout and Config.StatementTimeout.
const (
	// DefaultConnectTimeout bounds opening one connection (TCP, TLS,
	// startup) when the DSN sets no connect_timeout.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultStatementTimeout bounds one statement, from sending it to
	// reading its last row, when the caller's context has no earlier
	// deadline.
	DefaultStatementTimeout = 10 * time.Second
)

// statementBound is a pgx query tracer that gives every statement a
// deadline, so that a database that stops answering (a network that drops
// packets, a host gone without a reset) fails the request after a bound —
// as ErrUnavailable, hence 503 — instead of holding it until TCP gives up
// minutes later. A statement whose deadline passes closes its connection;
// the pool opens a new one.
type statementBound struct{ d time.Duration }

type cancelKey struct{}
type unboundedKey struct{}

// withoutBound marks ctx for statements that may legitimately run long
// (migrations: index builds, waiting for another instance's migration
// lock).
func withoutBound(ctx context.Context) context.Context {
	return context.WithValue(ctx, unboundedKey{}, true)
}

// TraceQueryStart implements pgx.QueryTracer.
func (b statementBound) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if b.d <= 0 || ctx.Value(unboundedKey{}) != nil {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, b.d)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

// TraceQueryEnd implements pgx.QueryTracer: the statement is done (for a
// query, its rows are closed), so its deadline is released.
func (statementBound) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}
