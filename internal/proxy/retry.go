package proxy

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/provider"
)

// retryableStatus reports whether an upstream status is worth another
// attempt: 429, any 5xx, and the statuses the template lists
// (proxy.retry.error_code: "403", "5xx", ...).
func retryableStatus(status int, r *provider.Retry) bool {
	if status == http.StatusTooManyRequests || status >= 500 && status <= 599 {
		return true
	}
	if r == nil {
		return false
	}
	s := strconv.Itoa(status)
	for _, code := range r.ErrorCodes {
		code = strings.ToLower(strings.TrimSpace(code))
		if code == s {
			return true
		}
		if len(code) == 3 && strings.HasSuffix(code, "xx") && code[0] == s[0] {
			return true
		}
	}
	return false
}

// backoff is the wait after failed attempt n (1-based): base·2^(n−1),
// capped at max, of which a random part of up to half is taken off
// ("equal jitter": the wait stays between half and all of the step).
func backoff(n int, base, maxWait time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	half := d / 2
	return d - half + rand.N(half+1)
}

// retryAfter reads the provider's requested delay from a response: the
// standard Retry-After header (seconds or an HTTP date), then the
// template's proxy.retry "after" headers (seconds or a date) and "at"
// headers (a reset time: Unix seconds or milliseconds, or a date). ok is
// false when none is present and parseable.
func retryAfter(h http.Header, r *provider.Retry, now time.Time) (time.Duration, bool) {
	if d, ok := parseAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if r == nil {
		return 0, false
	}
	for _, name := range r.After {
		if d, ok := parseAfter(h.Get(name), now); ok {
			return d, true
		}
	}
	for _, name := range r.At {
		if d, ok := parseAt(h.Get(name), now); ok {
			return d, true
		}
	}
	return 0, false
}

// parseAfter reads delay-seconds (fractions accepted) or an HTTP date.
func parseAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		// NaN passes every comparison: "Retry-After: NaN" gave a negative
		// wait, so the retry went out at once.
		if math.IsNaN(f) || f < 0 || f > 1e7 {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// parseAt reads a reset time: Unix seconds, Unix milliseconds (values
// past the year 33658 in seconds), or an HTTP date. Small numbers that are
// plainly not timestamps (below one day) are taken as seconds to wait, as
// several providers send them under "reset" names.
func parseAt(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case math.IsNaN(f) || f < 0 || f > 1e15:
			// Not a wait nor a timestamp (beyond 1e15 ms, the conversion
			// to an integer overflows and the wait came out as none).
			return 0, false
		case f < 86400:
			return time.Duration(f * float64(time.Second)), true
		case f > 1e12:
			return max(0, time.UnixMilli(int64(f)).Sub(now)), true
		default:
			return max(0, time.Unix(int64(f), 0).Sub(now)), true
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
