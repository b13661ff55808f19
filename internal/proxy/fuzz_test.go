package proxy

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/provider"
)

// FuzzJoin checks that no endpoint or query after /proxy/ moves the call
// to another host, scheme or user: the upstream URL keeps the base's.
func FuzzJoin(f *testing.F) {
	for _, s := range []struct{ base, endpoint, query string }{
		{"https://api.example.com/v1", "user/repos", "a=1"},
		{"https://api.example.com", "//evil.example/x", ""},
		{"https://api.example.com/v1/", "@evil.example", "x=%zz"},
		{"https://api.example.com/v1", "..%2F..%2Fadmin", "#frag"},
		{"https://api.example.com/v1", "http://evil.example/", "?"},
		{"https://api.example.com:8443/v1?k=v", "%2F%2Fevil.example%5C", "&&"},
		{"http://10.0.0.1/a", "%", "a=1&b=\x00"},
		{"https://api.example.com/v1", "\\\\evil.example\\x", ""},
	} {
		f.Add(s.base, s.endpoint, s.query)
	}
	f.Fuzz(func(t *testing.T, base, endpoint, rawQuery string) {
		b, err := checkAbsolute(base)
		if err != nil {
			return
		}
		u, e := join(b, endpoint, rawQuery)
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("join refusal %d", e.Status)
			}
			return
		}
		if u.Scheme != b.Scheme || u.Hostname() != b.Hostname() || u.Port() != b.Port() || u.User != nil {
			t.Fatalf("join(%q, %q) = %s: scheme/host/user changed", base, endpoint, u)
		}
		// What the transport dials and what the request line says.
		req, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			return // net/http refuses it; nothing is sent
		}
		if req.URL.Hostname() != b.Hostname() || req.URL.Port() != b.Port() || req.URL.Scheme != b.Scheme || req.URL.User != nil {
			t.Fatalf("join(%q, %q): request goes to %s://%s", base, endpoint, req.URL.Scheme, req.URL.Host)
		}
		if ru := req.URL.RequestURI(); !strings.HasPrefix(ru, "/") {
			t.Fatalf("join(%q, %q): request-URI %q is not origin-form", base, endpoint, ru)
		}
	})
}

// FuzzResolveBase checks connection config values cannot change the host a
// template's base URL names beyond their placeholder: a subdomain value
// stays under the template's domain, a host value is a plain host[:port],
// and a whole-URL value is an absolute http(s) URL without credentials.
func FuzzResolveBase(f *testing.F) {
	for _, s := range []string{
		"acme", "evil.example/x?", "evil.example@127.0.0.1", "a#", "a\\b", "a%2Fb", "[::1]", "127.0.0.1:8080",
		"http://user:pw@evil.example", "https://acme.my.salesforce.com", "localhost", "a b", "é", "x:0", "x:+1",
		"https://evil.example#@good.example", "http://[::1]:80/", "http://0x7f.1/", "//evil.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		vars := provider.Vars{ConnectionConfig: map[string]any{"subdomain": v, "host": v, "instance_url": v}}

		if u, guarded, e := resolveBase("https://${connectionConfig.subdomain}.example.com/api", vars); e == nil {
			if !strings.HasSuffix(u.Hostname(), ".example.com") || u.Scheme != "https" || u.User != nil || !guarded {
				t.Fatalf("subdomain %q gave %s (guarded %v)", v, u, guarded)
			}
		} else if e.Status != 400 {
			t.Fatalf("subdomain %q: refusal %d", v, e.Status)
		}

		if u, guarded, e := resolveBase("http://${connectionConfig.host}/api", vars); e == nil {
			if u.User != nil || !guarded || !validHost(u.Hostname()) || u.Path != "/api" || u.Host != v {
				t.Fatalf("host %q gave %s (guarded %v)", v, u, guarded)
			}
		} else if e.Status != 400 {
			t.Fatalf("host %q: refusal %d", v, e.Status)
		}

		if u, guarded, e := resolveBase("${connectionConfig.instance_url} || https://fallback.example.com", vars); e == nil {
			if u.User != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" || !validHost(u.Hostname()) {
				t.Fatalf("instance_url %q gave %s", v, u)
			}
			if u.Host != "fallback.example.com" && !guarded {
				t.Fatalf("instance_url %q gave an unguarded %s", v, u)
			}
		} else if e.Status != 400 {
			t.Fatalf("instance_url %q: refusal %d", v, e.Status)
		}
	})
}

// FuzzRetryHints checks Retry-After and rate-limit reset parsing: no
// panic, never a negative wait, a delay-seconds wait at most 1e7 s (an
// HTTP date may be far away: the caller compares with its cap).
func FuzzRetryHints(f *testing.F) {
	for _, s := range []string{"5", "0.5", "-1", "1e400", "NaN", "Inf", "Wed, 21 Oct 2015 07:28:00 GMT", "1700000000", "1700000000000", "2030-01-01T00:00:00Z", " 3 ", ""} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		_, numErr := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if d, ok := parseAfter(v, now); ok && (d < 0 || numErr == nil && d > 1e7*time.Second) {
			t.Fatalf("parseAfter(%q) = %v", v, d)
		}
		if d, ok := parseAt(v, now); ok && d < 0 {
			t.Fatalf("parseAt(%q) = %v", v, d)
		}
	})
}

// FuzzActivityEndpoint checks what the activity log records of a proxied
// call: the path and the query's names only, never a value, bounded.
func FuzzActivityEndpoint(f *testing.F) {
	for _, s := range []struct{ e, q string }{{"user", "token=secret-value&a=1"}, {"//x", "%zz=1&=2&&"}, {"", "a"}} {
		f.Add(s.e, s.q)
	}
	f.Fuzz(func(t *testing.T, endpoint, rawQuery string) {
		got := activityEndpoint(endpoint, rawQuery)
		if len(got) > 500+len("…") {
			t.Fatalf("activityEndpoint length %d", len(got))
		}
		for _, kv := range strings.Split(rawQuery, "&") {
			_, v, ok := strings.Cut(kv, "=")
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			// A value (long enough not to occur by chance) may appear only
			// where the path or a name already holds it.
			if ok && len(v) >= 8 && !strings.Contains(endpoint, v) && !strings.Contains(namesOf(rawQuery), v) && strings.Contains(got, v) {
				t.Fatalf("activityEndpoint(%q, %q) = %q holds the value %q", endpoint, rawQuery, got, v)
			}
		}
	})
}

// namesOf joins a query's decoded names (a value may legitimately equal a
// name).
func namesOf(rawQuery string) string {
	var b strings.Builder
	for _, kv := range strings.Split(rawQuery, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		b.WriteString(name + "\x00")
	}
	return b.String()
}

// TestRetryHintsNotNumbers checks hints that parse as floats but are no
// wait: a hostile upstream sending them must not make the proxy retry at
// once. Regression: "Retry-After: NaN" gave a negative wait, and a reset of
// 1e300 ms overflowed to no wait.
func TestRetryHintsNotNumbers(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, v := range []string{"NaN", "nan", "-NaN", "+Inf", "Inf", "-Inf", "1e300", "1e16"} {
		if d, ok := parseAfter(v, now); ok {
			t.Errorf("parseAfter(%q) = %v, true", v, d)
		}
		if d, ok := parseAt(v, now); ok {
			t.Errorf("parseAt(%q) = %v, true", v, d)
		}
	}
	if d, ok := parseAt("1700000060000", now); !ok || d != time.Minute {
		t.Errorf("a millisecond reset: %v, %v", d, ok)
	}
}
