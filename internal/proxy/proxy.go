package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
	"github.com/nango-go/nango/internal/tracing"
)

// Request headers the proxy reads.
const (
	// HeaderConnectionID names the connection (required).
	HeaderConnectionID = "Connection-Id"
	// HeaderProviderConfigKey names the integration (required).
	HeaderProviderConfigKey = "Provider-Config-Key"
	// HeaderRetries is the number of attempts in total (absent or 0: one).
	HeaderRetries = "Retries"
	// HeaderBaseURLOverride replaces the template's base URL when the
	// operator allows it.
	HeaderBaseURLOverride = "Base-Url-Override"
	// ForwardPrefix marks caller headers forwarded upstream, prefix stripped.
	ForwardPrefix = "Nango-Proxy-"
)

// HeaderAttempts is set on every response that comes from the provider (never
// on the proxy's own error answers), holding the number of attempts made.
// Its presence is how a caller tells an upstream error from a Nango-side
// one: both may be 4xx or 5xx.
const HeaderAttempts = "X-Nango-Proxy-Attempts"

// Defaults for zero config.Proxy fields.
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultResponseTimeout = 120 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultMaxAttempts     = 10
	DefaultReplayBodyMax   = 1 << 20
	DefaultRetryAfterMax   = 60 * time.Second
	// DefaultBackoffBase is the wait after the first failed attempt; it
	// doubles with each further attempt, up to DefaultBackoffMax, with
	// jitter (a random part of up to half of it).
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 10 * time.Second
)

// TokenGetter hands out connections with fresh credentials
// (tokens.Service). Get must be safe for concurrent use.
type TokenGetter interface {
	Get(ctx context.Context, providerConfigKey, connectionID string, opts tokens.GetOptions) (store.Connection, error)
}

// Store is the part of store.Store the proxy uses.
type Store interface {
	GetIntegration(ctx context.Context, key string) (store.Integration, error)
	AddActivity(ctx context.Context, a *store.Activity) error
}

// Options configure a Handler. Tokens, Store and Templates are required.
type Options struct {
	// Tokens hands out connections with fresh credentials.
	Tokens TokenGetter
	// Store reads integrations and records activity.
	Store Store
	// Templates returns a provider template by name (the catalog's Get).
	Templates func(name string) (*provider.Template, bool)
	// Config holds the limits and switches (NANGO_PROXY_*); zero fields
	// take the Default* values (the booleans default to off).
	Config config.Proxy
	// Logger receives one warning per failed call (never a header, a body,
	// a query string or a secret); nil discards.
	Logger *slog.Logger
	// BackoffBase and BackoffMax shape the retry delays; 0 means
	// DefaultBackoffBase / DefaultBackoffMax.
	BackoffBase, BackoffMax time.Duration
	// Now is the clock for signatures and activity; nil means time.Now.
	Now func() time.Time
	// UserAgent is sent upstream unless the template or the caller sets
	// one; "" means "nango-go".
	UserAgent string
	// OnCall, when set, receives every call's activity entry as the call
	// ends, before it is queued for the store — also when the queue is full
	// and the entry is dropped (metrics should count here). It runs on the
	// request's goroutine and must be quick.
	OnCall func(store.Activity)
	// Tracer gives every upstream attempt a client span; nil is tracing
	// off.
	Tracer *tracing.Tracer
}

// Handler serves ALL /proxy/*. It is safe for concurrent use; Close it to
// flush the activity log and release idle upstream connections.
type Handler struct {
	o        Options
	trusted  *http.Transport // hosts written in templates
	guarded  *http.Transport // hosts from connection data or the override
	activity *activityLog
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &o.Config
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ResponseTimeout <= 0 {
		c.ResponseTimeout = DefaultResponseTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.ReplayBodyMax <= 0 {
		c.ReplayBodyMax = DefaultReplayBodyMax
	}
	if c.RetryAfterMax <= 0 {
		c.RetryAfterMax = DefaultRetryAfterMax
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.UserAgent == "" {
		o.UserAgent = "nango-go"
	}
	return &Handler{
		o:        o,
		trusted:  newTransport(o.Config, false),
		guarded:  newTransport(o.Config, !o.Config.AllowPrivateNetworks),
		activity: newActivityLog(o.Store, o.Logger),
	}
}

// Close writes the activity entries still queued and closes idle upstream
// connections. Calls served after Close are not recorded.
func (h *Handler) Close() error {
	h.activity.close()
	h.trusted.CloseIdleConnections()
	h.guarded.CloseIdleConnections()
	return nil
}

// ServeHTTP proxies one call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{h: h, w: w, r: r, start: time.Now(), rc: http.NewResponseController(w)}
	// The server's read and write deadlines (HTTPServer's ReadTimeout and
	// WriteTimeout) are sized for API calls, not for streams. The write
	// deadline is lifted until the answer starts, then pushed forward while
	// it moves (stream.go). The read deadline is pushed forward while the
	// request body arrives and lifted once it has: on HTTP/1 the server
	// keeps reading the connection to notice a caller that hangs up, and a
	// deadline passing there would cancel the call mid-stream.
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		_ = c.rc.SetReadDeadline(time.Time{})
	} else {
		_ = c.rc.SetReadDeadline(time.Now().Add(h.o.Config.IdleTimeout))
	}
	_ = c.rc.SetWriteDeadline(time.Time{})
	c.serve()
}

// call is the state of one proxied request.
type call struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	rc    *http.ResponseController
	start time.Time

	// Known once parsed, for the activity entry.
	key, id, provider, endpoint string
	attempts                    int
	status                      int
	failure                     string

	wd      *watchdog // set by forward
	bodyMu  sync.Mutex
	bodyErr error // the caller's body failed to arrive
}

func (c *call) serve() {
	defer c.record()
	p, e := c.plan()
	if e != nil {
		c.fail(e)
		return
	}
	c.forward(p)
}

// log is the handler's logger with the request id.
func (c *call) log() *slog.Logger {
	if id := httpx.RequestID(c.r.Context()); id != "" {
		return c.h.o.Logger.With("request_id", id)
	}
	return c.h.o.Logger
}

// fail answers with a Nango-side error envelope.
func (c *call) fail(e *httpx.Error) {
	c.status = e.Status
	if c.failure == "" {
		c.failure = e.Type + ": " + e.Message
	}
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.h.o.Config.IdleTimeout))
	httpx.WriteError(c.w, c.r, e)
}

// record adds the call's activity entry.
func (c *call) record() {
	if c.key == "" || c.id == "" {
		return // not even a connection named: nothing to attach it to
	}
	msg := c.failure
	switch {
	case msg == "" && c.status >= 400:
		msg = "the provider answered " + strconv.Itoa(c.status)
	case msg == "" && c.attempts > 1:
		msg = "answered after " + strconv.Itoa(c.attempts) + " attempts"
	}
	a := store.Activity{
		Time:              c.h.o.Now().UTC(),
		Action:            "proxy",
		Success:           c.failure == "" && c.status > 0 && c.status < 400,
		ProviderConfigKey: c.key,
		ConnectionID:      c.id,
		Provider:          c.provider,
		Method:            c.r.Method,
		Endpoint:          c.endpoint,
		Status:            c.status,
		Duration:          time.Since(c.start),
		Attempts:          c.attempts,
		Message:           clip(msg, 300),
	}
	if c.h.o.OnCall != nil {
		c.h.o.OnCall(a)
	}
	c.h.activity.add(a)
}

// clip bounds s to n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
