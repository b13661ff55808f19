package connect

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Failed requests to the public routes are recorded in the activity log at
// most at this rate (a token bucket): anyone can send them, and an
// unauthenticated flood must not grow the activity table without bound.
// Every failure is still logged by the server; successes are always
// recorded.
const (
	// failureBurst is how many failure entries may be written at once.
	failureBurst = 100
	// failureEvery is the sustained rate: one entry per interval (60 a
	// minute).
	failureEvery = time.Second
)

// limiter is a token bucket counting what it refused. It is safe for
// concurrent use.
type limiter struct {
	mu         sync.Mutex
	burst      float64
	every      time.Duration
	tokens     float64
	last       time.Time
	suppressed int64
	now        func() time.Time
}

func newLimiter(burst int, every time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), every: every, tokens: float64(burst), now: now}
}

// take reports whether an entry may be written. When it may, suppressed is
// the number of entries refused since the last one allowed (to be said in
// the entry), and the count restarts.
func (l *limiter) take() (ok bool, suppressed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens += float64(now.Sub(l.last)) / float64(l.every)
		if l.tokens > l.burst {
			l.tokens = l.burst
		}
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}

// suppressedNote is appended to the first failure entry written after some
// were dropped.
func suppressedNote(n int64) string {
	return fmt.Sprintf(" [%d similar failed requests to public routes were not recorded: more than %d a minute]", n, int(time.Minute/failureEvery))
}

// activityValue makes a value from a public request fit an activity
// column: valid UTF-8 without NUL characters (which PostgreSQL cannot
// store), at most n bytes.
func activityValue(s string, n int) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && len(s) <= n {
		return s
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	return clip(s, n)
}
