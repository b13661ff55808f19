package api

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/store"
)

// FuzzImportBody feeds arbitrary POST /connection bodies through the
// decoder and the credential validation of every auth mode: no panic;
// every refusal is a catalogued 4xx; accepted credentials have the mode's
// type and an expiry no further than ten years ahead.
func FuzzImportBody(f *testing.F) {
	for _, s := range []string{
		`{"connection_id":"c","provider_config_key":"k","access_token":"t","refresh_token":"r","expires_in":3600}`,
		`{"connection_id":"c","provider_config_key":"k","access_token":"t","expires_at":"2030-01-01T00:00:00Z","raw":{"x":[1]}}`,
		`{"access_token":"t","expires_in":1e308}`,
		`{"access_token":"t","expires_in":-0.0001,"expires_at":""}`,
		`{"access_token":"t","expires_at":"9999-12-31T23:59:59.999999999+14:00"}`,
		`{"oauth_token":"a","oauth_token_secret":""}`,
		`{"username":"u"}`, `{"username":"u","password":""}`, `{"api_key":null}`,
		`{"metadata":{"a":{"b":[null,true,1.5e-300]}},"connection_config":{"":""}}`,
		`{"access_token":"t","client_id":"c","client_secret":"s","client_certificate":"-----BEGIN"}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := httptest.NewRequest("POST", "/connection", bytes.NewReader(data))
		r.Header.Set("Content-Type", "application/json")
		var b importBody
		if e := httpx.DecodeJSON(httptest.NewRecorder(), r, &b, maxImportBody); e != nil {
			if e.Status < 400 || e.Status >= 500 {
				t.Fatalf("decode refusal %+v", e)
			}
			return
		}
		for _, mode := range []store.AuthMode{store.OAuth2, store.OAuth2CC, store.OAuth1, store.Basic, store.APIKey, "WEIRD"} {
			c, e := importCredentials(mode, &b, now)
			if e != nil {
				if e.Status < 400 || e.Status >= 500 || !httpx.Known(e.Type) {
					t.Fatalf("%s refusal %+v", mode, e)
				}
				continue
			}
			if c.Type != mode {
				t.Fatalf("%s import gave type %s", mode, c.Type)
			}
			if c.ExpiresAt != nil && c.ExpiresAt.After(now.Add(10*365*24*time.Hour+time.Second)) && b.ExpiresAt == nil {
				t.Fatalf("expires_in gave %v", c.ExpiresAt)
			}
		}
	})
}
