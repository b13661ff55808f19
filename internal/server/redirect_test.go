package server_test

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestNoOpenRedirect sends paths and parameters that try to make the
// server redirect a browser elsewhere (double slashes, backslashes,
// encoded slashes, dot segments, next/return/redirect parameters) to the
// dashboard, the API and the public routes: every redirect stays on the
// server (a path, never "//host" or "/\host" or an absolute URL).
func TestNoOpenRedirect(t *testing.T) {
	inst := start(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_DASHBOARD_USERNAME": "admin", "NANGO_DASHBOARD_PASSWORD": "pw"})
	addr := strings.TrimPrefix(inst.http.URL, "http://")
	auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("admin:pw")) + "\r\n"
	targets := []string{
		"//evil.example/", "///evil.example/", "/\\evil.example/", "/\\/evil.example/", "/%2F%2Fevil.example/",
		"/..//evil.example/", "/./evil.example/..//evil.example", "/integrations/..//evil.example", "/static//evil.example",
		"/integrations//evil.example", "/%5C%5Cevil.example", "/oauth/connect//evil.example", "/config/..%2F..%2Fevil.example",
		"/?next=https://evil.example/", "/integrations?return=//evil.example", "/connections/detail?integration=a&id=b&redirect=https://evil.example",
		"/integrations/edit?key=%2F%2Fevil.example", "/connections?flash=%2F%2Fevil.example", "/http://evil.example/",
	}
	redirects := 0
	for _, target := range targets {
		for _, withAuth := range []bool{false, true} {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			req := "GET " + target + " HTTP/1.1\r\nHost: " + addr + "\r\n"
			if withAuth {
				req += auth
			}
			req += "Connection: close\r\n\r\n"
			if _, err := c.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if err != nil {
				t.Errorf("GET %s: %v", target, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("GET %s: %d", target, resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if loc == "" {
				continue
			}
			redirects++
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("GET %s (auth %v): %d redirects to %q", target, withAuth, resp.StatusCode, loc)
			}
		}
	}
	if redirects < 5 {
		t.Errorf("only %d redirects seen: the check could not fail", redirects)
	}
	t.Logf("%d redirects, all on the server", redirects)
}
