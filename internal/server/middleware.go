package server

import (
	"bufio"
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

	"github.com/nango-go/nango/internal/httpx"
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

// observe is the outermost middleware: request id, request-scoped logger,
// panic recovery, and one log line per request (method, path without query,
// status, duration, bytes, request id). The query string is never logged:
// OAuth callbacks carry codes and states in it.
//
// It is on every request's path, so it is kept cheap: one context value
// (the request-scoped logger is built only when a handler asks for it), a
// request id from a fast generator, and the summary line written with typed
// attributes (the logger's writer should be buffered: see LogWriter).
func observe(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header()["X-Request-Id"] = []string{id}
		ctx := httpx.WithRequest(r.Context(), log, id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
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
			log.LogAttrs(ctx, level, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", logPath(r.URL.Path)),
				slog.Int("status", sw.status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.Int64("bytes", sw.bytes),
			)
		}()
		next.ServeHTTP(sw, r)
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
		h.Set("Access-Control-Allow-Origin", "*")
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
