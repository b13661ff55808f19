package httpx

import (
	"context"
	"log/slog"
	"sync/atomic"
)

type ctxKey int

const (
	keyLogger ctxKey = iota
	keyRequestID
	keyScope
)

// Scope is one request's id and logger, set once by the middleware
// (WithRequest, WithScope). The request-scoped logger
// (base.With("request_id", id)) is built on first use only: most requests
// never log but their summary line. A middleware that keeps more state per
// request embeds a Scope in its own struct (one allocation for both) and
// finds that struct again with ScopeOwner.
type Scope struct {
	base  *slog.Logger
	id    string
	owner any
	log   atomic.Pointer[slog.Logger]
}

// Init sets the scope's base logger, request id and owner (what ScopeOwner
// returns; usually the struct embedding the Scope). Call it before
// WithScope, once.
func (s *Scope) Init(base *slog.Logger, id string, owner any) {
	s.base, s.id, s.owner = base, id, owner
}

// WithScope returns ctx carrying s: the request id and the logger
// (RequestID, Logger) and s's owner (ScopeOwner).
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, keyScope, s)
}

// ScopeOwner returns the owner given to the Scope ctx carries, or nil.
func ScopeOwner(ctx context.Context) any {
	if s, ok := ctx.Value(keyScope).(*Scope); ok {
		return s.owner
	}
	return nil
}

// WithRequest returns ctx carrying the request id and a logger that adds
// "request_id" to base's lines: what WithLogger(WithRequestID(ctx, id),
// base.With("request_id", id)) gives, in one context value and without
// building the logger until a handler asks for it.
func WithRequest(ctx context.Context, base *slog.Logger, id string) context.Context {
	s := &Scope{}
	s.Init(base, id, nil)
	return WithScope(ctx, s)
}

// WithLogger returns ctx carrying a request-scoped logger.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, keyLogger, l)
}

// Logger returns the request-scoped logger, or a logger that discards.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	if s, ok := ctx.Value(keyScope).(*Scope); ok {
		if l := s.log.Load(); l != nil {
			return l
		}
		l := s.base.With("request_id", s.id)
		s.log.Store(l)
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

// RequestID returns the request id, or "".
func RequestID(ctx context.Context) string {
	if s, ok := ctx.Value(keyRequestID).(string); ok {
		return s
	}
	if s, ok := ctx.Value(keyScope).(*Scope); ok {
		return s.id
	}
	return ""
}
