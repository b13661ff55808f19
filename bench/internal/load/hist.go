package load

import (
	"math/bits"
	"time"
)

// Histogram records latencies in microseconds in log-linear buckets: exact
// below 64µs, then 32 buckets per power of two (at most 3% error). The zero
// value is ready; Record never allocates.
type Histogram struct {
	counts [1024]int64
	n      int64
	sum    int64 // µs
	max    int64 // µs
}

func bucketOf(us int64) int {
	if us < 64 {
		return int(us)
	}
	e := bits.Len64(uint64(us)) - 6 // ≥ 1
	m := us >> uint(e)              // [32, 63]
	i := 64 + (e-1)*32 + int(m-32)
	if i >= 1024 {
		return 1023
	}
	return i
}

// lowerBound is the smallest value in bucket i, in µs.
func lowerBound(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	e := (i-64)/32 + 1
	m := int64((i-64)%32 + 32)
	return m << uint(e)
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[bucketOf(us)]++
	h.n++
	h.sum += us
	if us > h.max {
		h.max = us
	}
}

// Merge adds o's records to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of records.
func (h *Histogram) Count() int64 { return h.n }

// Quantile returns the q-quantile (0 < q ≤ 1): the midpoint of its bucket.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = max(1, min(rank, h.n))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo := lowerBound(i)
			hi := lo
			if i+1 < len(h.counts) {
				hi = lowerBound(i + 1)
			}
			v := (lo + hi) / 2
			if i < 64 {
				v = lo
			}
			return time.Duration(min(v, h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// Max is the largest record.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean is the average record.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}
