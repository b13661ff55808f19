package httpx

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/secret"
)

// FuzzDecodeJSON feeds arbitrary bodies and content types to DecodeJSON:
// it never panics, every refusal is a catalogued 4xx naming the problem,
// and an accepted body is valid UTF-8 JSON without a NUL character.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"name":"a","count":2}`},
		{"application/json", `{"name":1}`},
		{"application/json", `{"name":"a"`},
		{"application/json", `[1,2]`},
		{"application/json", `null`},
		{"application/json", `{"name":"\u0000"}`},
		{"application/json", "{\"name\":\"\xff\"}"},
		{"application/json", `{"name":"a"} {"name":"b"}`},
		{"text/plain", `{}`},
		{"application/json; charset=utf-8", ` `},
		{"application/merge-patch+json", `{"count":1e400}`},
		{"", `{"count":-0.5}`},
		{"application/json", strings.Repeat("[", 20000)},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		var dst struct {
			Name  string         `json:"name"`
			Count int            `json:"count"`
			Rest  map[string]any `json:"rest"`
		}
		e := DecodeJSON(httptest.NewRecorder(), r, &dst, 64<<10)
		if e == nil {
			if !utf8.Valid(body) || hasNULEscape(body) {
				t.Fatalf("accepted a body that is not valid UTF-8 or holds NUL: %q", body)
			}
			return
		}
		if e.Status < 400 || e.Status >= 500 || !Known(e.Type) || e.Message == "" {
			t.Fatalf("refusal %+v for %q (%q)", e, body, ct)
		}
	})
}

// FuzzSecretKeyFromHeader checks the Authorization parser never panics and
// that what it extracts from a header it built itself round-trips.
func FuzzSecretKeyFromHeader(f *testing.F) {
	for _, s := range []string{
		"Bearer sk", "bearer  sk ", "Basic " + base64.StdEncoding.EncodeToString([]byte("sk:")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("sk:pw:x")), "Basic !!!", "Basic", "Bearer", "Bearer ",
		"Digest x", "", " ", "Basic " + base64.URLEncoding.EncodeToString([]byte("\xff\xfe:")), "BASIC Og==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		key, ok := SecretKeyFromHeader(h)
		if !ok && key != "" {
			t.Fatalf("SecretKeyFromHeader(%q) = %q, false: a key without ok", h, key)
		}
		if user, _, bok := BasicCredentials(h); bok && strings.EqualFold(strings.Fields(h)[0], "basic") {
			if k, kok := SecretKeyFromHeader(h); !kok || k != user {
				t.Fatalf("Basic header %q: user %q but key %q, %v", h, user, k, kok)
			}
		}
		// A key without spaces (Unicode ones included: the header is
		// trimmed) or colons survives both schemes.
		k := strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || r == ':' || r < 0x21 || r == 0x7f || r == utf8.RuneError {
				return -1
			}
			return r
		}, h)
		if k == "" {
			return
		}
		if got, ok := SecretKeyFromHeader("Bearer " + k); !ok || got != k {
			t.Fatalf("Bearer %q gave %q, %v", k, got, ok)
		}
		if got, ok := SecretKeyFromHeader("Basic " + base64.StdEncoding.EncodeToString([]byte(k+":"))); !ok || got != k {
			t.Fatalf("Basic of %q gave %q, %v", k, got, ok)
		}
	})
}

// FuzzRequireSecretKey checks the guard: only the right key passes, and
// every refusal is a 401 envelope.
func FuzzRequireSecretKey(f *testing.F) {
	for _, s := range []string{"Bearer right-key", "Bearer wrong", "Basic cmlnaHQta2V5Og==", "Basic cmlnaHQta2V5", "", "Bearer right-key2", "Bearer right-ke"} {
		f.Add(s)
	}
	const key = "right-key"
	h := RequireSecretKey(secret.String(key), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	f.Fuzz(func(t *testing.T, auth string) {
		if strings.ContainsAny(auth, "\r\n") {
			return // not a header value a client can send
		}
		r := httptest.NewRequest("GET", "/config", nil)
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got, ok := SecretKeyFromHeader(auth)
		want := 401
		if ok && got == key {
			want = 204
		}
		if w.Code != want {
			t.Fatalf("Authorization %q: %d, want %d", auth, w.Code, want)
		}
	})
}

// FuzzQueryValue checks the hot path's query reader against the standard
// library: QueryValue(raw, name) is url.ParseQuery(raw).Get(name) for any
// raw query and name.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []struct{ raw, name string }{
		{"provider_config_key=gh&force_refresh=true", "provider_config_key"},
		{"a=1&a=2", "a"}, {"a=%zz&a=2", "a"}, {"a;b=1&a=3", "a"}, {"%61=x", "a"}, {"a+b=c+d", "a b"},
		{"=x&a", "a"}, {"a=%", "a"}, {"&&a==b", "a"}, {"k=%E2%80%A8", "k"}, {"k=\xff", "k"},
	} {
		f.Add(s.raw, s.name)
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		want := ""
		if v, _ := url.ParseQuery(raw); v != nil {
			want = v.Get(name)
		}
		if got := QueryValue(raw, name); got != want {
			t.Fatalf("QueryValue(%q, %q) = %q, url.ParseQuery gives %q", raw, name, got, want)
		}
	})
}
