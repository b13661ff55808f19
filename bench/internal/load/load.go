package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one pre-built HTTP/1.1 request, sent as is.
type Request []byte

// NewRequest builds an HTTP/1.1 request for host with keep-alive and the
// given headers (name, value pairs) and body.
func NewRequest(method, host, target string, headers []string, body []byte) Request {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	if body != nil || method == "POST" || method == "PUT" || method == "PATCH" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// Picker chooses the request a worker sends next. next is the worker's own
// random source; seq is a counter shared by all workers (incremented once per
// request). It must be safe for concurrent use and must not allocate.
type Picker func(rng *rand.Rand, seq uint64) (req Request, ok bool)

// Random returns a Picker choosing uniformly among reqs.
func Random(reqs []Request) Picker {
	return func(rng *rand.Rand, _ uint64) (Request, bool) {
		return reqs[rng.IntN(len(reqs))], true
	}
}

// Options configure one run.
type Options struct {
	// Addr is the server's host:port.
	Addr string
	// Addrs, when set, replaces Addr: worker i connects to Addrs[i%len].
	Addrs []string
	// Conns is the number of connections (one worker each).
	Conns int
	// Warmup runs the load without recording first.
	Warmup time.Duration
	// Duration is the measured period. With Until set it is a time limit.
	Duration time.Duration
	// Pick chooses each request.
	Pick Picker
	// Until, when set, ends the run when it returns true (checked every
	// millisecond), or when Pick returns ok=false.
	Until func() bool
}

// Result is what a run measured.
type Result struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"` // transport errors (reconnected)
	Non2xx   int64         `json:"non_2xx"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	RPS      float64       `json:"rps"`
	P50      time.Duration `json:"p50_ns"`
	P90      time.Duration `json:"p90_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
	Mean     time.Duration `json:"mean_ns"`
	// Statuses counts responses per HTTP status.
	Statuses map[int]int64 `json:"statuses"`
	// Sample is the start of one non-2xx response body, for diagnosis.
	Sample string `json:"sample,omitempty"`
}

// String is a one-line summary.
func (r Result) String() string {
	return fmt.Sprintf("%.0f req/s  p50 %s  p90 %s  p99 %s  max %s  (%d requests, %d non-2xx, %d errors)",
		r.RPS, fmtDur(r.P50), fmtDur(r.P90), fmtDur(r.P99), fmtDur(r.Max), r.Requests, r.Non2xx, r.Errors)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	default:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

type worker struct {
	hist     Histogram
	requests int64
	errors   int64
	non2xx   int64
	statuses map[int]int64
	sample   string
}

// Run drives the load and returns what it measured. Each worker owns one
// keep-alive connection (re-dialled after an error or a Connection: close),
// sends one request and reads the whole response before the next (closed
// loop, like wrk). Nothing is allocated per request.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Conns <= 0 {
		o.Conns = 1
	}
	if len(o.Addrs) == 0 {
		o.Addrs = []string{o.Addr}
	}
	// Check that the servers answer before starting the clock.
	for _, a := range o.Addrs {
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			return Result{}, err
		}
		_ = c.Close()
	}

	var phase atomic.Int32
	if o.Warmup <= 0 {
		phase.Store(phaseMeasure)
	}
	var seq atomic.Uint64
	var exhausted atomic.Bool
	workers := make([]*worker, o.Conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{statuses: map[int]int64{}}
		workers[i] = w
		wg.Add(1)
		go func(seed uint64, addr string) {
			defer wg.Done()
			w.run(addr, o, &phase, &seq, &exhausted, rand.New(rand.NewPCG(seed, seed*7919+1)))
		}(uint64(i+1), o.Addrs[i%len(o.Addrs)])
	}
	first := time.Now()
	stop := func() { phase.Store(phaseStop) }
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
				return true
			case <-tick.C:
				if exhausted.Load() || (o.Until != nil && phase.Load() == phaseMeasure && o.Until()) {
					return true
				}
			}
		}
	}
	if o.Warmup > 0 && !wait(o.Warmup) {
		stop()
		wg.Wait()
		return Result{}, ctx.Err()
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	if o.Warmup <= 0 {
		start = first
	}
	ok := wait(o.Duration)
	stop()
	elapsed := time.Since(start)
	wg.Wait()
	if !ok {
		return Result{}, ctx.Err()
	}
	res := Result{Elapsed: elapsed, Statuses: map[int]int64{}}
	var h Histogram
	for _, w := range workers {
		h.Merge(&w.hist)
		res.Requests += w.requests
		res.Errors += w.errors
		res.Non2xx += w.non2xx
		for s, n := range w.statuses {
			res.Statuses[s] += n
		}
		if res.Sample == "" {
			res.Sample = w.sample
		}
	}
	res.RPS = float64(res.Requests) / elapsed.Seconds()
	res.P50, res.P90, res.P99 = h.Quantile(0.50), h.Quantile(0.90), h.Quantile(0.99)
	res.Max, res.Mean = h.Max(), h.Mean()
	if res.Requests == 0 {
		return res, errors.New("load: no request completed")
	}
	return res, nil
}

func (w *worker) run(addr string, o Options, phase *atomic.Int32, seq *atomic.Uint64, exhausted *atomic.Bool, rng *rand.Rand) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	backoff := time.Millisecond
	for {
		p := phase.Load()
		if p == phaseStop {
			return
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				if p == phaseMeasure {
					w.errors++
				}
				time.Sleep(backoff)
				backoff = min(2*backoff, 100*time.Millisecond)
				continue
			}
			backoff = time.Millisecond
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetNoDelay(true)
			}
			conn = c
			if br == nil {
				br = bufio.NewReaderSize(c, 64<<10)
			} else {
				br.Reset(c)
			}
		}
		req, ok := o.Pick(rng, seq.Add(1)-1)
		if !ok {
			exhausted.Store(true)
			return
		}
		t0 := time.Now()
		status, keep, err := roundTrip(conn, br, req, &w.sample)
		d := time.Since(t0)
		if err != nil {
			if p == phaseMeasure && phase.Load() == phaseMeasure {
				w.errors++
			}
			_ = conn.Close()
			conn = nil
			continue
		}
		if p == phaseMeasure {
			w.requests++
			w.hist.Record(d)
			w.statuses[status]++
			if status < 200 || status > 299 {
				w.non2xx++
			}
		}
		if !keep {
			_ = conn.Close()
			conn = nil
		}
	}
}

var (
	hdrContentLength = []byte("content-length:")
	hdrTransferEnc   = []byte("transfer-encoding:")
	hdrConnection    = []byte("connection:")
	valChunked       = []byte("chunked")
	valClose         = []byte("close")
)

// roundTrip writes req and reads one response. It reports the status and
// whether the connection may be reused.
func roundTrip(conn net.Conn, br *bufio.Reader, req Request, sample *string) (status int, keep bool, err error) {
	if _, err := conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("load: bad status line %q", line)
	}
	status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		switch {
		case hasPrefixFold(line, hdrContentLength):
			n, ok := parseUint(bytes.TrimSpace(line[len(hdrContentLength):]), 10)
			if !ok {
				return 0, false, fmt.Errorf("load: bad Content-Length %q", line)
			}
			length = n
		case hasPrefixFold(line, hdrTransferEnc):
			chunked = bytes.Contains(bytes.ToLower(line), valChunked)
		case hasPrefixFold(line, hdrConnection):
			if bytes.Contains(bytes.ToLower(line), valClose) {
				keep = false
			}
		}
	}
	record := *sample == "" && (status < 200 || status > 299)
	switch {
	case chunked:
		err = readChunked(br)
	case length >= 0:
		if record && length > 0 {
			b, _ := br.Peek(int(min(length, 300)))
			*sample = fmt.Sprintf("%d %s", status, b)
		}
		_, err = br.Discard(int(length))
	case status == 204 || status == 304:
	default:
		// Body until close.
		_, err = io.Copy(io.Discard, br)
		keep = false
	}
	if record && *sample == "" {
		*sample = strconv.Itoa(status)
	}
	return status, keep, err
}

func readChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz := bytes.TrimSpace(line)
		if i := bytes.IndexByte(sz, ';'); i >= 0 {
			sz = sz[:i]
		}
		n, ok := parseUint(sz, 16)
		if !ok {
			return fmt.Errorf("load: bad chunk size %q", line)
		}
		if n == 0 {
			// Trailers until the empty line.
			for {
				line, err = br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

func hasPrefixFold(s, prefix []byte) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i, c := range prefix {
		d := s[i]
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// parseUint parses a decimal or hexadecimal number without allocating.
func parseUint(b []byte, base int64) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d int64
		switch {
		case '0' <= c && c <= '9':
			d = int64(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = int64(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}
