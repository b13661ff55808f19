package proxy_test

import (
	"net/textproto"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/proxy"
)

// FuzzProxyHeadersAndPath sends proxied calls with an arbitrary endpoint,
// query and one arbitrary header (besides the caller's Authorization, which
// carries the server's secret key): the proxy never answers 500, and the
// upstream only ever receives Content-Type, Accept, Nango-Proxy-* headers
// (prefix stripped, hop-by-hop and framing ones dropped), its own
// User-Agent and the connection's credentials — never the caller's
// Authorization, Connection-Id, Provider-Config-Key or another header.
func FuzzProxyHeadersAndPath(f *testing.F) {
	for _, s := range []struct{ path, query, name, value string }{
		{"user/repos", "a=1", "Nango-Proxy-X-Trace", "t"},
		{"//evil", "", "nango-proxy-host", "evil.example"},
		{"x", "%zz", "Nango-Proxy-Connection", "close"},
		{"x", "", "Nango-Proxy-Authorization", "Bearer mine"},
		{"x", "", "Connection", "Nango-Proxy-X-Secret"},
		{"x", "", "X-Other", "v"},
		{"a%2Fb", "q=%00", "Nango-Proxy-Content-Length", "5"},
		{"", "", "Nango-Proxy-", "v"},
		{"x", "", "Nango-Proxy-Authorization", " padded\t"},
		{"x", "", "Nango-Proxy-Authorization", " "},
	} {
		f.Add(s.path, s.query, s.name, s.value)
	}
	up := newUpstream(f, nil)
	e := newEnv(f, envOptions{cfg: config.Proxy{}})
	e.addTemplates(oauth2Template("t-api", up.URL))
	e.integration("api", "t-api", "cid", "csecret")
	e.connection("api", "u1", bearer("at-1"), nil)
	const callerKey = "the-nango-secret-key"
	f.Fuzz(func(t *testing.T, path, query, name, value string) {
		if !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") || !utf8.ValidString(value) ||
			strings.ContainsAny(path, " ?#\x00\r\n\t") || strings.ContainsAny(query, " #\x00\r\n\t") || !utf8.ValidString(path+query) {
			return
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch canon {
		case "Host", "Content-Length", "Transfer-Encoding", "Authorization", "Connection-Id", "Provider-Config-Key", "Connection", "Te", "Trailer", "Upgrade", "Expect":
			return // set by the client library or the test
		}
		before := len(up.requests())
		p := "/proxy/" + path
		if query != "" {
			p += "?" + query
		}
		resp, err := e.send(call{path: p, key: "api", id: "u1", header: map[string]string{name: value, "Authorization": "Bearer " + callerKey}})
		if err != nil {
			return // the client refused to send it
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 && resp.StatusCode != 502 {
			t.Fatalf("%s with %s: %q: status %d", p, name, value, resp.StatusCode)
		}
		reqs := up.requests()
		if len(reqs) == before {
			return // refused before calling out (a 4xx)
		}
		got := reqs[len(reqs)-1].Header
		for h, vals := range got {
			joined := strings.Join(vals, ",")
			if strings.Contains(joined, callerKey) {
				t.Fatalf("the upstream received the caller's secret key in %s", h)
			}
			switch h {
			case "Content-Type", "Accept", "User-Agent", "Accept-Encoding", "Content-Length":
				continue
			case "Authorization":
				// HTTP drops the spaces and tabs around a header value
				// (RFC 9110 §5.5), so the caller's own value arrives trimmed.
				if joined != "Bearer at-1" && !(strings.EqualFold(canon, proxy.ForwardPrefix+"Authorization") && joined == strings.Trim(value, " \t")) {
					t.Fatalf("upstream Authorization %q", joined)
				}
				continue
			}
			rest, ok := strings.CutPrefix(strings.ToLower(canon), strings.ToLower(proxy.ForwardPrefix))
			if !ok || textproto.CanonicalMIMEHeaderKey(rest) != h {
				t.Fatalf("the upstream received %s: %q (sent %s: %q)", h, joined, name, value)
			}
		}
	})
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
