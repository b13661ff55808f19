package server_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store/sqlite"
)

// apiCall makes one authenticated API call and returns status, type and
// duration.
func apiCall(t *testing.T, inst *instance, key, method, path, body string) (int, string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest(method, inst.http.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := (&http.Client{Timeout: 120 * time.Second}).Do(req)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s %s: %v after %v", method, path, err, took)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	typ := ""
	if i := strings.Index(string(data), `"type":"`); i >= 0 {
		typ = strings.SplitN(string(data)[i+8:], `"`, 2)[0]
	}
	return resp.StatusCode, typ, took
}

func importBody(id string) string {
	return `{"provider_config_key":"gh","connection_id":"` + id + `","access_token":"at-` + id + `","metadata":{"pad":"` + strings.Repeat("p", 2000) + `"}}`
}

// TestSQLiteLockedByAnotherProcess holds the database file's write lock
// from another process (the sqlite3 shell in BEGIN EXCLUSIVE) while
// several writes arrive: each fails with 503 database_unavailable once the
// busy timeout has passed — not later, even when they queue for the one
// writer connection — reads keep working, and writes succeed again once
// the lock is released.
func TestSQLiteLockedByAnotherProcess(t *testing.T) {
	shell, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("the sqlite3 shell is not installed (apt-get install sqlite3)")
	}
	const key = "fault-key"
	dir := t.TempDir()
	inst := start(t, map[string]string{"NANGO_DATA_DIR": dir, "NANGO_SECRET_KEY": key, "LOG_LEVEL": "warn"})
	seedGitHub(t, inst, key)
	if s, _, _ := apiCall(t, inst, key, "POST", "/connection", importBody("before")); s != 201 {
		t.Fatalf("import before the lock: %d", s)
	}

	cmd := exec.Command(shell, filepath.Join(dir, "nango.db"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	fmt.Fprintln(stdin, "BEGIN EXCLUSIVE; INSERT INTO meta(name, value) VALUES ('lock-test', 'x'); SELECT 'locked';")
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("the shell did not take the lock: %q %v", line, err)
	}

	const writers = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, typ, took := apiCall(t, inst, key, "POST", "/connection", importBody(fmt.Sprintf("locked-%d", i)))
			mu.Lock()
			got = append(got, fmt.Sprintf("%d %s %v", s, typ, took.Round(100*time.Millisecond)))
			mu.Unlock()
			if s != 503 || typ != "database_unavailable" {
				t.Errorf("write while locked: %d %q", s, typ)
			}
			if took > sqlite.BusyTimeout+3*time.Second {
				t.Errorf("write while locked answered after %v: more than the busy timeout (%v)", took, sqlite.BusyTimeout)
			}
		}(i)
	}
	// Reads go on (WAL readers do not wait for the writer).
	time.Sleep(500 * time.Millisecond)
	if s, _, took := apiCall(t, inst, key, "GET", "/config", ""); s != 200 || took > 2*time.Second {
		t.Errorf("read while locked: %d after %v", s, took)
	}
	wg.Wait()
	t.Logf("writes while locked: %v", got)

	fmt.Fprint(stdin, "ROLLBACK;\n.quit\n")
	_ = stdin.Close()
	_ = cmd.Wait()
	if s, _, _ := apiCall(t, inst, key, "POST", "/connection", importBody("after")); s != 201 {
		t.Errorf("import after the lock was released: %d", s)
	}
	for i := 0; i < writers; i++ {
		if s, _, _ := apiCall(t, inst, key, "GET", fmt.Sprintf("/connection/locked-%d?provider_config_key=gh", i), ""); s != 400 {
			t.Errorf("refused write locked-%d is stored (%d)", i, s)
		}
	}
}

// TestSQLiteDiskFull runs the server's data directory on a small tmpfs,
// fills it, and writes: each write fails with 503 database_unavailable
// (the log names the full disk), nothing stored before is damaged, the
// database passes its integrity check, and writes succeed again once
// space is freed — without a restart.
func TestSQLiteDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; run as root (CI containers are) to simulate a full disk")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): the full-disk case needs CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })

	const key = "fault-key"
	inst := start(t, map[string]string{"NANGO_DATA_DIR": dir, "NANGO_SECRET_KEY": key, "LOG_LEVEL": "warn"})
	seedGitHub(t, inst, key)
	for i := 0; i < 20; i++ {
		if s, typ, _ := apiCall(t, inst, key, "POST", "/connection", importBody(fmt.Sprintf("kept-%d", i))); s != 201 {
			t.Fatalf("import before the disk filled: %d %s", s, typ)
		}
	}
	// Fill the disk, leaving a few kilobytes.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	full := 0
	for i := 0; i < 30; i++ {
		s, typ, took := apiCall(t, inst, key, "POST", "/connection", importBody(fmt.Sprintf("full-%d", i)))
		switch {
		case s == 201:
			// Room for one more page: fine, until the disk is really full.
		case s == 503 && typ == "database_unavailable":
			full++
		default:
			t.Errorf("write on a full disk: %d %q", s, typ)
		}
		if took > 5*time.Second {
			t.Errorf("write on a full disk answered after %v", took)
		}
	}
	if full == 0 {
		t.Fatal("no write failed: the disk never filled")
	}
	if !strings.Contains(strings.ToLower(inst.logs.String()), "full") {
		t.Errorf("the log does not say the disk is full")
	}
	// Reads still work and nothing stored before is damaged.
	for i := 0; i < 20; i++ {
		if s, _, _ := apiCall(t, inst, key, "GET", fmt.Sprintf("/connection/kept-%d?provider_config_key=gh", i), ""); s != 200 {
			t.Errorf("kept-%d after the disk filled: %d", i, s)
		}
	}
	// Free the space: writes work again, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if s, typ, _ := apiCall(t, inst, key, "POST", "/connection", importBody("after")); s != 201 {
		t.Errorf("import after space was freed: %d %q", s, typ)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "nango.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}
