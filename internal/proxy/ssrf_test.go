package proxy_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/store"
)

// TestSSRFThroughConnectionConfig tries to reach the server's own network
// through values end users and providers write (connection config) and
// through the endpoint after /proxy/: every attempt is refused before any
// request leaves, or goes to the template's host only.
func TestSSRFThroughConnectionConfig(t *testing.T) {
	internal := newUpstream(t, nil) // stands for a service on the server's network
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(internal.URL, "http://"))
	e := newEnv(t, envOptions{cfg: config.Proxy{}}) // the default: private networks refused
	e.addTemplates(`
t-host:
  auth_mode: API_KEY
  proxy:
    base_url: http://${connectionConfig.host}/api
t-sub:
  auth_mode: API_KEY
  proxy:
    base_url: https://${connectionConfig.subdomain}.example.test/api
t-whole:
  auth_mode: API_KEY
  proxy:
    base_url: ${connectionConfig.instance_url}
`)
	e.integration("host", "t-host", "", "")
	e.integration("sub", "t-sub", "", "")
	e.integration("whole", "t-whole", "", "")
	key := store.Credentials{Type: store.APIKey, APIKey: "k"}
	tests := []struct {
		name, integ, field, value string
		status                    int
		typ                       string
	}{
		{"loopback address", "host", "host", "127.0.0.1:" + port, 403, "upstream_not_allowed"},
		{"name resolving to loopback", "host", "host", "localhost:" + port, 403, "upstream_not_allowed"},
		{"IPv6 literal", "host", "host", "[::1]:" + port, 400, "invalid_connection_config"},
		{"userinfo @", "host", "host", "good.example@127.0.0.1:" + port, 400, "invalid_connection_config"},
		{"backslash", "host", "host", "good.example\\@127.0.0.1:" + port, 400, "invalid_connection_config"},
		{"encoded slash", "host", "host", "127.0.0.1%2F:" + port, 400, "invalid_connection_config"},
		{"path injection", "host", "host", "127.0.0.1:" + port + "/x?", 400, "invalid_connection_config"},
		{"whitespace", "host", "host", "127.0.0.1 :" + port, 400, "invalid_connection_config"},
		{"subdomain with a path", "sub", "subdomain", "127.0.0.1:" + port + "/", 400, "invalid_connection_config"},
		{"subdomain with a fragment", "sub", "subdomain", "127.0.0.1:" + port + "#", 400, "invalid_connection_config"},
		{"whole URL, loopback", "whole", "instance_url", "http://127.0.0.1:" + port, 403, "upstream_not_allowed"},
		{"whole URL, localhost", "whole", "instance_url", "http://localhost:" + port + "/", 403, "upstream_not_allowed"},
		{"whole URL, IPv6 loopback", "whole", "instance_url", "http://[::1]:" + port + "/", 403, "upstream_not_allowed"},
		{"whole URL, IPv4-mapped IPv6", "whole", "instance_url", "http://[::ffff:127.0.0.1]:" + port + "/", 403, "upstream_not_allowed"},
		{"whole URL, cloud metadata", "whole", "instance_url", "http://169.254.169.254/latest/meta-data", 403, "upstream_not_allowed"},
		{"whole URL, unspecified", "whole", "instance_url", "http://0.0.0.0:" + port, 403, "upstream_not_allowed"},
		{"whole URL with credentials", "whole", "instance_url", "http://u:p@127.0.0.1:" + port, 400, "invalid_connection_config"},
		{"whole URL, not http", "whole", "instance_url", "file:///etc/passwd", 400, "invalid_connection_config"},
		{"whole URL, gopher", "whole", "instance_url", "gopher://127.0.0.1:" + port + "/_x", 400, "invalid_connection_config"},
		{"whole URL, fragment trick", "whole", "instance_url", "http://127.0.0.1:" + port + "#@good.example", 400, "invalid_connection_config"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "c" + string(rune('a'+i))
			e.connection(tc.integ, id, key, map[string]any{tc.field: tc.value})
			wantError(t, e.do(call{path: "/proxy/x", key: tc.integ, id: id}), tc.status, tc.typ)
			if n := len(internal.requests()); n != 0 {
				t.Fatalf("the internal service received %d requests", n)
			}
		})
	}
}

// TestEndpointCannotChangeHost sends endpoints after /proxy/ that would
// name another host if read as URLs: they stay paths on the template's
// host.
func TestEndpointCannotChangeHost(t *testing.T) {
	up := newUpstream(t, echo)
	other := newUpstream(t, nil)
	otherHost := strings.TrimPrefix(other.URL, "http://")
	e := simple(t, envOptions{}, up)
	for _, ep := range []string{
		"@" + otherHost + "/x", "/" + otherHost + "/x", "//" + otherHost + "/x", "http://" + otherHost + "/x",
		"%2F%2F" + otherHost + "/x", "\\\\" + otherHost + "\\x", "..%2F..%2F" + otherHost, "http:%2F%2F" + otherHost,
	} {
		resp := e.do(call{path: "/proxy/" + ep, key: "api", id: "u1"})
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("endpoint %q: %d %s", ep, resp.StatusCode, body)
			continue
		}
		if !strings.Contains(body, `"path"`) {
			t.Errorf("endpoint %q: the template's host did not answer: %s", ep, body)
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("another host received %d requests", n)
	}
}

// TestBaseURLOverrideOffByDefault checks the override header cannot move
// a call unless the operator enabled it.
func TestBaseURLOverrideOffByDefault(t *testing.T) {
	up := newUpstream(t, nil)
	other := newUpstream(t, nil)
	e := simple(t, envOptions{}, up)
	for _, v := range []string{other.URL, "http://169.254.169.254/", "http://localhost/"} {
		wantError(t, e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Base-Url-Override": v}}), 403, "base_url_override_not_allowed")
	}
	if len(other.requests())+len(up.requests()) != 0 {
		t.Fatal("a request left")
	}
}
