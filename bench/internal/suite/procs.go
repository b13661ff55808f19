package suite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the suite started.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves on
	done chan struct{}
	err  error
}

// Pid is the process id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits (SIGKILL after 30 s).
func (p *proc) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		return p.err
	}
	return nil
}

func (p *proc) watch() {
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
}

// startHelper runs one of nbench's own servers ("hello", "provider") and
// reads its address from the first line it prints.
func startHelper(self, name string, logTo io.Writer, args ...string) (*proc, error) {
	cmd := exec.Command(self, append([]string{name, "-addr", "127.0.0.1:0"}, args...)...)
	cmd.Stderr = logTo
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd}
	p.watch()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%s did not print its address: %w", name, err)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return p, nil
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// nangoSpec says how to run a nango server.
type nangoSpec struct {
	bin  string
	env  []string // KEY=value, on top of a minimal environment
	log  string   // file receiving its stderr and stdout (appended)
	port int
}

// startNango starts the server and waits until probe answers 200; it
// returns the time from exec to that first 200.
func startNango(ctx context.Context, s nangoSpec, probe func(addr string) bool) (*proc, time.Duration, error) {
	lf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(s.bin, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "SERVER_PORT=" + strconv.Itoa(s.port)}, s.env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, 0, err
	}
	p := &proc{name: "nango", cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(s.port)}
	p.watch()
	go func() { <-p.done; lf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if probe(p.addr) {
			return p, time.Since(start), nil
		}
		select {
		case <-p.done:
			return nil, 0, fmt.Errorf("nango exited during start-up (%v); see %s", p.err, s.log)
		case <-ctx.Done():
			_ = p.stop()
			return nil, 0, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, 0, fmt.Errorf("nango did not answer within 60 s; see %s", s.log)
		}
		time.Sleep(time.Millisecond)
	}
}

// probeClient has no keep-alive: each probe is a fresh connection, as a
// first request after start-up would be.
var probeClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// probeGET returns a probe that is true when GET path answers 200.
func probeGET(path string, header http.Header) func(addr string) bool {
	return func(addr string) bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Header = header.Clone()
		resp, err := probeClient.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// Memory is a process's resident set, from /proc/<pid>/status.
type Memory struct {
	RSS int64 `json:"rss_bytes"` // VmRSS
	HWM int64 `json:"hwm_bytes"` // VmHWM: the peak since start
}

// readMemory reads VmRSS and VmHWM of pid.
func readMemory(pid int) (Memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
	}
	return m, nil
}

// rssSampler records the largest VmRSS of a process while it runs.
type rssSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	max  int64
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	if pid == 0 {
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.mu.Lock()
				s.max = max(s.max, m.RSS)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// done stops sampling and returns the largest VmRSS seen.
func (s *rssSampler) done() int64 {
	close(s.stop)
	s.wg.Wait()
	return s.max
}
