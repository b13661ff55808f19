package server

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/metrics"
)

// syncBuffer is a log sink safe for the handler's and the middleware's
// writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMiddleware: the one middleware every request passes (request id,
// scope, log line, metrics, panic recovery) in the cases a handler can
// make: a normal answer, a panic before and after writing, and
// http.ErrAbortHandler.
func TestMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(w http.ResponseWriter, r *http.Request)
		wantStatus int
		wantBody   string // substring
		wantLog    []string
		notLog     []string
		wantSeries string
		abort      bool
	}{
		{
			name: "answer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if reqInfoFrom(r.Context()) == nil {
					t.Error("no request info in the handler's context")
				}
				httpx.Logger(r.Context()).Info("from the handler")
				httpx.WriteJSONBytes(w, http.StatusCreated, []byte(`{"ok":true}`))
			},
			wantStatus: http.StatusCreated, wantBody: `{"ok":true}`,
			wantLog:    []string{`msg="from the handler" request_id=`, `msg=request request_id=`, `method=GET path=/thing status=201`},
			notLog:     []string{"secret-query", "panic"},
			wantSeries: `nango_http_requests_total{method="GET",route="unmatched",status="201"} 1`,
		},
		{
			name:       "panic before writing",
			handler:    func(http.ResponseWriter, *http.Request) { panic(errors.New("boom")) },
			wantStatus: http.StatusInternalServerError, wantBody: `"internal_error"`,
			wantLog:    []string{`level=ERROR msg="panic while serving request"`, `panic=*errors.errorString`, `level=ERROR msg=request`, `status=500`},
			wantSeries: `nango_http_requests_total{method="GET",route="unmatched",status="500"} 1`,
		},
		{
			name: "panic after writing",
			handler: func(w http.ResponseWriter, r *http.Request) {
				httpx.WriteJSONBytes(w, http.StatusOK, []byte(`{"partial":1}`))
				panic("late")
			},
			wantStatus: http.StatusOK, wantBody: `{"partial":1}`,
			wantLog:    []string{`msg="panic while serving request"`, `panic=string`, `status=200`},
			notLog:     []string{"internal_error"},
			wantSeries: `nango_http_requests_total{method="GET",route="unmatched",status="200"} 1`,
		},
		{
			name:       "abort",
			handler:    func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
			abort:      true,
			notLog:     []string{"panic while serving request", "msg=request"},
			wantSeries: `nango_http_requests_total{method="GET",route="unmatched",status="500"} 1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			m := metrics.New(metrics.Options{})
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil)), store: &opsStore{metrics: m}}
			h := s.middleware(http.HandlerFunc(tt.handler))
			rec := httptest.NewRecorder()
			func() {
				defer func() {
					p := recover()
					if tt.abort != (p == http.ErrAbortHandler) {
						t.Errorf("recovered %v from the middleware, want abort %v", p, tt.abort)
					}
				}()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/thing?secret-query=1", nil))
			}()
			if !tt.abort {
				if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
					t.Errorf("answer %d %s, want %d with %s", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
				}
				id := rec.Header().Get("X-Request-Id")
				if len(id) != 16 || strings.Count(logs.String(), "request_id="+id) < 1 {
					t.Errorf("request id %q not in the log:\n%s", id, logs.String())
				}
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, logs.String())
				}
			}
			for _, not := range tt.notLog {
				if strings.Contains(logs.String(), not) {
					t.Errorf("log has %q:\n%s", not, logs.String())
				}
			}
			mrec := httptest.NewRecorder()
			m.Handler().ServeHTTP(mrec, httptest.NewRequest("GET", "/metrics", nil))
			for _, want := range []string{tt.wantSeries, "nango_http_requests_in_flight 0"} {
				if !strings.Contains(mrec.Body.String(), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}
