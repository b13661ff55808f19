package dashboard

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed dashboard logins are throttled per client address: a token bucket
// of loginBurst failures refilled at one per loginRefill. An address whose
// bucket is empty is answered 429 without its credentials being checked,
// until a token is back. Successful logins cost nothing; requests without
// credentials (the browser's first, unauthenticated try) are not failures.
// The address is the TCP peer: X-Forwarded-For is not trusted (anyone can
// write it). Loopback peers are not throttled: behind a reverse proxy on
// the same host every user would share the proxy's address, and a guesser
// could lock everyone out; such a proxy should limit logins itself (see
// docs/security.md).
const (
	loginBurst   = 10
	loginRefill  = 30 * time.Second
	maxThrottled = 10000 // addresses tracked at once
)

// loginThrottle is safe for concurrent use.
type loginThrottle struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*loginBucket
}

type loginBucket struct {
	tokens float64
	last   time.Time
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, m: map[string]*loginBucket{}}
}

// refill brings b up to date; it must be called with l.mu held.
func (l *loginThrottle) refill(b *loginBucket, now time.Time) {
	b.tokens = math.Min(loginBurst, b.tokens+float64(now.Sub(b.last))/float64(loginRefill))
	b.last = now
}

// exempt reports whether addr is not throttled (a loopback peer: a local
// reverse proxy, or the host itself).
func exempt(addr string) bool {
	ip := net.ParseIP(addr)
	return ip != nil && ip.IsLoopback()
}

// wait returns how long addr must wait before its credentials are checked
// again; 0 means now.
func (l *loginThrottle) wait(addr string) time.Duration {
	if exempt(addr) {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[addr]
	if b == nil {
		return 0
	}
	now := l.now()
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(loginRefill))
}

// failed records a failed login from addr.
func (l *loginThrottle) failed(addr string) {
	if exempt(addr) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.m[addr]
	if b == nil {
		if len(l.m) >= maxThrottled {
			l.sweep(now)
			if len(l.m) >= maxThrottled {
				return // too many addresses at once: stop tracking new ones
			}
		}
		b = &loginBucket{tokens: loginBurst, last: now}
		l.m[addr] = b
	}
	l.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// sweep forgets addresses whose bucket is full again.
func (l *loginThrottle) sweep(now time.Time) {
	for k, b := range l.m {
		l.refill(b, now)
		if b.tokens >= loginBurst {
			delete(l.m, k)
		}
	}
}

// peerAddr is the client's IP address as the TCP connection shows it.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
