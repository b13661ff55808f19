package connect

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCallbackQuery checks the callback's query parsing and state check:
// no panic, at most maxQueryPairs pairs, every value of a repeated name
// kept in order, and a state accepted only in the issued form.
func FuzzCallbackQuery(f *testing.F) {
	for _, s := range []string{
		"state=" + strings.Repeat("A", 43) + "&code=abc",
		"state=a&state=b&code=%zz&error=access_denied&error_description=%3Cscript%3E",
		"oauth_token=t&oauth_verifier=v&state=%00",
		"&&==&state",
		"state=" + strings.Repeat("-_", 21) + "x" + "&realmId=1+2",
		strings.Repeat("a=1&", 1200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		pairs := parseQuery(raw)
		if len(pairs) > maxQueryPairs {
			t.Fatalf("%d pairs read", len(pairs))
		}
		v := values(pairs)
		n := 0
		for name, vs := range v {
			if name == "" {
				t.Fatal("empty name kept")
			}
			n += len(vs)
		}
		if n != len(pairs) {
			t.Fatalf("values hold %d values of %d pairs", n, len(pairs))
		}
		st := v.Get("state")
		if wellFormedState(st) && (len(st) != 43 || strings.ContainsAny(st, "%+/=\x00")) {
			t.Fatalf("accepted state %q", st)
		}
	})
}

// FuzzCheckKey checks the public routes' id rule agrees with itself: an
// accepted value is short, UTF-8 and free of control characters.
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"u1", "a\x00b", strings.Repeat("é", 128), "\xff", "a\u2028b", "user 1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fe := checkKey("connection id", s)
		ok := len(s) <= maxKeyLength && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 })
		if (fe == nil) != ok {
			t.Fatalf("checkKey(%q) = %v, want ok=%v", s, fe, ok)
		}
	})
}

// FuzzWebSocketHandshake checks the handshake check on arbitrary headers:
// no panic, only a valid RFC 6455 handshake passes (what the WebSocket
// library then accepts; TestBadWebSocketHandshakes checks the wire), and
// every refusal is a 4xx.
func FuzzWebSocketHandshake(f *testing.F) {
	f.Add("GET", "Upgrade", "websocket", "13", "dGhlIHNhbXBsZSBub25jZQ==", "")
	f.Add("POST", "Upgrade", "websocket", "13", "dGhlIHNhbXBsZSBub25jZQ==", "")
	f.Add("GET", "keep-alive, Upgrade", "WebSocket", "8", "", "permessage-deflate")
	f.Add("GET", "Upgrade", "websocket", "13", "%%%", "x; y=1")
	f.Add("GET", "upgrade", "websocket, h2c", "13, 13", "AAAAAAAAAAAAAAAAAAAAAA==", "permessage-deflate; client_max_window_bits=99")
	f.Fuzz(func(t *testing.T, method, connection, upgrade, version, key, ext string) {
		for _, s := range []string{method, connection, upgrade, version, key, ext} {
			if strings.ContainsAny(s, "\r\n\x00") || !utf8.ValidString(s) || len(s) > 1000 {
				return // not sendable as a header
			}
		}
		if method == "" || strings.ContainsAny(method, " \t()<>@,;:\\\"/[]?={}") {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method = method
		for k, v := range map[string]string{"Connection": connection, "Upgrade": upgrade, "Sec-WebSocket-Version": version, "Sec-WebSocket-Key": key, "Sec-WebSocket-Extensions": ext} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		if !IsWebSocketUpgrade(req) {
			return
		}
		err := checkHandshake(req)
		valid := method == http.MethodGet && strings.TrimSpace(version) == "13"
		if b, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(key)); derr != nil || len(b) != 16 {
			valid = false
		}
		if (err == nil) != valid {
			t.Fatalf("checkHandshake(%s, v=%q, key=%q) = %v, want valid=%v", method, version, key, err, valid)
		}
		if err != nil && (err.Status < 400 || err.Status >= 500) {
			t.Fatalf("refusal status %d", err.Status)
		}
	})
}
