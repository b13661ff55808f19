package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// slowProvider is an OAuth 2 token endpoint that announces each request on
// arrived and answers after delay with tokens numbered by request.
type slowProvider struct {
	*httptest.Server
	arrived chan string // grant_type of each request
	delay   atomic.Int64
	n       atomic.Int64
}

func newSlowProvider(t *testing.T) *slowProvider {
	p := &slowProvider{arrived: make(chan string, 16)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		n := p.n.Add(1)
		p.arrived <- r.PostForm.Get("grant_type")
		select {
		case <-time.After(time.Duration(p.delay.Load())):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", n), "refresh_token": fmt.Sprintf("rt-%d", n), "expires_in": 3600})
	}))
	t.Cleanup(p.Close)
	return p
}

// sigtermEnv is a data directory with a providers file naming the slow
// provider, shared by the runs of the binary in one test.
type sigtermEnv struct {
	dir  string
	prov *slowProvider
	env  []string
}

func newSigtermEnv(t *testing.T) *sigtermEnv {
	e := &sigtermEnv{dir: t.TempDir(), prov: newSlowProvider(t)}
	tmpl := "slow:\n  auth_mode: OAUTH2\n  authorization_url: " + e.prov.URL + "/authorize\n  token_url: " + e.prov.URL + "/token\n"
	pf := filepath.Join(e.dir, "providers.yaml")
	if err := os.WriteFile(pf, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	e.env = []string{"NANGO_PROVIDERS_FILE=" + pf}
	return e
}

func (e *sigtermEnv) start(t *testing.T, extra ...string) (*exec.Cmd, string, func() string) {
	cmd, base, logs := startBinary(t, e.dir, append(append([]string{}, e.env...), extra...)...)
	return cmd, base, logs.String
}

func call(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

// storedTokens reads u1's credentials through the API of a fresh run.
func storedTokens(t *testing.T, base string) (at, rt string, found bool) {
	t.Helper()
	s, body := call(t, "GET", base+"/connection/u1?provider_config_key=slow", "")
	if s == 400 && strings.Contains(body, "unkown_connection") {
		return "", "", false
	}
	var c struct {
		Credentials struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"credentials"`
	}
	if s != 200 || json.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("reading u1: %d %s", s, body)
	}
	return c.Credentials.AccessToken, c.Credentials.RefreshToken, true
}

func integrityOK(t *testing.T, dir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "nango-data", "nango.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

// startCallback runs the popup up to the provider and returns the callback
// URL carrying the flow's state.
func startCallback(t *testing.T, base string) string {
	t.Helper()
	s, loc := call(t, "GET", base+"/oauth/connect/slow?connection_id=u1", "")
	if s != http.StatusFound {
		t.Fatalf("connect: %d %s", s, loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return base + "/oauth/callback?code=the-code&state=" + url.QueryEscape(u.Query().Get("state"))
}

// TestSIGTERMDuringCallback stops the server while a callback waits for
// the provider's token endpoint. With the shutdown timeout longer than the
// wait, the callback finishes (200, connection stored) before the process
// exits 0; with a shorter one the process exits at the timeout and the
// flow is cleanly not done: no connection, an intact database, and a new
// flow works after a restart.
func TestSIGTERMDuringCallback(t *testing.T) {
	t.Run("finishes within the shutdown timeout", func(t *testing.T) {
		e := newSigtermEnv(t)
		e.prov.delay.Store(int64(2 * time.Second))
		cmd, base, logs := e.start(t)
		if s, b := call(t, "POST", base+"/config", `{"provider_config_key":"slow","provider":"slow","oauth_client_id":"id","oauth_client_secret":"sec"}`); s != 200 {
			t.Fatalf("create: %d %s", s, b)
		}
		cb := startCallback(t, base)
		done := make(chan int, 1)
		go func() { s, _ := call(t, "GET", cb, ""); done <- s }()
		<-e.prov.arrived
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if s := <-done; s != 200 {
			t.Errorf("callback during shutdown: %d", s)
		}
		if err := waitExit(cmd, 15*time.Second); err != nil {
			t.Fatalf("exit: %v\n%s", err, logs())
		}
		integrityOK(t, e.dir)
		_, base, _ = e.start(t)
		if at, rt, ok := storedTokens(t, base); !ok || at != "at-1" || rt != "rt-1" {
			t.Errorf("after restart: %q %q %v", at, rt, ok)
		}
	})
	t.Run("cut by a short shutdown timeout", func(t *testing.T) {
		e := newSigtermEnv(t)
		e.prov.delay.Store(int64(5 * time.Second))
		cmd, base, logs := e.start(t, "NANGO_SHUTDOWN_TIMEOUT=1s")
		if s, b := call(t, "POST", base+"/config", `{"provider_config_key":"slow","provider":"slow","oauth_client_id":"id","oauth_client_secret":"sec"}`); s != 200 {
			t.Fatalf("create: %d %s", s, b)
		}
		cb := startCallback(t, base)
		go func() { _, _ = call(t, "GET", cb, "") }()
		<-e.prov.arrived
		start := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := waitExit(cmd, 10*time.Second); err != nil {
			t.Fatalf("exit: %v\n%s", err, logs())
		}
		t.Logf("exited %v after SIGTERM", time.Since(start))
		integrityOK(t, e.dir)
		e.prov.delay.Store(0)
		_, base, _ = e.start(t)
		if at, rt, ok := storedTokens(t, base); ok {
			t.Errorf("a cut flow stored a connection: %q %q", at, rt)
		}
		// A new flow works.
		cb = startCallback(t, base)
		if s, b := call(t, "GET", cb, ""); s != 200 {
			t.Errorf("a new flow after restart: %d %s", s, b)
		}
		if _, _, ok := storedTokens(t, base); !ok {
			t.Error("the new flow stored nothing")
		}
	})
}

// TestSIGTERMDuringRefresh stops the server while a forced refresh waits
// for the provider. With a long enough shutdown timeout the refresh
// finishes and its new tokens are stored; with a short one the process
// exits and the stored credentials are either the old pair or the new
// pair, never a mix, and after a restart refreshing works again (the dead
// instance's refresh lease expires by itself).
func TestSIGTERMDuringRefresh(t *testing.T) {
	setup := func(t *testing.T, e *sigtermEnv, extra ...string) (*exec.Cmd, string, func() string) {
		cmd, base, logs := e.start(t, extra...)
		if s, b := call(t, "POST", base+"/config", `{"provider_config_key":"slow","provider":"slow","oauth_client_id":"id","oauth_client_secret":"sec"}`); s != 200 {
			t.Fatalf("create: %d %s", s, b)
		}
		if s, b := call(t, "POST", base+"/connection", `{"provider_config_key":"slow","connection_id":"u1","access_token":"at-0","refresh_token":"rt-0","expires_in":3600}`); s != 201 {
			t.Fatalf("import: %d %s", s, b)
		}
		return cmd, base, logs
	}
	t.Run("finishes within the shutdown timeout", func(t *testing.T) {
		e := newSigtermEnv(t)
		e.prov.delay.Store(int64(2 * time.Second))
		cmd, base, logs := setup(t, e)
		done := make(chan string, 1)
		go func() {
			_, b := call(t, "GET", base+"/connection/u1?provider_config_key=slow&force_refresh=true", "")
			done <- b
		}()
		<-e.prov.arrived
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if b := <-done; !strings.Contains(b, `"access_token":"at-1"`) {
			t.Errorf("refresh during shutdown answered %s", b)
		}
		if err := waitExit(cmd, 15*time.Second); err != nil {
			t.Fatalf("exit: %v\n%s", err, logs())
		}
		integrityOK(t, e.dir)
		_, base, _ = e.start(t)
		if at, rt, _ := storedTokens(t, base); at != "at-1" || rt != "rt-1" {
			t.Errorf("after restart: %q %q, want the refreshed pair", at, rt)
		}
	})
	t.Run("cut by a short shutdown timeout", func(t *testing.T) {
		e := newSigtermEnv(t)
		e.prov.delay.Store(int64(5 * time.Second))
		cmd, base, logs := setup(t, e, "NANGO_SHUTDOWN_TIMEOUT=1s")
		go func() { _, _ = call(t, "GET", base+"/connection/u1?provider_config_key=slow&force_refresh=true", "") }()
		<-e.prov.arrived
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := waitExit(cmd, 10*time.Second); err != nil {
			t.Fatalf("exit: %v\n%s", err, logs())
		}
		integrityOK(t, e.dir)
		e.prov.delay.Store(0)
		_, base, _ = e.start(t)
		at, rt, ok := storedTokens(t, base)
		if !ok || !(at == "at-0" && rt == "rt-0" || at == "at-1" && rt == "rt-1") {
			t.Fatalf("after the cut refresh: %q %q %v: neither the old nor the new pair", at, rt, ok)
		}
		// Refreshing works again once the dead holder's lease expires.
		start := time.Now()
		s, b := call(t, "GET", base+"/connection/u1?provider_config_key=slow&force_refresh=true", "")
		if s != 200 || !strings.Contains(b, `"access_token":"at-`) || strings.Contains(b, `"access_token":"`+at+`"`) {
			t.Errorf("refresh after restart: %d %s", s, b)
		}
		t.Logf("refresh after restart took %v", time.Since(start))
	})
}
