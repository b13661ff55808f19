package proxy

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/tracing"
)

// copyBufSize is the chunk size of both streams; one buffer per call.
const copyBufSize = 32 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// forward sends the planned request, retrying as allowed, and streams the
// final answer back.
func (c *call) forward(p *plan) {
	ctx, cancel := context.WithCancel(c.r.Context())
	defer cancel()
	c.wd = newWatchdog(c.h.o.Config.IdleTimeout, cancel)
	defer c.wd.stop()
	tr := c.h.trusted
	if p.guarded {
		tr = c.h.guarded
	}
	retry := p.tmpl.Proxy.Retry
	for attempt := 1; ; attempt++ {
		c.attempts = attempt
		req, e := c.newRequest(ctx, p)
		if e != nil {
			c.fail(e)
			return
		}
		var span trace.Span
		if c.h.o.Tracer != nil {
			var sctx context.Context
			sctx, span = c.h.o.Tracer.StartClient(req.Context(), "proxy", req, attempt)
			req = req.WithContext(sctx)
		}
		resp, err := tr.RoundTrip(req)
		if span != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			tracing.FinishClient(span, status, err)
		}
		last := attempt >= p.attempts
		if err != nil {
			c.wd.pause()
			if c.clientBodyErr() == nil && c.r.Context().Err() != nil {
				c.failure = "the caller went away"
				return
			}
			e := c.upstreamError(err, p)
			if last || e.Type == "upstream_not_allowed" || e.Type == "request_timeout" {
				c.fail(e)
				return
			}
			c.log().Debug("proxy: attempt failed; retrying", "attempt", attempt, "err", errString(err))
			if !sleep(c.r.Context(), backoff(attempt, c.h.o.BackoffBase, c.h.o.BackoffMax)) {
				c.failure = "the caller went away"
				return
			}
			continue
		}
		if !last && retryableStatus(resp.StatusCode, retry) {
			delay, hinted := retryAfter(resp.Header, retry, time.Now())
			if hinted && delay > c.h.o.Config.RetryAfterMax {
				// Waiting less than asked would only be refused again:
				// the caller gets the answer and its Retry-After.
				c.respond(p, resp)
				return
			}
			if !hinted {
				delay = backoff(attempt, c.h.o.BackoffBase, c.h.o.BackoffMax)
			}
			discard(resp)
			if !sleep(c.r.Context(), delay) {
				c.failure = "the caller went away"
				return
			}
			continue
		}
		c.respond(p, resp)
		return
	}
}

// newRequest builds the upstream request of one attempt.
func (c *call) newRequest(ctx context.Context, p *plan) (*http.Request, *httpx.Error) {
	hdr, e := c.headers(p, c.r.Method, c.h.o.Now())
	if e != nil {
		return nil, e
	}
	req, err := http.NewRequestWithContext(ctx, c.r.Method, "http://placeholder/", nil)
	if err != nil {
		return nil, httpx.Ef("invalid_request", "The method %q cannot be proxied.", c.r.Method)
	}
	u := *p.target
	req.URL, req.Host, req.Header = &u, u.Host, hdr
	if p.body != nil {
		rc, n := p.body.open()
		req.Body, req.ContentLength = &watched{r: rc, wd: c.wd}, n
		if p.body.replayable {
			req.GetBody = func() (io.ReadCloser, error) {
				rc, _ := p.body.open()
				return &watched{r: rc, wd: c.wd}, nil
			}
		}
	}
	return req, nil
}

// upstreamError turns a failed round trip into the answer.
func (c *call) upstreamError(err error, p *plan) *httpx.Error {
	var be *blockedError
	var ne net.Error
	payload := map[string]any{"attempts": c.attempts}
	switch {
	case errors.As(err, &be):
		return httpx.Ef("upstream_not_allowed", "The proxy may not call %s: it resolves to a non-public address (%s) and NANGO_PROXY_ALLOW_PRIVATE_NETWORKS is off.", p.target.Hostname(), be.addr).
			WithPayload(payload)
	case c.clientBodyErr() != nil:
		return httpx.Ef("request_timeout", "The request body stopped arriving (nothing for %s, or the connection failed): %s.", c.h.o.Config.IdleTimeout, errString(c.clientBodyErr()))
	case c.wd.hasFired():
		c.logUpstream(p, "stalled")
		return httpx.Ef("upstream_timeout", "The provider's API at %s stopped reading the request for %s.", p.target.Host, c.h.o.Config.IdleTimeout).WithPayload(payload)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		c.logUpstream(p, errString(err))
		payload["upstream_error"] = errString(err)
		return httpx.Ef("upstream_timeout", "The provider's API at %s did not answer in time.", p.target.Host).WithPayload(payload)
	}
	c.logUpstream(p, errString(err))
	payload["upstream_error"] = errString(err)
	return httpx.Ef("upstream_unreachable", "The provider's API at %s could not be reached: %s.", p.target.Host, errString(err)).WithPayload(payload)
}

func (c *call) logUpstream(p *plan, problem string) {
	c.log().Warn("proxy: upstream call failed", "provider_config_key", c.key, "connection_id", c.id,
		"host", p.target.Host, "attempts", c.attempts, "error", problem)
}

// respond streams the upstream answer to the caller: status, headers
// without hop-by-hop ones, body through one fixed buffer, trailers.
func (c *call) respond(p *plan, resp *http.Response) {
	defer resp.Body.Close()
	h := c.w.Header()
	conn := connectionTokens(resp.Header)
	for k, vv := range resp.Header {
		if hopByHop[k] || conn[k] {
			continue
		}
		h[k] = vv
	}
	src := io.Reader(resp.Body)
	if p.tmpl.Proxy.Decompress && c.r.Method != http.MethodHead && strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		c.wd.touch()
		gz, err := gzip.NewReader(resp.Body)
		if err == nil {
			defer gz.Close()
			h.Del("Content-Encoding")
			h.Del("Content-Length")
			src = gz
		}
	}
	h.Set(HeaderAttempts, strconv.Itoa(c.attempts))
	c.status = resp.StatusCode
	c.w.WriteHeader(resp.StatusCode)

	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var lastExtend time.Time
	idle := c.h.o.Config.IdleTimeout
	for {
		c.wd.touch()
		n, rerr := src.Read(buf)
		if n > 0 {
			if now := time.Now(); now.Sub(lastExtend) > idle/8 {
				_ = c.rc.SetWriteDeadline(now.Add(idle))
				lastExtend = now
			}
			c.wd.touch()
			if _, werr := c.w.Write(buf[:n]); werr != nil {
				c.failure = "the caller stopped reading the response"
				return
			}
			_ = c.rc.Flush()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if c.r.Context().Err() != nil {
				c.failure = "the caller went away during the response"
				return
			}
			c.failure = "the provider's response broke off: " + errString(rerr)
			if c.wd.hasFired() {
				c.failure = "the provider's response stalled for " + idle.String()
			}
			c.logUpstream(p, c.failure)
			// The caller must see the response as incomplete, not as a
			// shorter one: abort the connection (serve's deferred record
			// still writes the activity entry).
			panic(http.ErrAbortHandler)
		}
	}
	c.wd.stop()
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
}

// discard drops a response that will be retried, reading a little of it
// so the connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchdog cancels the upstream call when neither body moves for its
// duration. It is paused while the proxy waits for response headers
// (NANGO_PROXY_RESPONSE_TIMEOUT covers that).
type watchdog struct {
	t      *time.Timer
	d      time.Duration
	fired  atomic.Bool
	cancel func()
}

func newWatchdog(d time.Duration, cancel func()) *watchdog {
	w := &watchdog{d: d, cancel: cancel}
	w.t = time.AfterFunc(d, func() { w.fired.Store(true); w.cancel() })
	w.t.Stop()
	return w
}

func (w *watchdog) touch() {
	if w != nil {
		w.t.Reset(w.d)
	}
}

func (w *watchdog) pause() {
	if w != nil {
		w.t.Stop()
	}
}

func (w *watchdog) stop() { w.pause() }

func (w *watchdog) hasFired() bool { return w != nil && w.fired.Load() }

// watched is an upstream request body that feeds the watchdog.
type watched struct {
	r  io.ReadCloser
	wd *watchdog
}

func (b *watched) Read(p []byte) (int, error) {
	b.wd.touch()
	n, err := b.r.Read(p)
	if err != nil {
		b.wd.pause()
	} else {
		b.wd.touch()
	}
	return n, err
}

func (b *watched) Close() error { return b.r.Close() }

// clientBody is the caller's request body: reading it pushes the server's
// read deadline forward, so a long upload is not cut by the server's
// ReadTimeout while it keeps moving, and a stalled one is.
type clientBody struct {
	c          *call
	r          io.Reader
	lastExtend time.Time
}

// bodyReader returns the caller's body wrapped as clientBody.
func (c *call) bodyReader() io.Reader {
	return &clientBody{c: c, r: c.r.Body}
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		idle := b.c.h.o.Config.IdleTimeout
		if now := time.Now(); now.Sub(b.lastExtend) > idle/8 {
			_ = b.c.rc.SetReadDeadline(now.Add(idle))
			b.lastExtend = now
		}
	}
	switch {
	case err == io.EOF:
		// All arrived: lift the deadline (see ServeHTTP).
		_ = b.c.rc.SetReadDeadline(time.Time{})
	case err != nil:
		b.c.setClientBodyErr(err)
	}
	return n, err
}

func (c *call) setClientBodyErr(err error) {
	c.bodyMu.Lock()
	defer c.bodyMu.Unlock()
	if c.bodyErr == nil {
		c.bodyErr = err
	}
}

func (c *call) clientBodyErr() error {
	c.bodyMu.Lock()
	defer c.bodyMu.Unlock()
	return c.bodyErr
}
