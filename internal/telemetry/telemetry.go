package telemetry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// The events of Part B §7 the server sends.
const (
	// ConfigCreated: an integration was created (API or dashboard).
	ConfigCreated = "server:config_created"
	// ConnectionUpserted: an OAuth flow stored a connection.
	ConnectionUpserted = "server:connection_upserted"
	// ConnectionFetched: credentials were fetched (GET /connection/{id} or
	// a proxied call).
	ConnectionFetched = "server:connection_fetched"
	// ConnectionListFetched: GET /connection listed connections.
	ConnectionListFetched = "server:connection_list_fetched"
	// PreWSOAuth: /oauth/connect was called without ws_client_id (a legacy
	// SDK that listens with window.postMessage instead of a WebSocket).
	PreWSOAuth = "server:pre_ws_oauth"
)

// events lists the names Track accepts and whether they carry a provider.
var events = map[string]bool{
	ConfigCreated:         true,
	ConnectionUpserted:    true,
	ConnectionFetched:     true,
	ConnectionListFetched: false,
	PreWSOAuth:            false,
}

// MetaInstanceID is the store.SetMeta name of the anonymous instance id.
const MetaInstanceID = "telemetry_instance_id"

// CustomProvider replaces provider names that are not in the built-in
// catalog (a self-hoster's own template name could identify them).
const CustomProvider = "custom"

// Defaults of Options.
const (
	DefaultQueueSize     = 1000
	DefaultBatchSize     = 100
	DefaultFlushInterval = time.Minute
	DefaultTimeout       = 5 * time.Second
	// closeFlushTimeout bounds the last send when the server stops.
	closeFlushTimeout = time.Second
	// maxResponse is read from the endpoint's answer, at most.
	maxResponse = 4 << 10
)

// MetaStore is the part of store.Store used for the instance id.
type MetaStore interface {
	GetMeta(ctx context.Context, name string) (string, error)
	SetMeta(ctx context.Context, name, value string) error
}

// Options configure a Client. Endpoint is required.
type Options struct {
	// Endpoint receives the batches (HTTP POST, JSON).
	Endpoint string
	// Version is the server version sent with every batch.
	Version string
	// Store keeps the instance id (shared by every instance on one
	// database); nil means a new id per process.
	Store MetaStore
	// KnownProvider reports whether a template name is one of the built-in
	// catalog's; other names are sent as CustomProvider. nil sends
	// CustomProvider for every name.
	KnownProvider func(name string) bool
	// Logger receives send failures at debug level; nil discards.
	Logger *slog.Logger
	// HTTP sends the batches; nil means a client with Timeout.
	HTTP *http.Client
	// Timeout bounds one send; 0 means DefaultTimeout.
	Timeout time.Duration
	// QueueSize bounds the events waiting to be sent; beyond it events are
	// dropped. 0 means DefaultQueueSize.
	QueueSize int
	// BatchSize is the most events in one request; a full batch is sent at
	// once. 0 means DefaultBatchSize.
	BatchSize int
	// FlushInterval is how often a partial batch is sent; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// OnDrop is told how many events were dropped (queue full or failed
	// send); nil ignores it. It must not block.
	OnDrop func(n int)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Event is one event as sent.
type Event struct {
	// Name is one of the event constants.
	Name string `json:"event"`
	// Time is when it happened, UTC, to the second.
	Time time.Time `json:"timestamp"`
	// Properties holds "provider" for the events that carry one.
	Properties map[string]string `json:"properties,omitempty"`
}

// Batch is the JSON body of one request to the endpoint.
type Batch struct {
	// InstanceID is the anonymous installation id (random UUID v4).
	InstanceID string `json:"instance_id"`
	// Version is the server version.
	Version string `json:"version"`
	// SentAt is the send time, UTC, to the second.
	SentAt time.Time `json:"sent_at"`
	// Events are the batch's events, oldest first.
	Events []Event `json:"events"`
}

// Client queues and sends events. Track is safe for concurrent use and
// never blocks; Run sends. A nil *Client does nothing.
type Client struct {
	o       Options
	queue   chan Event
	dropped atomic.Int64
	sent    atomic.Int64
}

// New returns a Client; nothing is sent until Run.
func New(o Options) *Client {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: o.Timeout, Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConns:          1,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{o: o, queue: make(chan Event, o.QueueSize)}
}

// Track queues an event. Unknown names are ignored; provider is sent only
// for events that carry one, and only when it is a built-in template name.
// It never blocks: when the queue is full the event is dropped.
func (c *Client) Track(name, provider string) {
	if c == nil {
		return
	}
	withProvider, ok := events[name]
	if !ok {
		return
	}
	ev := Event{Name: name, Time: c.o.Now().UTC().Truncate(time.Second)}
	if withProvider {
		p := CustomProvider
		if provider != "" && c.o.KnownProvider != nil && c.o.KnownProvider(provider) {
			p = provider
		}
		ev.Properties = map[string]string{"provider": p}
	}
	select {
	case c.queue <- ev:
	default:
		c.drop(1)
	}
}

// Dropped returns how many events were dropped so far.
func (c *Client) Dropped() int64 {
	if c == nil {
		return 0
	}
	return c.dropped.Load()
}

// Sent returns how many events the endpoint accepted so far.
func (c *Client) Sent() int64 {
	if c == nil {
		return 0
	}
	return c.sent.Load()
}

func (c *Client) drop(n int) {
	c.dropped.Add(int64(n))
	if c.o.OnDrop != nil {
		c.o.OnDrop(n)
	}
}

// Run sends queued events until ctx ends, then sends what is left once,
// within a short bound, and returns. Call it once, in its own goroutine.
func (c *Client) Run(ctx context.Context) {
	if c == nil {
		return
	}
	id := c.instanceID(ctx)
	tick := time.NewTicker(c.o.FlushInterval)
	defer tick.Stop()
	var batch []Event
	flush := func(ctx context.Context) {
		if len(batch) > 0 {
			c.send(ctx, closeFlushTimeout, id, batch)
			batch = nil
		}
	}
	for {
		select {
		case ev := <-c.queue:
			batch = append(batch, ev)
			if len(batch) >= c.o.BatchSize && ctx.Err() == nil {
				flush(ctx)
			}
		case <-tick.C:
			if ctx.Err() == nil {
				flush(ctx)
			}
		case <-ctx.Done():
			for {
				select {
				case ev := <-c.queue:
					batch = append(batch, ev)
					continue
				default:
				}
				break
			}
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeFlushTimeout)
			for len(batch) > 0 && fctx.Err() == nil {
				n := min(len(batch), c.o.BatchSize)
				c.send(fctx, 0, id, batch[:n])
				batch = batch[n:]
			}
			c.drop(len(batch))
			cancel()
			return
		}
	}
}

// instanceID reads the anonymous id from the store, creating it on first
// use. Instances starting together may both create one: the id read back
// after writing wins. Without a store (or when it fails) the id is random
// for this process.
func (c *Client) instanceID(ctx context.Context) string {
	if c.o.Store == nil {
		return newUUID()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, err := c.o.Store.GetMeta(ctx, MetaInstanceID)
	if err == nil && id != "" {
		return id
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.o.Logger.Debug("telemetry: instance id not readable; using a temporary one", "err", err)
		return newUUID()
	}
	id = newUUID()
	if err := c.o.Store.SetMeta(ctx, MetaInstanceID, id); err != nil {
		c.o.Logger.Debug("telemetry: instance id not stored", "err", err)
		return id
	}
	if back, err := c.o.Store.GetMeta(ctx, MetaInstanceID); err == nil && back != "" {
		return back
	}
	return id
}

// send posts one batch; a failure drops it (no retry: telemetry must never
// pile up work). When ctx ends, the send gets grace more time, then is cut.
func (c *Client) send(ctx context.Context, grace time.Duration, id string, evs []Event) {
	body, err := json.Marshal(Batch{InstanceID: id, Version: c.o.Version, SentAt: c.o.Now().UTC().Truncate(time.Second), Events: evs})
	if err != nil {
		c.drop(len(evs))
		return
	}
	// A send in flight when the server stops gets a short grace, then is
	// cut: stopping never waits for a slow endpoint for long.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	defer stop()
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, c.o.Endpoint, bytes.NewReader(body))
	if err != nil {
		c.drop(len(evs))
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nango-go/"+c.o.Version)
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		c.drop(len(evs))
		c.o.Logger.Debug("telemetry: batch not sent", "events", len(evs), "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		c.drop(len(evs))
		c.o.Logger.Debug("telemetry: batch refused", "events", len(evs), "status", resp.StatusCode)
		return
	}
	c.sent.Add(int64(len(evs)))
}

// newUUID returns a random UUID v4.
func newUUID() string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	r[6] = (r[6] & 0x0f) | 0x40
	r[8] = (r[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", r[0:4], r[4:6], r[6:8], r[8:10], r[10:16])
}
