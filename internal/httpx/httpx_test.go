package httpx

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

type body struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, ct, body string
		limit          int64
		wantStatus     int
		wantType       string
		wantMsg        string
	}{
		{"ok", "application/json", `{"name":"a","count":2,"extra":[1]}`, 0, 0, "", ""},
		{"ok charset", "application/json; charset=utf-8", `{"name":"a"}`, 0, 0, "", ""},
		{"no content type ok", "", `{"name":"a"}`, 0, 0, "", ""},
		{"form content type", "application/x-www-form-urlencoded", `name=a`, 0, 415, "invalid_content_type", "Content-Type"},
		{"empty", "application/json", ``, 0, 400, "missing_body", ""},
		{"whitespace", "application/json", "  \n", 0, 400, "missing_body", ""},
		{"malformed", "application/json", `{"name":}`, 0, 400, "invalid_body", "not valid JSON"},
		{"truncated", "application/json", `{"name":"a"`, 0, 400, "invalid_body", "truncated"},
		{"wrong type", "application/json", `{"name":5}`, 0, 400, "invalid_body", "Field 'name' must be a string"},
		{"wrong number type", "application/json", `{"count":"x"}`, 0, 400, "invalid_body", "Field 'count' must be a number"},
		{"array", "application/json", `[1,2]`, 0, 400, "invalid_body", "must be a JSON object"},
		{"trailing", "application/json", `{"name":"a"} {}`, 0, 400, "invalid_body", "after the JSON value"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 200) + `"}`, 100, 413, "request_too_large", "larger than 100 bytes"},
		{"invalid utf8", "application/json", "{\"name\":\"\xff\"}", 0, 400, "invalid_body", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tt.body))
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			var b body
			e := DecodeJSON(httptest.NewRecorder(), r, &b, tt.limit)
			if tt.wantType == "" {
				if e != nil {
					t.Fatalf("unexpected error %v", e)
				}
				if b.Name != "a" {
					t.Errorf("name = %q", b.Name)
				}
				return
			}
			if e == nil {
				t.Fatalf("no error, want %s", tt.wantType)
			}
			if e.Status != tt.wantStatus || e.Type != tt.wantType || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("got %d %s %q; want %d %s containing %q", e.Status, e.Type, e.Message, tt.wantStatus, tt.wantType, tt.wantMsg)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"catalogued", E("unkown_connection"), 400, "unkown_connection", "No connection matching params 'connection_id' and 'provider_config_key'."},
		{"unknown type is internal", E("made_up"), 500, "internal_error", ""},
		{"db down", fmt.Errorf("get: %w", store.ErrUnavailable), 503, "database_unavailable", ""},
		{"undecryptable", fmt.Errorf("x: %w", store.ErrUndecryptable), 500, "undecryptable_secret", "NANGO_ENCRYPTION_KEY"},
		{"opaque error hides detail", errors.New("pq: password=hunter2 failed"), 500, "internal_error", "server log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/", nil)
			r = r.WithContext(WithRequestID(r.Context(), "req-1"))
			WriteError(w, r, tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			var env struct {
				Error   string         `json:"error"`
				Type    string         `json:"type"`
				Payload map[string]any `json:"payload"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
				t.Fatalf("body %q: %v", w.Body.String(), err)
			}
			if env.Type != tt.wantType || !strings.Contains(env.Error, tt.wantMsg) || env.Payload == nil {
				t.Errorf("envelope = %+v", env)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("body leaks the error detail: %s", w.Body.String())
			}
			if tt.wantStatus >= 500 && env.Payload["request_id"] != "req-1" {
				t.Errorf("5xx payload lacks request id: %v", env.Payload)
			}
		})
	}
}

func TestRequireSecretKey(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		key    string
		header string
		want   int
		typ    string
	}{
		{"open ignores header", "", "Bearer ", 200, ""},
		{"open no header", "", "", 200, ""},
		{"missing", "sk", "", 401, "missing_auth_header"},
		{"basic right", "sk", basic("sk:"), 200, ""},
		{"basic right with password", "sk", basic("sk:whatever"), 200, ""},
		{"basic wrong", "sk", basic("nope:"), 401, "invalid_secret_key"},
		{"basic not base64", "sk", "Basic %%%", 401, "invalid_secret_key"},
		{"bearer right", "sk", "Bearer sk", 200, ""},
		{"bearer lower-case scheme", "sk", "bearer sk", 200, ""},
		{"bearer wrong", "sk", "Bearer sk2", 401, "invalid_secret_key"},
		{"bearer empty", "sk", "Bearer ", 401, "invalid_secret_key"},
		{"prefix of key", "sk", "Bearer s", 401, "invalid_secret_key"},
		{"unknown scheme", "sk", "Token sk", 401, "invalid_secret_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := RequireSecretKey(secret.String(tt.key), ok)
			r := httptest.NewRequest("GET", "/config", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.want, w.Body.String())
			}
			if tt.typ != "" && !strings.Contains(w.Body.String(), `"type":"`+tt.typ+`"`) {
				t.Errorf("body = %s, want type %s", w.Body.String(), tt.typ)
			}
		})
	}
}
