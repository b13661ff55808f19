package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// walkthrough is the "from nango serve to a proxied call" section of
// docs/cli.md, read from the file.
type walkthrough struct {
	helloBody  string            // what step 1 writes to demo-api/hello.json
	providers  string            // the providers.yaml of step 2
	exports    map[string]string // export NAME=value lines
	serveEnv   map[string]string // NAME=value before `nango serve`
	commands   [][]string        // the nango commands after serve, in order
	wantStdout []string          // the output block
}

// readWalkthrough parses the section between the walkthrough markers.
func readWalkthrough(t *testing.T, path string) walkthrough {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- walkthrough:begin -->")
	section, _, ok2 := strings.Cut(rest, "<!-- walkthrough:end -->")
	if !ok || !ok2 {
		t.Fatalf("%s has no walkthrough markers", path)
	}
	w := walkthrough{exports: map[string]string{}, serveEnv: map[string]string{}}
	blocks := regexp.MustCompile("(?s)```([a-z]*)\n(.*?)```").FindAllStringSubmatch(section, -1)
	served := false
	for _, b := range blocks {
		lang, body := b[1], b[2]
		switch lang {
		case "yaml":
			w.providers = body
		case "":
			w.wantStdout = strings.Split(strings.TrimRight(body, "\n"), "\n")
		case "sh":
			for _, line := range strings.Split(body, "\n") {
				line = strings.TrimSpace(line)
				if m := regexp.MustCompile(`echo '([^']*)' > demo-api/hello\.json`).FindStringSubmatch(line); m != nil {
					w.helloBody = m[1] + "\n"
				}
				words := shellWords(t, line)
				switch {
				case len(words) == 0:
				case words[0] == "export":
					for _, kv := range words[1:] {
						k, v, _ := strings.Cut(kv, "=")
						w.exports[k] = v
					}
				case strings.Contains(line, "nango serve"):
					for _, kv := range words {
						if k, v, ok := strings.Cut(kv, "="); ok {
							w.serveEnv[k] = v
						}
					}
					served = true
				case words[0] == "nango" && served:
					w.commands = append(w.commands, words[1:])
				}
			}
		}
	}
	if w.helloBody == "" || w.providers == "" || !served || len(w.commands) == 0 || len(w.wantStdout) == 0 {
		t.Fatalf("walkthrough incomplete: %+v", w)
	}
	return w
}

// shellWords splits a command line as sh would, for the quoting the
// walkthrough uses ('…', "…", \).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '#' && !inWord:
			return words
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unbalanced ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 || strings.ContainsAny(line[i+1:i+1+j], "$`\\") {
				t.Fatalf("unsupported double quotes in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '$' || c == '`' || c == '|' || c == '<' || c == '>' || c == ';':
			if strings.HasPrefix(strings.TrimSpace(line), "nango ") {
				t.Fatalf("the walkthrough's nango commands must be plain (no %q): %q", c, line)
			}
			cur.WriteByte(c)
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// lockedBuffer is a log sink for the server's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWalkthrough runs docs/cli.md's walkthrough as written: its provider
// file (the API's URL replaced by a local httptest server that serves its
// hello.json), `nango serve` with its environment (plus a free port), then
// its commands in order, comparing their stdout with the documented output.
func TestWalkthrough(t *testing.T) {
	w := readWalkthrough(t, "../../docs/cli.md")

	var mu sync.Mutex
	var apiAuth []string
	api := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiAuth = append(apiAuth, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path != "/hello.json" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(w.helloBody))
	}))
	defer api.Close()
	const docAPI = "http://127.0.0.1:8081"
	if !strings.Contains(w.providers, docAPI) {
		t.Fatalf("the walkthrough's provider file does not point at %s:\n%s", docAPI, w.providers)
	}

	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("providers.yaml", []byte(strings.ReplaceAll(w.providers, docAPI, api.URL)), 0o600); err != nil {
		t.Fatal(err)
	}

	// nango serve, in-process, on a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	serveEnv := map[string]string{"SERVER_PORT": fmt.Sprint(port), "TELEMETRY": "false"}
	for k, v := range w.exports {
		serveEnv[k] = v
	}
	for k, v := range w.serveEnv {
		serveEnv[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	serveLogs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve"}, IO{Stdout: serveLogs, Stderr: serveLogs, DotenvPath: "-",
			Env: func(k string) (string, bool) { v, ok := serveEnv[k]; return v, ok }})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("nango serve exited %d:\n%s", code, serveLogs.String())
			}
		case <-time.After(15 * time.Second):
			t.Errorf("nango serve did not stop")
		}
	}()
	host := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, host, done, serveLogs)

	// The commands, in order, with the exported variables and the port.
	env := map[string]string{"NANGO_HOSTPORT": host}
	for k, v := range w.exports {
		env[k] = v
	}
	var stdout []string
	for _, args := range w.commands {
		r := runCLI(env, "", args...)
		if r.code != ExitOK {
			t.Fatalf("nango %s: %v", strings.Join(args, " "), r)
		}
		if !strings.Contains(r.stderr, "Using nango at "+host) {
			t.Errorf("nango %s: stderr %q", args[0], r.stderr)
		}
		stdout = append(stdout, strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")...)
	}
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	got := stamp.ReplaceAllString(strings.Join(stdout, "\n"), "<time>")
	want := stamp.ReplaceAllString(strings.Join(w.wantStdout, "\n"), "<time>")
	if got != want {
		t.Errorf("stdout of the walkthrough:\n%s\nwant (docs/cli.md):\n%s", got, want)
	}

	// The API got the call with the imported token.
	token := ""
	for _, args := range w.commands {
		for i, a := range args {
			if a == "--access-token" && i+1 < len(args) {
				token = args[i+1]
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if token == "" || len(apiAuth) != 1 || apiAuth[0] != "GET /hello.json Bearer "+token {
		t.Errorf("the API received %q", apiAuth)
	}
}

// waitHealthy waits until the server answers /health.
func waitHealthy(t *testing.T, host string, done chan int, logs *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("nango serve exited %d:\n%s", code, logs.String())
		default:
		}
		resp, err := http.Get(host + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nango serve did not become healthy:\n%s", logs.String())
}
