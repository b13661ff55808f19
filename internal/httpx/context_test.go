package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// owner embeds a Scope, as the server's middleware does.
type owner struct {
	Scope
	n int
}

func embeddedScope(base *slog.Logger, id string) context.Context {
	o := &owner{n: 7}
	o.Init(base, id, o)
	return WithScope(context.Background(), &o.Scope)
}

func TestScopeOwner(t *testing.T) {
	ctx := embeddedScope(slog.New(slog.DiscardHandler), "r")
	if o, ok := ScopeOwner(ctx).(*owner); !ok || o.n != 7 || o.id != "r" {
		t.Errorf("ScopeOwner = %#v, want the embedding struct", ScopeOwner(ctx))
	}
	for _, ctx := range []context.Context{context.Background(), WithRequest(context.Background(), slog.New(slog.DiscardHandler), "x")} {
		if o := ScopeOwner(ctx); o != nil {
			t.Errorf("ScopeOwner = %#v, want nil", o)
		}
	}
}

func TestRequestScope(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, nil))
	tests := []struct {
		name   string
		ctx    context.Context
		wantID string
		logs   bool // Logger(ctx) writes to buf with request_id wantID
	}{
		{"scope", WithRequest(context.Background(), base, "req-1"), "req-1", true},
		{"embedded scope", embeddedScope(base, "req-3"), "req-3", true},
		{"separate values", WithLogger(WithRequestID(context.Background(), "req-2"), base.With("request_id", "req-2")), "req-2", true},
		{"nothing", context.Background(), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			if got := RequestID(tt.ctx); got != tt.wantID {
				t.Errorf("RequestID = %q, want %q", got, tt.wantID)
			}
			l := Logger(tt.ctx)
			if l2 := Logger(tt.ctx); tt.logs && l2 != l {
				t.Error("Logger built a new logger on the second call")
			}
			l.Info("hello")
			if !tt.logs {
				if buf.Len() != 0 {
					t.Errorf("logged %q, want nothing", buf.String())
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["request_id"] != tt.wantID || m["msg"] != "hello" {
				t.Errorf("line %q, want msg hello with request_id %q", buf.String(), tt.wantID)
			}
		})
	}
}

func TestWriteJSONMatchesMarshal(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"map", map[string]string{"result": "ok"}, `{"result":"ok"}`},
		{"html escaped as Marshal does", map[string]string{"a": "<b>&"}, `{"a":"\u003cb\u003e\u0026"}`},
		{"envelope", envelope{Error: "x", Type: "t", Payload: map[string]any{}}, `{"error":"x","type":"t","payload":{}}`},
		{"unencodable", map[string]any{"f": func() {}}, `{"error":"An internal error occurred. The server log has the details.","type":"internal_error","payload":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteJSON(rec, 200, tt.v)
			if got := rec.Body.String(); got != tt.want+"\n" {
				t.Errorf("body %q, want %q", got, tt.want+"\n")
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if strings.Contains(tt.name, "unencodable") && rec.Code != 500 {
				t.Errorf("status %d, want 500", rec.Code)
			}
		})
	}
}
