package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
)

// tcpProxy forwards TCP connections to a target (PostgreSQL) and can cut
// them (refuse and close everything: the database is unreachable), hold
// them (accept, forward nothing: packets dropped) and restore them. It
// records the local ports of its connections to the target, which are
// the client ports PostgreSQL sees for the server's backends.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]bool
	ports   map[int]bool
	holding bool
	held    []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]bool{}, ports: map[int]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.holding {
				p.held = append(p.held, c) // accepted, never answered
				p.mu.Unlock()
				continue
			}
			p.mu.Unlock()
			go p.pipe(c)
		}
	}()
}

func (p *tcpProxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.ports[up.LocalAddr().(*net.TCPAddr).Port] = true
	p.mu.Unlock()
	copyHalf := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				hold := p.holding
				p.mu.Unlock()
				if hold {
					continue // dropped on the floor
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go copyHalf(up, c)
	copyHalf(c, up)
}

// cut makes the database unreachable: new connections are refused and
// open ones are reset.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, as a crashed peer
		}
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// hold makes the network drop everything: connections are accepted (or
// stay open) but no byte gets through, as when packets are lost.
func (p *tcpProxy) hold() {
	p.mu.Lock()
	p.holding = true
	p.mu.Unlock()
}

// restore brings the database back on the same address.
func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.holding = false
	for _, c := range p.held {
		_ = c.Close()
	}
	p.held = nil
	open := p.ln
	p.mu.Unlock()
	// After a cut the listener is closed: listen again on the same port.
	if _, err := net.Dial("tcp", p.addr); err == nil {
		return
	}
	_ = open
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("re-listening on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *tcpProxy) clientPorts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for port := range p.ports {
		out = append(out, port)
	}
	return out
}

func (p *tcpProxy) close() {
	p.cut()
	p.mu.Lock()
	for _, c := range p.held {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// viaProxy returns dsn with its host replaced by the proxy's address.
func viaProxy(t *testing.T, dsn, addr string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// outcome is one request's result under load.
type outcome struct {
	phase    string
	op       string
	id       string
	status   int
	typ      string
	err      error
	duration time.Duration
}

// loadRun drives API requests against inst from several workers until
// stop: imports of fresh connections (writes) and integration listings
// (reads), each with a client timeout far above the fail-fast bound.
type loadRun struct {
	inst    *instance
	key     string
	phase   atomic.Value
	mu      sync.Mutex
	results []outcome
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(inst *instance, key string, workers int) *loadRun {
	l := &loadRun{inst: inst, key: key, stop: make(chan struct{})}
	l.phase.Store("before")
	hc := &http.Client{Timeout: 60 * time.Second}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				o := outcome{phase: l.phase.Load().(string)}
				var req *http.Request
				if n%2 == 0 {
					o.op, o.id = "import", fmt.Sprintf("load-%d-%d", w, n)
					req, _ = http.NewRequest("POST", inst.http.URL+"/connection", strings.NewReader(
						`{"provider_config_key":"gh","connection_id":"`+o.id+`","access_token":"at-`+o.id+`"}`))
					req.Header.Set("Content-Type", "application/json")
				} else {
					o.op = "list"
					req, _ = http.NewRequest("GET", inst.http.URL+"/config", nil)
				}
				req.Header.Set("Authorization", "Bearer "+key)
				start := time.Now()
				resp, err := hc.Do(req)
				o.duration = time.Since(start)
				if err != nil {
					o.err = err
				} else {
					var env struct{ Type string }
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					_ = json.Unmarshal(data, &env)
					o.status, o.typ = resp.StatusCode, env.Type
					if o.status == 503 && resp.Header.Get("Retry-After") == "" {
						o.typ += " (no Retry-After)"
					}
				}
				l.mu.Lock()
				l.results = append(l.results, o)
				l.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}(w)
	}
	return l
}

func (l *loadRun) finish() []outcome {
	close(l.stop)
	l.wg.Wait()
	return l.results
}

// lastOK reports whether the latest n results are all successes.
func (l *loadRun) lastOK(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.results) < n {
		return false
	}
	for _, o := range l.results[len(l.results)-n:] {
		if o.err != nil || o.status/100 != 2 {
			return false
		}
	}
	return true
}

// checkOutage checks the results of a load run across an outage: only
// successes and 503 database_unavailable (with Retry-After), none slower
// than maxWait, some 503s during the outage, and every acknowledged import
// stored — and nothing stored that was not acknowledged or refused.
func checkOutage(t *testing.T, inst *instance, key string, results []outcome, maxWait time.Duration) {
	t.Helper()
	acked := map[string]bool{}
	refused := map[string]bool{}
	var during503, duringOK int
	for _, o := range results {
		switch {
		case o.err != nil:
			t.Errorf("%s %s (%s): transport error after %v: %v", o.op, o.id, o.phase, o.duration, o.err)
		case o.status/100 == 2:
			if o.op == "import" {
				acked[o.id] = true
			}
			if o.phase == "outage" {
				duringOK++
			}
		case o.status == 503 && o.typ == "database_unavailable":
			refused[o.id] = true
			if o.phase == "outage" {
				during503++
			}
		default:
			t.Errorf("%s %s (%s): status %d %q", o.op, o.id, o.phase, o.status, o.typ)
		}
		if o.duration > maxWait {
			t.Errorf("%s %s (%s): took %v (> %v): not failing fast", o.op, o.id, o.phase, o.duration, maxWait)
		}
	}
	if during503 == 0 {
		t.Errorf("no 503 during the outage (%d successes)", duringOK)
	}
	// Nothing lost, nothing half-written.
	hc := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", inst.http.URL+"/connection", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Connections []struct {
			ConnectionID string `json:"connection_id"`
		} `json:"connections"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	stored := map[string]bool{}
	for _, c := range list.Connections {
		stored[c.ConnectionID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("import %s was acknowledged but is not stored", id)
		}
	}
	for id := range stored {
		if strings.HasPrefix(id, "load-") && !acked[id] && !refused[id] {
			t.Errorf("connection %s is stored but its import neither succeeded nor failed cleanly", id)
		}
	}
	t.Logf("%d requests: %d imports stored, %d refused with 503 during the outage", len(results), len(acked), during503)
}

// seedGitHub creates the integration the load imports into.
func seedGitHub(t *testing.T, inst *instance, key string) {
	t.Helper()
	req, _ := http.NewRequest("POST", inst.http.URL+"/config", strings.NewReader(`{"provider_config_key":"gh","provider":"github","oauth_client_id":"id","oauth_client_secret":"s"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("seeding: %d", resp.StatusCode)
	}
}

// waitRecovered waits until the load succeeds again by itself.
func waitRecovered(t *testing.T, l *loadRun, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !l.lastOK(20) {
		if time.Since(start) > within {
			t.Fatalf("the server did not recover within %v of the database coming back", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestPostgresUnreachableUnderLoad cuts the server's PostgreSQL
// connections (refused and reset, as a database host going away) while
// requests flow, then restores them: during the outage every request fails
// fast with 503 database_unavailable, afterwards the server recovers by
// itself, and no acknowledged write is lost.
func TestPostgresUnreachableUnderLoad(t *testing.T) {
	const key = "fault-key"
	px := newTCPProxy(t, pgTarget(t))
	inst := start(t, map[string]string{"NANGO_DATABASE_URL": viaProxy(t, pgtest.DSN(t), px.addr), "NANGO_SECRET_KEY": key, "LOG_LEVEL": "warn"})
	seedGitHub(t, inst, key)
	l := startLoad(inst, key, 4)
	time.Sleep(500 * time.Millisecond)
	l.phase.Store("outage")
	px.cut()
	time.Sleep(2 * time.Second)
	l.phase.Store("after")
	px.restore()
	took := waitRecovered(t, l, 15*time.Second)
	results := l.finish()
	t.Logf("recovered %v after the database came back", took)
	checkOutage(t, inst, key, results, 5*time.Second)
}

// TestPostgresUnresponsiveUnderLoad makes the network drop every byte
// between the server and PostgreSQL (connections open, nothing answers),
// then restores it: requests must still fail within a bound instead of
// hanging, and the server recovers by itself.
func TestPostgresUnresponsiveUnderLoad(t *testing.T) {
	const key = "fault-key"
	px := newTCPProxy(t, pgTarget(t))
	inst := start(t, map[string]string{"NANGO_DATABASE_URL": viaProxy(t, pgtest.DSN(t), px.addr), "NANGO_SECRET_KEY": key, "LOG_LEVEL": "warn"})
	seedGitHub(t, inst, key)
	l := startLoad(inst, key, 4)
	time.Sleep(500 * time.Millisecond)
	l.phase.Store("outage")
	px.hold()
	time.Sleep(15 * time.Second)
	l.phase.Store("after")
	px.restore()
	px.cut() // the held connections are dead: reset them, as TCP would in the end
	px.restore()
	took := waitRecovered(t, l, 30*time.Second)
	results := l.finish()
	t.Logf("recovered %v after the network came back", took)
	// A statement is bounded (10 s), so is a connect (5 s): a request may
	// wait for one of each.
	checkOutage(t, inst, key, results, 13*time.Second)
}

// TestPostgresRestartUnderLoad terminates every backend of the server (as
// a PostgreSQL restart does; pg_terminate_backend on this test's own
// connections only, never the shared service) several times while
// requests flow: requests fail with 503 or succeed, the server reconnects
// by itself, and no acknowledged write is lost.
func TestPostgresRestartUnderLoad(t *testing.T) {
	const key = "fault-key"
	dsn := pgtest.DSN(t)
	px := newTCPProxy(t, pgTarget(t))
	inst := start(t, map[string]string{"NANGO_DATABASE_URL": viaProxy(t, dsn, px.addr), "NANGO_SECRET_KEY": key, "LOG_LEVEL": "warn"})
	seedGitHub(t, inst, key)
	l := startLoad(inst, key, 4)
	time.Sleep(500 * time.Millisecond)
	admin, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	l.phase.Store("outage")
	killed := 0
	for i := 0; i < 5; i++ {
		var n int
		if err := admin.QueryRow(context.Background(),
			`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE client_addr = '127.0.0.1' AND client_port = ANY($1) AND pid <> pg_backend_pid()`,
			px.clientPorts()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		killed += n
		time.Sleep(300 * time.Millisecond)
	}
	l.phase.Store("after")
	if killed == 0 {
		t.Fatal("no backend of the server was terminated")
	}
	took := waitRecovered(t, l, 15*time.Second)
	results := l.finish()
	t.Logf("%d backends terminated; recovered %v after the last", killed, took)
	// Terminated backends fail the statements they were running: those
	// answer 503; the rest succeed. Both are "outage" outcomes, so a run
	// with no 503 at all is possible only if no statement was running.
	checkOutage(t, inst, key, results, 5*time.Second)
	// Events between instances flow again: the LISTEN connection, killed
	// too, came back by itself.
	events, cancel := inst.srv.Store().Subscribe()
	defer cancel()
	deadline := time.After(15 * time.Second)
	got := false
	for !got {
		if err := inst.srv.Store().Publish(context.Background(), store.Event{Topic: "fault-test", Payload: "ping"}); err != nil {
			t.Logf("publish: %v", err)
		}
		select {
		case ev := <-events:
			got = ev.Topic == "fault-test"
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event received after the restarts: the listener did not reconnect")
		}
	}
	// The server is ready again.
	resp, err := http.Get(inst.http.URL + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/ready = %d after the restarts", resp.StatusCode)
	}
}

// pgTarget is host:port of the test database.
func pgTarget(t *testing.T) string {
	t.Helper()
	dsn := pgtest.DSN(t) // skips without PostgreSQL
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("the fault tests need a URL-form %s", pgtest.EnvURL)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(host, port)
}
