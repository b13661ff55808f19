// Package fake holds the benchmark suite's stand-ins: the hello-world
// reference server (a bare net/http handler returning a fixed 200-byte JSON
// body), which also serves as the proxy's upstream, and an OAuth 2 token
// endpoint that counts refreshes per refresh token so the suite can check
// that each connection is refreshed exactly once. It imports only the
// standard library.
package fake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HelloBody is the reference server's fixed answer: exactly 200 bytes of
// JSON.
var HelloBody = func() []byte {
	const head = `{"id":12345,"login":"octocat","name":"The Octocat","type":"User","site_admin":false,"pad":"`
	const tail = `"}`
	return []byte(head + strings.Repeat("x", 200-len(head)-len(tail)) + tail)
}()

// Hello returns the reference handler: every request gets HelloBody.
func Hello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(HelloBody)
	})
}

// Provider is a minimal OAuth 2 token endpoint (POST /token) that answers
// refresh_token grants with a new access token (the refresh token is kept)
// valid for an hour, and counts the grants per refresh token.
type Provider struct {
	// Delay is added to every token answer (a real provider takes tens of
	// milliseconds).
	Delay time.Duration

	total  atomic.Int64
	mu     sync.Mutex
	counts map[string]int
}

// Stats is GET /stats: the refresh grants seen since the last reset.
type Stats struct {
	Total int64 `json:"total"`
	// Tokens is how many distinct refresh tokens were used.
	Tokens int `json:"tokens"`
	// Repeated is how many refresh tokens were used more than once.
	Repeated int `json:"repeated"`
	// MaxPerToken is the most grants one refresh token saw.
	MaxPerToken int `json:"max_per_token"`
}

// ServeHTTP serves POST /token, GET /stats and POST /reset.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		p.token(w, r)
	case r.URL.Path == "/stats":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Stats())
	case r.Method == http.MethodPost && r.URL.Path == "/reset":
		p.mu.Lock()
		p.counts = nil
		p.total.Store(0)
		p.mu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

// Stats returns the counts.
func (p *Provider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Total: p.total.Load(), Tokens: len(p.counts)}
	for _, n := range p.counts {
		if n > 1 {
			s.Repeated++
		}
		s.MaxPerToken = max(s.MaxPerToken, n)
	}
	return s
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
		return
	}
	rt := r.PostForm.Get("refresh_token")
	p.mu.Lock()
	if p.counts == nil {
		p.counts = map[string]int{}
	}
	p.counts[rt]++
	n := p.counts[rt]
	p.mu.Unlock()
	p.total.Add(1)
	if p.Delay > 0 {
		time.Sleep(p.Delay)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token":  "at-refreshed-" + rt + "-" + strconv.Itoa(n),
		"refresh_token": rt,
		"expires_in":    3600,
		"token_type":    "bearer",
	})
}
