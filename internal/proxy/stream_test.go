package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pattern is the byte at position pos of a generated stream.
func pattern(pos int64) byte { return byte(pos ^ pos>>11 ^ pos>>23) }

// generator yields n pattern bytes without holding them.
type generator struct{ pos, n int64 }

func (g *generator) Read(p []byte) (int, error) {
	if g.pos >= g.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if rest := g.n - g.pos; k > rest {
		k = rest
	}
	for i := int64(0); i < k; i++ {
		p[i] = pattern(g.pos + i)
	}
	g.pos += k
	return int(k), nil
}

// checker consumes a stream and checks it is the pattern.
type checker struct {
	pos int64
	bad int64 // first wrong position + 1, 0 if none
}

func (c *checker) Write(p []byte) (int, error) {
	for i, b := range p {
		if c.bad == 0 && b != pattern(c.pos+int64(i)) {
			c.bad = c.pos + int64(i) + 1
		}
	}
	c.pos += int64(len(p))
	return len(p), nil
}

// heapWatch samples HeapInuse until stopped and reports the peak growth
// over the starting (post-GC) value.
type heapWatch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapWatch{base: ms.HeapInuse, stop: make(chan struct{}), done: make(chan struct{})}
	h.peak.Store(ms.HeapInuse)
	go func() {
		defer close(h.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > h.peak.Load() {
					h.peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	return h
}

func (h *heapWatch) growth() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load() - h.base
}

// maxHeapGrowth is the bound on peak heap growth while 200 MB stream
// through the proxy (client, proxy, upstream and store all in this process).
const maxHeapGrowth = 8 << 20

func TestStream200MBEachWayInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 400 MB")
	}
	const size = 200 << 20
	up := newUpstream(t, nil)
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet: // download: chunked, no length known up front
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = io.CopyBuffer(w, &generator{n: size}, make([]byte, 32<<10))
		case http.MethodPut: // upload: read and check as it arrives
			var c checker
			_, err := io.CopyBuffer(&c, r.Body, make([]byte, 32<<10))
			_ = json.NewEncoder(w).Encode(map[string]any{"bytes": c.pos, "bad": c.bad, "err": fmt.Sprint(err), "length": r.ContentLength})
		}
	})
	e := simple(t, envOptions{}, up)

	t.Run("download", func(t *testing.T) {
		h := watchHeap()
		start := time.Now()
		resp := e.do(call{path: "/proxy/big", key: "api", id: "u1"})
		var c checker
		_, err := io.CopyBuffer(&c, resp.Body, make([]byte, 32<<10))
		_ = resp.Body.Close()
		grew := h.growth()
		took := time.Since(start)
		if err != nil || resp.StatusCode != 200 || c.pos != size || c.bad != 0 {
			t.Fatalf("status %d, %d bytes (bad at %d), err %v", resp.StatusCode, c.pos, c.bad-1, err)
		}
		t.Logf("download: 200 MB in %s (%.0f MB/s), peak heap growth %.2f MB", took.Round(time.Millisecond), 200/took.Seconds(), float64(grew)/(1<<20))
		if grew > maxHeapGrowth {
			t.Errorf("peak heap grew %d bytes while streaming; bound %d", grew, maxHeapGrowth)
		}
	})

	for _, tt := range []struct {
		name    string
		retries string
		length  int64
	}{
		{"upload with length", "", size},
		{"upload chunked, Retries 3 (first MB kept, then streamed once)", "3", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := watchHeap()
			start := time.Now()
			c := call{method: http.MethodPut, path: "/proxy/big", key: "api", id: "u1", body: io.MultiReader(&generator{n: size}), length: tt.length,
				header: map[string]string{"Content-Type": "application/octet-stream"}}
			if tt.retries != "" {
				c.header["Retries"] = tt.retries
			}
			resp := e.do(c)
			body := readAll(t, resp)
			grew := h.growth()
			took := time.Since(start)
			var got struct {
				Bytes, Bad, Length int64
				Err                string
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if got.Bytes != size || got.Bad != 0 || got.Err != "<nil>" {
				t.Fatalf("upstream got %+v", got)
			}
			if tt.length > 0 && got.Length != size {
				t.Errorf("upstream saw Content-Length %d, want %d", got.Length, size)
			}
			t.Logf("%s: 200 MB in %s (%.0f MB/s), peak heap growth %.2f MB", tt.name, took.Round(time.Millisecond), 200/took.Seconds(), float64(grew)/(1<<20))
			if grew > maxHeapGrowth {
				t.Errorf("peak heap grew %d bytes while streaming; bound %d", grew, maxHeapGrowth)
			}
		})
	}
}

func TestSlowStreamsOutliveServerTimeouts(t *testing.T) {
	// The server's read and write timeouts (300ms here, 60s in production)
	// would cut these streams, and so would an idle timeout applied to the
	// whole stream rather than to its pauses; the proxy pushes its deadlines
	// forward while bytes move.
	up := newUpstream(t, nil)
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
			return
		}
		rc := http.NewResponseController(w)
		for i := 0; i < 8; i++ {
			_, _ = fmt.Fprintf(w, "chunk %d\n", i)
			_ = rc.Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The idle timeout is longer than each pause, shorter than each stream.
	e := simple(t, envOptions{cfg: config.Proxy{IdleTimeout: 250 * time.Millisecond}, server: func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	}}, up)

	t.Run("download", func(t *testing.T) {
		resp := e.do(call{path: "/proxy/drip", key: "api", id: "u1"})
		body := readAll(t, resp)
		if strings.Count(body, "chunk") != 8 {
			t.Errorf("got %q; want all 8 chunks", body)
		}
	})
	t.Run("upload", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < 8; i++ {
				_, _ = pw.Write([]byte(strings.Repeat("u", 1000)))
				time.Sleep(100 * time.Millisecond)
			}
			_ = pw.Close()
		}()
		resp := e.do(call{method: http.MethodPost, path: "/proxy/drip", key: "api", id: "u1", body: pr})
		if body := readAll(t, resp); resp.StatusCode != 200 || body != "8000" {
			t.Errorf("got %d %q; want all 8000 bytes upstream", resp.StatusCode, body)
		}
	})
}

func TestStalledStreamsAreCut(t *testing.T) {
	const idle = 300 * time.Millisecond
	up := newUpstream(t, nil)
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, err := io.Copy(io.Discard, r.Body)
			_, _ = fmt.Fprint(w, err)
			return
		}
		_, _ = io.WriteString(w, "first part")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done() // then nothing
	})
	e := simple(t, envOptions{cfg: config.Proxy{IdleTimeout: idle}}, up)

	t.Run("upstream stops sending the response", func(t *testing.T) {
		start := time.Now()
		resp := e.do(call{path: "/proxy/stall", key: "api", id: "u1"})
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err == nil || !strings.HasPrefix(string(b), "first part") {
			t.Errorf("read %q, err %v; want the first part then an error (the stream was cut, not ended)", b, err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("cut after %s", took)
		}
	})
	t.Run("caller stops sending the request", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() { _, _ = pw.Write([]byte("partial")) }() // then stall
		t.Cleanup(func() { _ = pw.Close() })
		start := time.Now()
		resp, err := e.send(call{method: http.MethodPost, path: "/proxy/stall", key: "api", id: "u1", body: pr})
		if err == nil {
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusBadGateway {
				t.Errorf("got %d %q; want 408 (or 502)", resp.StatusCode, body)
			}
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("answered after %s", took)
		}
	})
	acts := e.activity()
	if len(acts) != 2 || acts[1].Success || !strings.Contains(acts[1].Message, "stalled") {
		t.Errorf("activity %+v; want the stalled response recorded as a failure", acts)
	}
}

func TestRefreshBeforeProxy(t *testing.T) {
	backends := []struct {
		name string
		open func(t testing.TB) store.Store
	}{
		{"sqlite", openSQLite},
		{"postgres", func(t testing.TB) store.Store {
			s, err := postgres.Open(context.Background(), postgres.Config{DSN: pgtest.DSN(t)}, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			var refreshes atomic.Int32
			tokenEndpoint := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, body []byte) {
				refreshes.Add(1)
				time.Sleep(50 * time.Millisecond) // let concurrent callers pile up
				w.Header().Set("Content-Type", "application/json")
				if !strings.Contains(string(body), "refresh_token=rt-1") {
					w.WriteHeader(400)
					_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
					return
				}
				_, _ = io.WriteString(w, `{"access_token":"at-fresh","refresh_token":"rt-2","expires_in":3600,"token_type":"bearer"}`)
			})
			api := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
				if r.Header.Get("Authorization") != "Bearer at-fresh" {
					w.WriteHeader(401)
					_, _ = io.WriteString(w, "stale token "+r.Header.Get("Authorization"))
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
			e := newEnv(t, envOptions{open: b.open})
			e.addTemplates("t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: " + tokenEndpoint.URL + "/token\n  proxy:\n    base_url: " + api.URL + "\n")
			e.integration("api", "t-api", "cid", "csecret")
			soon := time.Now().Add(time.Minute) // within the 15-minute margin: due
			e.connection("api", "u1", store.Credentials{Type: store.OAuth2, AccessToken: "at-old", RefreshToken: "rt-1", ExpiresAt: &soon}, nil)

			const callers = 5
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for i := 0; i < callers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := e.send(call{path: "/proxy/me", key: "api", id: "u1"})
					if err != nil {
						errs <- err
						return
					}
					b, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != 200 {
						errs <- fmt.Errorf("status %d %q", resp.StatusCode, b)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := refreshes.Load(); n != 1 {
				t.Errorf("%d refreshes for %d concurrent proxied calls; want 1", n, callers)
			}
			c, err := e.st.GetConnection(context.Background(), "api", "u1")
			if err != nil || c.Credentials.AccessToken != secret.String("at-fresh") || c.Credentials.RefreshToken != secret.String("rt-2") {
				t.Errorf("stored credentials not refreshed: %v", err)
			}
		})
	}
}

func TestRefreshFailureIsANangoError(t *testing.T) {
	tokenEndpoint := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"revoked"}`)
	})
	api := newUpstream(t, nil)
	e := newEnv(t, envOptions{})
	e.addTemplates("t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: " + tokenEndpoint.URL + "\n  proxy:\n    base_url: " + api.URL + "\n")
	e.integration("api", "t-api", "cid", "csecret")
	past := time.Now().Add(-time.Hour)
	e.connection("api", "u1", store.Credentials{Type: store.OAuth2, AccessToken: "at-old", RefreshToken: "rt-revoked", ExpiresAt: &past}, nil)
	env := wantError(t, e.do(call{path: "/proxy/me", key: "api", id: "u1"}), 400, "refresh_token_external_error")
	if env.Payload["external_error"] != "invalid_grant" {
		t.Errorf("payload %v", env.Payload)
	}
	if len(api.requests()) != 0 {
		t.Error("the API was called with a stale token")
	}
}
