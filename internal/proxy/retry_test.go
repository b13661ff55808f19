package proxy_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/proxy"
)

// gaps returns the time between consecutive upstream arrivals.
func gaps(reqs []seen) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(reqs); i++ {
		out = append(out, reqs[i].At.Sub(reqs[i-1].At))
	}
	return out
}

func TestRetryCountsAndStatuses(t *testing.T) {
	tests := []struct {
		name         string
		retries      string
		statuses     []int // the upstream's answers in order; the last one repeats
		wantAttempts int
		wantStatus   int
	}{
		{"no Retries header: one attempt", "", []int{503, 200}, 1, 503},
		{"Retries 0 is one attempt", "0", []int{503, 200}, 1, 503},
		{"503 then 200", "3", []int{503, 200}, 2, 200},
		{"two 500s then 200", "3", []int{500, 502, 200}, 3, 200},
		{"always 500: N attempts in total, last answer returned", "3", []int{500}, 3, 500},
		{"429 is retried", "2", []int{429, 201}, 2, 201},
		{"404 is not retried", "5", []int{404, 200}, 1, 404},
		{"400 is not retried", "5", []int{400, 200}, 1, 400},
		{"2xx ends at once", "5", []int{204}, 1, 204},
		{"capped by NANGO_PROXY_MAX_ATTEMPTS (4)", "50", []int{503}, 4, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
				s := tt.statuses[min(n, len(tt.statuses))-1]
				w.Header().Set("X-Attempt", strconv.Itoa(n))
				w.WriteHeader(s)
				_, _ = io.WriteString(w, "answer "+strconv.Itoa(n))
			})
			e := simple(t, envOptions{cfg: config.Proxy{MaxAttempts: 4}}, up)
			c := call{path: "/proxy/x", key: "api", id: "u1"}
			if tt.retries != "" {
				c.header = map[string]string{"Retries": tt.retries}
			}
			resp := e.do(c)
			body := readAll(t, resp)
			n := len(up.requests())
			if n != tt.wantAttempts || resp.StatusCode != tt.wantStatus {
				t.Fatalf("%d attempts, final %d; want %d attempts, final %d", n, resp.StatusCode, tt.wantAttempts, tt.wantStatus)
			}
			if tt.wantStatus != 204 && body != "answer "+strconv.Itoa(n) {
				t.Errorf("body %q is not the last answer's", body)
			}
			if got := resp.Header.Get(proxy.HeaderAttempts); got != strconv.Itoa(n) {
				t.Errorf("%s = %q, want %d", proxy.HeaderAttempts, got, n)
			}
		})
	}
}

func TestRetryBackoffDelays(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if n < 4 {
			w.WriteHeader(503)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	// Base 50ms: waits of 50, 100, 200ms, each at least half of that.
	e := simple(t, envOptions{backoff: 50 * time.Millisecond}, up)
	resp := e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Retries": "4"}})
	readAll(t, resp)
	reqs := up.requests()
	if len(reqs) != 4 || resp.StatusCode != 200 {
		t.Fatalf("%d attempts, status %d", len(reqs), resp.StatusCode)
	}
	min := []time.Duration{25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	for i, g := range gaps(reqs) {
		if g < min[i] {
			t.Errorf("wait %d was %s, below its back-off floor %s", i+1, g, min[i])
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name     string
		header   func() (string, string)
		template string
		minGap   time.Duration
	}{
		{"Retry-After seconds", func() (string, string) { return "Retry-After", "1" }, "", 900 * time.Millisecond},
		{"Retry-After HTTP date", func() (string, string) {
			return "Retry-After", time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		}, "", 900 * time.Millisecond},
		{"template 'after' header", func() (string, string) { return "X-Ratelimit-Retry-After", "1" }, "after", 900 * time.Millisecond},
		{"template 'at' header (unix seconds)", func() (string, string) {
			return "X-Ratelimit-Reset", strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)
		}, "at", 900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each waits a second or two
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
				if n == 1 {
					k, v := tt.header()
					w.Header().Set(k, v)
					w.WriteHeader(429)
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
			e := newEnv(t, envOptions{backoff: time.Millisecond})
			retry := ""
			switch tt.template {
			case "after":
				retry = "\n    retry:\n      after: [x-ratelimit-retry-after]"
			case "at":
				retry = "\n    retry:\n      at: [x-ratelimit-reset]"
			}
			e.addTemplates("t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: https://example.com/t\n  proxy:\n    base_url: " + up.URL + retry + "\n")
			e.integration("api", "t-api", "c", "s")
			e.connection("api", "u1", bearer("x"), nil)
			resp := e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Retries": "2"}})
			readAll(t, resp)
			reqs := up.requests()
			if len(reqs) != 2 || resp.StatusCode != 200 {
				t.Fatalf("%d attempts, status %d", len(reqs), resp.StatusCode)
			}
			if g := gaps(reqs)[0]; g < tt.minGap || g > 10*time.Second {
				t.Errorf("waited %s; the provider asked for about a second or two", g)
			}
		})
	}
}

func TestRetryAfterBeyondCapEndsRetries(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
		_, _ = io.WriteString(w, `{"error":"slow down"}`)
	})
	e := simple(t, envOptions{cfg: config.Proxy{RetryAfterMax: time.Second}}, up)
	start := time.Now()
	resp := e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Retries": "3"}})
	body := readAll(t, resp)
	if n := len(up.requests()); n != 1 || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" || body != `{"error":"slow down"}` {
		t.Errorf("%d attempts, %d %q Retry-After %q; want the first 429 returned as is", n, resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the proxy waited %s although the provider asked for more than the cap", time.Since(start))
	}
}

func TestRetryOnNetworkErrors(t *testing.T) {
	var attempts atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if attempts.Add(1) <= 2 {
			// Drop the connection without an answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "finally")
	})
	e := simple(t, envOptions{}, up)
	resp := e.do(call{method: "POST", path: "/proxy/x", key: "api", id: "u1", body: strings.NewReader("payload"), header: map[string]string{"Retries": "3"}})
	body := readAll(t, resp)
	if resp.StatusCode != 200 || body != "finally" || attempts.Load() != 3 {
		t.Fatalf("%d %q after %d attempts", resp.StatusCode, body, attempts.Load())
	}
	for i, r := range up.requests() {
		if string(r.Body) != "payload" {
			t.Errorf("attempt %d carried %q", i+1, r.Body)
		}
	}
}

func TestBodyReplayedOnlyWhenSmall(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		w.WriteHeader(503)
	})
	e := simple(t, envOptions{cfg: config.Proxy{ReplayBodyMax: 1024}}, up)
	tests := []struct {
		name         string
		size         int
		chunked      bool
		wantAttempts int
	}{
		{"small body replayed", 1024, false, 3},
		{"small chunked body replayed", 1000, true, 3},
		{"large body: one attempt", 1025, false, 1},
		{"large chunked body: one attempt", 5000, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests())
			payload := strings.Repeat("z", tt.size)
			var body io.Reader = strings.NewReader(payload)
			if tt.chunked {
				body = io.MultiReader(strings.NewReader(payload)) // unknown length: sent chunked
			}
			resp := e.do(call{method: "PUT", path: "/proxy/x", key: "api", id: "u1", body: body, header: map[string]string{"Retries": "3"}})
			readAll(t, resp)
			reqs := up.requests()[before:]
			if len(reqs) != tt.wantAttempts {
				t.Fatalf("%d attempts, want %d", len(reqs), tt.wantAttempts)
			}
			for i, r := range reqs {
				if string(r.Body) != payload {
					t.Errorf("attempt %d carried %d bytes, want %d", i+1, len(r.Body), len(payload))
				}
			}
		})
	}
}

func TestTemplateRetryableStatuses(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if n == 1 {
			w.WriteHeader(403) // this provider signals rate limits with 403
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t, envOptions{})
	e.addTemplates("t-api:\n  auth_mode: OAUTH2\n  authorization_url: https://example.com/a\n  token_url: https://example.com/t\n  proxy:\n    base_url: " + up.URL + "\n    retry:\n      error_code: ['403', '5xx']\n")
	e.integration("api", "t-api", "c", "s")
	e.connection("api", "u1", bearer("x"), nil)
	resp := e.do(call{path: "/proxy/x", key: "api", id: "u1", header: map[string]string{"Retries": "2"}})
	readAll(t, resp)
	if n := len(up.requests()); n != 2 || resp.StatusCode != 200 {
		t.Errorf("%d attempts, status %d; want 403 retried", n, resp.StatusCode)
	}
}
