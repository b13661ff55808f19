package httpx

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nango-go/nango/internal/secret"
)

// BenchmarkRequireSecretKey is the secret-key check every API request
// passes: Bearer and Basic forms.
func BenchmarkRequireSecretKey(b *testing.B) {
	const key = "sk-0123456789abcdef0123456789abcdef"
	h := RequireSecretKey(secret.String(key), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tc := range []struct{ name, header string }{
		{"bearer", "Bearer " + key},
		{"basic", "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/connection/x", nil)
			req.Header.Set("Authorization", tc.header)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkWriteJSON encodes a small answer.
func BenchmarkWriteJSON(b *testing.B) {
	v := map[string]string{"result": "ok"}
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		WriteJSON(w, 200, v)
	}
}
