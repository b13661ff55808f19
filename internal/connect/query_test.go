package connect

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseConnectQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want connectQuery
	}{
		{"empty", "", connectQuery{ConnectionConfig: map[string]any{}}},
		{
			"sdk", "connection_id=user-1&public_key=pk&params[subdomain]=acme&hmac=ab12&ws_client_id=0b6d3d3c-5f0e-4f57-9d5b-8c1f2f0e3a11",
			connectQuery{ConnectionID: "user-1", HMAC: "ab12", WSClientID: "0b6d3d3c-5f0e-4f57-9d5b-8c1f2f0e3a11", ConnectionConfig: map[string]any{"subdomain": "acme"}},
		},
		{"plus is a space", "connection_id=a+b&params[x]=c+d", connectQuery{ConnectionID: "a b", ConnectionConfig: map[string]any{"x": "c d"}}},
		{"percent-encoded", "connection_id=a%20b%2Bc%26&params%5Bx%5D=%C3%A9", connectQuery{ConnectionID: "a b+c&", ConnectionConfig: map[string]any{"x": "é"}}},
		{"bad escape kept as sent", "connection_id=100%+sure%zz", connectQuery{ConnectionID: "100% sure%zz", ConnectionConfig: map[string]any{}}},
		{"non-UTF-8 escape kept as sent", "connection_id=a%FFb", connectQuery{ConnectionID: "a%FFb", ConnectionConfig: map[string]any{}}},
		{"odd characters", "connection_id=a;b,c:d/e?f@g!h$i'j(k)l*m~n[o]p|q", connectQuery{ConnectionID: "a;b,c:d/e?f@g!h$i'j(k)l*m~n[o]p|q", ConnectionConfig: map[string]any{}}},
		{"raw unicode", "connection_id=żółw&params[ключ]=値", connectQuery{ConnectionID: "żółw", ConnectionConfig: map[string]any{"ключ": "値"}}},
		{"value with =", "connection_id=a=b=c", connectQuery{ConnectionID: "a=b=c", ConnectionConfig: map[string]any{}}},
		{"no value", "connection_id&params[x]", connectQuery{ConnectionConfig: map[string]any{"x": ""}}},
		{"first wins", "connection_id=a&connection_id=b&params[x]=1&params[x]=2", connectQuery{ConnectionID: "a", ConnectionConfig: map[string]any{"x": "1"}}},
		{
			"nested and list forms dropped", "params[a][b]=1&params[]=2&params=3&params[c=4&params[d]e=5&xparams[f]=6&params[ok]=7",
			connectQuery{ConnectionConfig: map[string]any{"ok": "7"}},
		},
		{"param names kept as sent", "params[connectionConfig.params.x]=1&params[ a ]=2", connectQuery{ConnectionConfig: map[string]any{"connectionConfig.params.x": "1", " a ": "2"}}},
		{"empty pairs", "&&connection_id=a&&=b&", connectQuery{ConnectionID: "a", ConnectionConfig: map[string]any{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseConnectQuery(tc.raw)
			if !jsonEqual(got, tc.want) {
				t.Errorf("parseConnectQuery(%q) =\n  %+v\nwant\n  %+v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestParseQueryLimit(t *testing.T) {
	raw := strings.Repeat("a=1&", maxQueryPairs+50)
	if n := len(parseQuery(raw)); n != maxQueryPairs {
		t.Errorf("pairs = %d, want %d", n, maxQueryPairs)
	}
}

// FuzzConnectQuery checks the parser never panics, keeps only well-formed
// params names, and reads back exactly what a properly encoding client
// sends.
func FuzzConnectQuery(f *testing.F) {
	seeds := []struct{ raw, id, name, value string }{
		{"connection_id=u1&params[subdomain]=acme", "u1", "subdomain", "acme"},
		{"connection_id=a+b&params[x]=%2B", "a b", "x", "+"},
		{"connection_id=%&params[%5B]=%zz", "100%", "a b", "c&d"},
		{"params[a][b]=1&params[]=&params=", "", "", ""},
		{"connection_id=%C3%A9%FF&hmac=&ws_client_id=;", "é", "ключ", "値\u2028"},
		{"&&&=&==&params[=]=]", "x=y", "=", "]"},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.id, s.name, s.value)
	}
	f.Fuzz(func(t *testing.T, raw, id, name, value string) {
		q := parseConnectQuery(raw)
		for k := range q.ConnectionConfig {
			if k == "" || strings.ContainsAny(k, "[]") {
				t.Errorf("kept param name %q", k)
			}
		}
		if utf8.ValidString(raw) && !utf8.ValidString(q.ConnectionID) {
			t.Errorf("valid input gave invalid UTF-8 connection id %q", q.ConnectionID)
		}

		// Round trip through a client that encodes (url.QueryEscape).
		if id == "" || name == "" || strings.ContainsAny(name, "[]") || !utf8.ValidString(id) || !utf8.ValidString(name) || !utf8.ValidString(value) {
			return
		}
		enc := "connection_id=" + url.QueryEscape(id) + "&params[" + url.QueryEscape(name) + "]=" + url.QueryEscape(value)
		got := parseConnectQuery(enc)
		if got.ConnectionID != id || len(got.ConnectionConfig) != 1 || got.ConnectionConfig[name] != value {
			t.Errorf("round trip of (%q, %q, %q) via %q = %+v", id, name, value, enc, got)
		}
	})
}
