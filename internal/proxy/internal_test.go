package proxy

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/provider"
)

func TestParseRetryHints(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &provider.Retry{After: []string{"X-After"}, At: []string{"X-Reset"}}
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"none", http.Header{}, 0, false},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"fraction", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond, true},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0, true},
		{"garbage ignored", http.Header{"Retry-After": {"soon"}}, 0, false},
		{"negative ignored", http.Header{"Retry-After": {"-3"}}, 0, false},
		{"template after", http.Header{"X-After": {"4"}}, 4 * time.Second, true},
		{"standard wins", http.Header{"Retry-After": {"2"}, "X-After": {"4"}}, 2 * time.Second, true},
		{"template at unix seconds", http.Header{"X-Reset": {"1767323105"}}, 60 * time.Second, true},
		{"template at unix ms", http.Header{"X-Reset": {"1767323075000"}}, 30 * time.Second, true},
		{"template at small number is seconds", http.Header{"X-Reset": {"12"}}, 12 * time.Second, true},
		{"template at RFC 3339", http.Header{"X-Reset": {"2026-01-02T03:05:05Z"}}, 60 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := retryAfter(tt.header, r, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %s %v, want %s %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	base, maxWait := 100*time.Millisecond, time.Second
	for n := 1; n <= 8; n++ {
		step := min(base<<(n-1), maxWait)
		for i := 0; i < 200; i++ {
			d := backoff(n, base, maxWait)
			if d < step/2 || d > step {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, step/2, step)
			}
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	tmpl := &provider.Retry{ErrorCodes: []string{"403", "4XX"}}
	tests := []struct {
		status int
		r      *provider.Retry
		want   bool
	}{
		{429, nil, true}, {500, nil, true}, {503, nil, true}, {599, nil, true},
		{400, nil, false}, {404, nil, false}, {200, nil, false}, {301, nil, false},
		{403, tmpl, true}, {418, tmpl, true}, {302, tmpl, false},
	}
	for _, tt := range tests {
		if got := retryableStatus(tt.status, tt.r); got != tt.want {
			t.Errorf("retryableStatus(%d, %v) = %v", tt.status, tt.r, got)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true}, {"1.1.1.1", true}, {"2606:4700::1111", true},
		{"127.0.0.1", false}, {"127.9.9.9", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false},
		{"192.168.1.1", false}, {"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false},
		{"::", false}, {"fe80::1", false}, {"fc00::1", false}, {"224.0.0.1", false}, {"255.255.255.255", false},
		{"::ffff:127.0.0.1", false}, {"64:ff9b::a00:1", false}, {"198.18.0.1", false},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr).Unmap()
		if got := publicAddr(a); got != tt.want {
			t.Errorf("publicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if err := refuseNonPublic("tcp", "127.0.0.1:80", nil); err == nil {
		t.Error("refuseNonPublic let loopback through")
	}
	if err := refuseNonPublic("tcp", "[2606:4700::1111]:443", nil); err != nil {
		t.Errorf("refuseNonPublic refused a public address: %v", err)
	}
}

func TestURLValueSafety(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"acme", true}, {"acme.zendesk.com", true}, {"eu-west-1", true}, {"host:8443", true}, {"a_b~c", true},
		{"", false}, {"evil.com/", false}, {"a?b", false}, {"a#b", false}, {"u@h", false}, {`a\b`, false},
		{"a%2F", false}, {"a b", false}, {"h:99999", false}, {"h:x", false}, {"h:+1", false}, {"é", false}, {"[::1]", false},
	}
	for _, tt := range tests {
		if got := safeInURL(tt.v); got != tt.want {
			t.Errorf("safeInURL(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	for _, tt := range []struct {
		s, want string
	}{
		{"https://api.example.com/v1", ""},
		{"http://127.0.0.1:8080", ""},
		{"ftp://x", "is not an http or https URL"},
		{"https://u:p@x.com", "holds credentials (user@host)"},
		{"https://x.com/#frag", "holds a fragment (#...)"},
		{"https:///path", "has no host"},
		{"https://exa mple.com", "is not a valid URL"},
		{"https://x.com:0", `has an invalid port "0"`},
	} {
		_, err := checkAbsolute(tt.s)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("checkAbsolute(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestLiteralAuthority(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"https://api.github.com", true},
		{"https://api.example.com/${connectionConfig.account}/v1", true},
		{"https://${connectionConfig.subdomain}.zendesk.com/api", false},
		{"${connectionConfig.instance_url}", false},
		{"https://api.example.com:${connectionConfig.port}", false},
		{"${connectionConfig.scheme}://api.example.com", false},
	}
	for _, tt := range tests {
		if got := literalAuthority(tt.s); got != tt.want {
			t.Errorf("literalAuthority(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestActivityEndpoint(t *testing.T) {
	tests := []struct{ endpoint, query, want string }{
		{"user", "", "/user"},
		{"/user", "", "/user"},
		{"search", "q=secret&page=2&q=x&api%5Fkey=k", "/search?api_key&page&q"},
		{"x", "&&", "/x?"},
	}
	for _, tt := range tests {
		if got := activityEndpoint(tt.endpoint, tt.query); got != tt.want {
			t.Errorf("activityEndpoint(%q, %q) = %q, want %q", tt.endpoint, tt.query, got, tt.want)
		}
	}
}
