package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/nango-go/nango/internal/connect"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/tracing"
)

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// deadlines, hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Hijack supports WebSocket upgrades.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijacking not supported")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// requestID returns the caller's X-Request-Id when it is short and plain,
// else a fresh random one.
func requestID(r *http.Request) string {
	if v := r.Header["X-Request-Id"]; len(v) > 0 {
		if id := v[0]; id != "" && len(id) <= 64 && plainID(id) {
			return id
		}
	}
	return newRequestID()
}

// newRequestID returns 16 random URL-safe characters (96 bits). Request ids
// are not secrets, so they come from the runtime's fast per-thread
// generator (ChaCha8, seeded from the system) rather than crypto/rand: one
// is made for every request.
func newRequestID() string {
	var raw [12]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(raw[8:], rand.Uint32())
	var out [16]byte
	base64.RawURLEncoding.Encode(out[:], raw[:])
	return string(out[:])
}

func plainID(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// request is the state the middleware keeps for one request, allocated
// once: the request scope handlers read (id, logger), the status-recording
// writer, and what the observing store learns for metrics and telemetry.
type request struct {
	scope httpx.Scope
	sw    statusWriter
	info  reqInfo
	idHdr [1]string // the X-Request-Id header's value slice
}

// requestFrom returns the middleware's state of the request ctx belongs to,
// or nil.
func requestFrom(ctx context.Context) *request {
	rq, _ := httpx.ScopeOwner(ctx).(*request)
	return rq
}

// middleware is the outermost handler: request id, request-scoped logger,
// panic recovery, one log line per request (method, path without query,
// status, duration, bytes, request id), and the request's metrics (route
// pattern, method, status, duration, in flight) and telemetry events. The
// query string is never logged: OAuth callbacks carry codes and states in
// it.
//
// It is on every request's path, so it is kept cheap: one allocation of
// its own state, one context value and one copy of the request; the
// request-scoped logger is built only when a handler asks for it, the
// request id comes from a fast generator, the metric series are looked up
// once per route, method and status, and the summary line is written with
// typed attributes (the logger's writer should be buffered: see
// LogWriter).
func (s *Server) middleware(next http.Handler) http.Handler {
	log := s.log
	o := s.ops()
	if o != nil && o.metrics == nil && o.telemetry == nil {
		o = nil
	}
	tr := s.tracer
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rq := &request{}
		id := requestID(r)
		rq.idHdr[0] = id
		w.Header()["X-Request-Id"] = rq.idHdr[:]
		rq.scope.Init(log, id, rq)
		ctx := httpx.WithScope(r.Context(), &rq.scope)
		var span trace.Span
		if tr != nil {
			ctx, span = tr.StartServer(ctx, r)
		}
		r = r.WithContext(ctx)
		sw := &rq.sw
		sw.ResponseWriter = w
		var upgrade bool
		if o != nil || tr != nil {
			upgrade = connect.IsWebSocketUpgrade(r)
		}
		if o != nil {
			o.metrics.RequestStarted()
		}
		panicked := true
		defer func() {
			var p any
			if panicked {
				p = recover()
			}
			if o != nil {
				o.metrics.RequestDone()
				o.observeRequest(r, sw.status, upgrade, panicked, time.Since(start), &rq.info)
			}
			if span != nil {
				provider, _ := rq.info.provider.Load().(string)
				tracing.FinishServer(span, r.Method, routeOf(r, upgrade), finalStatus(sw.status, panicked), id, provider)
			}
			if p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				httpx.Logger(ctx).Error("panic while serving request", "panic", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					httpx.WriteError(sw, r, httpx.E("internal_error"))
				}
			}
			level := slog.LevelInfo
			switch {
			case sw.status >= 500:
				level = slog.LevelError
			case r.URL.Path == "/health" || r.URL.Path == "/ready" || r.URL.Path == "/metrics":
				level = slog.LevelDebug
			}
			if !log.Enabled(ctx, level) {
				return
			}
			attrs := [7]slog.Attr{
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", logPath(r.URL.Path)),
				slog.Int("status", sw.status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.Int64("bytes", sw.bytes),
			}
			n := 6
			if span != nil {
				attrs[n] = slog.String("trace_id", span.SpanContext().TraceID().String())
				n++
			}
			log.LogAttrs(ctx, level, "request", attrs[:n]...)
		}()
		next.ServeHTTP(sw, r)
		panicked = false
	})
}

// logPath bounds the logged path.
func logPath(p string) string {
	if len(p) > 256 {
		return p[:256] + "…"
	}
	return p
}

// cors answers preflights and marks every response shareable, as the
// reference does (SPEC §1.1): Access-Control-Allow-Origin: *, OPTIONS → 204
// with the allowed methods and the requested headers echoed. No credentials
// are ever allowed cross-origin.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Access-Control-Allow-Origin"] = corsAnyOrigin
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", sanitizeHeaderList(req))
			}
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Access-Control-Request-Headers")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// corsAnyOrigin is every response's Access-Control-Allow-Origin value,
// shared (never modified: Set and Add replace or copy the slice).
var corsAnyOrigin = []string{"*"}

// sanitizeHeaderList keeps only header-name characters of a requested list.
func sanitizeHeaderList(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c == ',' || c == ' ' || c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	return b.String()
}
