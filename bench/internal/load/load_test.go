package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
		tol    float64
	}{
		{"exact small", []time.Duration{10 * time.Microsecond, 20 * time.Microsecond, 30 * time.Microsecond}, 0.5, 20 * time.Microsecond, 0},
		{"p99 of a ramp", ramp(1000, time.Millisecond), 0.99, 990 * time.Millisecond, 0.03},
		{"p50 of a ramp", ramp(1000, 100*time.Microsecond), 0.5, 50 * time.Millisecond, 0.03},
		{"max bound", []time.Duration{5 * time.Second}, 1, 5 * time.Second, 0.03},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			got := h.Quantile(tt.q)
			diff := float64(got-tt.want) / float64(tt.want)
			if diff < -tt.tol || diff > tt.tol {
				t.Errorf("Quantile(%v) = %v, want %v (±%.0f%%)", tt.q, got, tt.want, tt.tol*100)
			}
		})
	}
}

func ramp(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * step
	}
	return out
}

func TestBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for us := int64(0); us < 1<<26; us = us*17/16 + 1 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", us, b, prev)
		}
		if lo := lowerBound(b); lo > us {
			t.Fatalf("lowerBound(bucketOf(%d)) = %d > value", us, lo)
		}
		prev = b
	}
}

func TestRunAgainstServer(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, strings.Repeat("x", 5000))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/missing":
			http.Error(w, "no such thing", http.StatusNotFound)
		default:
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name       string
		path       string
		wantStatus int
	}{
		{"fixed length", "/", 200},
		{"chunked", "/chunked", 200},
		{"connection close", "/close", 200},
		{"error status", "/missing", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := NewRequest("GET", host, tt.path, []string{"Authorization", "Bearer x"}, nil)
			res, err := Run(context.Background(), Options{Addr: host, Conns: 4, Duration: 200 * time.Millisecond, Pick: Random([]Request{req})})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests == 0 || res.Statuses[tt.wantStatus] != res.Requests {
				t.Fatalf("statuses %v over %d requests, want all %d", res.Statuses, res.Requests, tt.wantStatus)
			}
			if tt.wantStatus != 200 && !strings.Contains(res.Sample, "no such thing") {
				t.Errorf("sample %q lacks the body", res.Sample)
			}
			if res.P50 <= 0 || res.P99 < res.P50 {
				t.Errorf("p50 %v p99 %v", res.P50, res.P99)
			}
		})
	}
}

func TestRunUntilPickerExhausted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	reqs := make([]Request, 100)
	for i := range reqs {
		reqs[i] = NewRequest("GET", host, fmt.Sprint("/", i), nil, nil)
	}
	var sent atomic.Int64
	res, err := Run(context.Background(), Options{Addr: host, Conns: 3, Duration: 10 * time.Second,
		Pick: func(_ *rand.Rand, seq uint64) (Request, bool) {
			if seq >= uint64(len(reqs)) {
				return nil, false
			}
			sent.Add(1)
			return reqs[seq], true
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 100 || sent.Load() != 100 {
		t.Errorf("completed %d, picked %d; want 100 each", res.Requests, sent.Load())
	}
	if res.Elapsed > 5*time.Second {
		t.Errorf("run took %v: it did not stop when the picker ran out", res.Elapsed)
	}
}
