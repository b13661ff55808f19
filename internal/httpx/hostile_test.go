package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/store"
)

// TestDecodeJSONRefusesNUL checks a body holding a NUL character is a 400
// on every driver. Regression: it reached PostgreSQL, which refused it,
// and the API answered 500.
func TestDecodeJSONRefusesNUL(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"NUL in a value", `{"name":"a\u0000b"}`, true},
		{"NUL in a key", `{"\u0000":"x","name":"a"}`, true},
		{"NUL nested", `{"name":"a","x":{"y":["\u0000"]}}`, true},
		{"NUL after an escaped backslash pair", `{"name":"\\\u0000"}`, true},
		{"escaped backslash then text", `{"name":"\\u0000"}`, false},
		{"two escaped backslashes then text", `{"name":"\\\\u0000"}`, false},
		{"other escapes", `{"name":"\u0001\u00e9\u2028"}`, false},
		{"text u0000", `{"name":"u0000"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var dst map[string]any
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			e := DecodeJSON(httptest.NewRecorder(), r, &dst, 0)
			if (e != nil) != tc.wantErr {
				t.Fatalf("DecodeJSON(%s) = %v, want error %v", tc.body, e, tc.wantErr)
			}
			if e != nil && (e.Status != 400 || e.Type != "invalid_body" || !strings.Contains(e.Message, "NUL")) {
				t.Errorf("error = %+v", e)
			}
		})
	}
}

// TestWriteErrorInvalidValue checks a value the database refuses is the
// request's fault: 400, not 500.
func TestWriteErrorInvalidValue(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/", nil), fmt.Errorf("postgres: %w: boom", store.ErrInvalidValue))
	var env map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusBadRequest || env["type"] != "invalid_request" || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("answer = %d %s", w.Code, w.Body)
	}
}
