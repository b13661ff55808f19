package server

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/secret"
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
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && plainID(id) {
		return id
	}
	return secret.RandomToken(12)
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
func observe(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set("X-Request-Id", id)
		rlog := log.With("request_id", id)
		ctx := httpx.WithRequestID(httpx.WithLogger(r.Context(), rlog), id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				rlog.Error("panic while serving request", "panic", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
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
			rlog.Log(r.Context(), level, "request",
				"method", r.Method,
				"path", logPath(r.URL.Path),
				"status", sw.status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000,
				"bytes", sw.bytes,
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
