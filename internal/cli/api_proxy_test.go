package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProxy(t *testing.T) {
	s := startCLIServer(t, nil)
	s.createIntegrations(t)
	s.mustRun(t, "connection:import", "oauth2", "u1", "--access-token", "at-proxy", "--expires-in", "3600")
	s.mustRun(t, "connection:import", "apikey", "k1", "--api-key", "key-proxy")
	file := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(file, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--integration", "oauth2", "--connection", "u1"}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  recorded // what the provider saw
	}{
		{
			name: "get with query and header",
			args: append([]string{"proxy", "get", "/users/me?page=2", "--query", "per_page=5", "-H", "X-Trace: t-1"}, base...),
			want: recorded{Method: "GET", Path: "/api/users/me", Query: "page=2&per_page=5", Auth: "Bearer at-proxy", Trace: "t-1"},
		},
		{
			name: "post text",
			args: append([]string{"proxy", "POST", "items", "--data", `{"a":1}`}, base...),
			want: recorded{Method: "POST", Path: "/api/items", Auth: "Bearer at-proxy", ContentType: "application/json", Body: `{"a":1}`},
		},
		{
			name: "put a file with its content type",
			args: append([]string{"proxy", "PUT", "/files/x", "--data", "@" + file, "--header", "Content-Type: text/plain"}, base...),
			want: recorded{Method: "PUT", Path: "/api/files/x", Auth: "Bearer at-proxy", ContentType: "text/plain", Body: `{"from":"file"}`},
		},
		{
			name:  "patch from stdin",
			stdin: "streamed body",
			args:  append([]string{"proxy", "PATCH", "/s", "--data", "-"}, base...),
			want:  recorded{Method: "PATCH", Path: "/api/s", Auth: "Bearer at-proxy", ContentType: "application/json", Body: "streamed body"},
		},
		{
			name: "api key connection",
			args: []string{"proxy", "DELETE", "/things/1", "--integration", "apikey", "--connection", "k1"},
			want: recorded{Method: "DELETE", Path: "/api/things/1", APIKey: "key-proxy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.runStdin(tt.stdin, tt.args...)
			if r.code != 0 {
				t.Fatalf("proxy: %v", r)
			}
			var got recorded
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("stdout is not the provider's body: %v\n%v", err, r)
			}
			if got != tt.want || *s.up.last() != tt.want {
				t.Errorf("provider saw %+v (stdout %+v), want %+v", *s.up.last(), got, tt.want)
			}
			if !strings.Contains(r.stderr, "Using nango at "+s.url) {
				t.Errorf("stderr = %q", r.stderr)
			}
		})
	}
}

func TestProxyErrorsAndRetries(t *testing.T) {
	s := startCLIServer(t, nil)
	s.createIntegrations(t)
	s.mustRun(t, "connection:import", "oauth2", "u1", "--access-token", "at-proxy")

	// The provider's error: its body on stdout, exit 1.
	r := s.run("proxy", "GET", "/missing", "--integration", "oauth2", "--connection", "u1")
	if r.code != ExitError || r.stdout != `{"message":"Not Found"}` || !strings.Contains(r.stderr, "❌ the provider answered 404 Not Found") {
		t.Errorf("upstream 404: %v", r)
	}

	// The proxy's own error.
	wantServerError(t, s.run("proxy", "GET", "/x", "--integration", "oauth2", "--connection", "nobody"),
		"No connection matching params 'connection_id' and 'provider_config_key'.", "unkown_connection")

	// Retries: two 503s, then the answer; -i shows the attempts.
	s.up.fail503.Store(2)
	r = s.run("proxy", "GET", "/retry", "--retries", "3", "-i", "--integration", "oauth2", "--connection", "u1")
	if r.code != 0 || !strings.Contains(r.stdout, `"Path":"/api/retry"`) {
		t.Fatalf("retried proxy: %v", r)
	}
	if !strings.Contains(r.stderr, "200 OK") || !strings.Contains(r.stderr, "X-Nango-Proxy-Attempts: 3") || !strings.Contains(r.stderr, "X-Upstream: yes") {
		t.Errorf("-i output:\n%s", r.stderr)
	}
	// Without retries the 503 is the answer.
	s.up.fail503.Store(1)
	r = s.run("proxy", "GET", "/retry", "--integration", "oauth2", "--connection", "u1")
	if r.code != ExitError || r.stdout != "try again" || !strings.Contains(r.stderr, "503 Service Unavailable") {
		t.Errorf("503 without retries: %v", r)
	}
}
