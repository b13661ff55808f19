package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the nango binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nango-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "nango")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startBinary runs `nango serve` in dir and waits for /health.
func startBinary(t *testing.T, dir string, env ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, fmt.Sprintf("SERVER_PORT=%d", port), "TELEMETRY=false"}, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for time.Since(start) < 20*time.Second {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Logf("first 200 from /health after %v", time.Since(start))
				return cmd, base, &logs
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server did not answer /health; logs:\n%s", logs.String())
	return nil, "", nil
}

// With no configuration at all, `nango serve` starts on SQLite in
// ./nango-data, keeps data across restarts, and exits 0 on SIGTERM.
func TestServeFreshDirectoryPersistsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	cmd, base, logs := startBinary(t, dir)
	body := `{"provider_config_key":"gh","provider":"github","oauth_client_id":"id","oauth_client_secret":"s","oauth_scopes":"repo"}`
	resp, err := http.Post(base+"/config", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create = %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(cmd, 10*time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "nango-data", "nango.db")); err != nil {
		t.Fatalf("no database under ./nango-data: %v", err)
	}

	_, base, _ = startBinary(t, dir)
	resp, err = http.Get(base + "/config/gh")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"unique_key":"gh"`) {
		t.Fatalf("after restart: %d %s", resp.StatusCode, data)
	}
}

func waitExit(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err // nil means exit status 0
	case <-time.After(d):
		return errors.New("did not exit in time")
	}
}

// A bad configuration exits 1 with every problem listed.
func TestServeBadConfigExitCode(t *testing.T) {
	cmd := exec.CommandContext(context.Background(), binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"SERVER_PORT=99999", "NANGO_DB_SSL=maybe"}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "SERVER_PORT") || !strings.Contains(string(out), "NANGO_DB_SSL") {
		t.Errorf("output does not list both problems:\n%s", out)
	}
}
