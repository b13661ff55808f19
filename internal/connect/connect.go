package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

const (
	// pruneInterval is how often Run deletes expired OAuth sessions.
	pruneInterval = 5 * time.Minute
	// closeWait bounds how long Close waits for sockets to close.
	closeWait = 5 * time.Second
	// maxEventDesc bounds the error description carried in a cross-instance
	// event (PostgreSQL NOTIFY payloads are limited to 8000 bytes). Sockets
	// on the instance that ran the flow always get the full text.
	maxEventDesc = 2000
	// maxEventPayload bounds an event's payload once encoded as a JSON
	// string, the form the PostgreSQL driver sends it in (its limit is 7000
	// bytes for the whole envelope).
	maxEventPayload = 6900
)

// Deps are what the handlers need. Store, Catalog, OAuth and Config are
// required.
type Deps struct {
	// Store persists sessions, connections and activity, and carries flow
	// results between instances (Publish/Subscribe).
	Store store.Store
	// Catalog resolves an integration's provider template.
	Catalog *provider.Catalog
	// OAuth exchanges authorization codes.
	OAuth *oauth.Client
	// Config supplies CallbackURL, HMAC and OAuthStateTTL.
	Config *config.Config
	// Logger receives diagnostics; nil discards them. Request handlers log
	// through the request-scoped logger when the server set one.
	Logger *slog.Logger
	// Now is the clock for session expiry; nil means time.Now.
	Now func() time.Time
	// MaxSockets bounds the WebSocket connections one instance holds open
	// at once; 0 means 10000.
	MaxSockets int
}

// Router is what Register adds routes to; *http.ServeMux is one. Patterns
// use Go 1.22 syntax.
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Handlers serves the public OAuth endpoints and the WebSocket channel of
// one server instance. Its methods are safe for concurrent use.
type Handlers struct {
	store   store.Store
	catalog *provider.Catalog
	oauth   *oauth.Client
	cfg     *config.Config
	log     *slog.Logger
	now     func() time.Time
	hub     *hub
	flows   map[provider.AuthMode]flow
	// failures bounds the activity entries of failed public requests.
	failures *limiter

	events      <-chan store.Event
	unsubscribe func()
	closing     chan struct{}
	closeOnce   sync.Once
}

// New builds the handlers and subscribes to the store's events, so that
// flow results published by other instances are received from now on; call
// Run to process them, and Close at shutdown. It panics when a required
// dependency is missing (a wiring bug).
func New(d Deps) *Handlers {
	if d.Store == nil || d.Catalog == nil || d.OAuth == nil || d.Config == nil {
		panic("connect.New: Store, Catalog, OAuth and Config are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxSockets <= 0 {
		d.MaxSockets = defaultMaxSockets
	}
	ttl := d.Config.OAuthStateTTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	h := &Handlers{
		store:   d.Store,
		catalog: d.Catalog,
		oauth:   d.OAuth,
		cfg:     d.Config,
		log:     d.Logger,
		now:     d.Now,
		// A socket lives as long as the state it waits for, plus the time
		// the callback may take to finish.
		hub:      newHub(d.Logger, ttl+time.Minute, d.MaxSockets),
		flows:    flows(d.OAuth),
		failures: newLimiter(failureBurst, failureEvery, d.Now),
		closing:  make(chan struct{}),
	}
	h.events, h.unsubscribe = d.Store.Subscribe()
	return h
}

// Register adds the public routes GET /oauth/connect/{providerConfigKey},
// GET /oauth/callback and the browser SDK's credential endpoints POST
// /api-auth/api-key/{providerConfigKey} and POST
// /api-auth/basic/{providerConfigKey} (no secret-key guard: browsers call
// them). HEAD is refused on the GET routes: it would start a flow or spend
// a state.
func (h *Handlers) Register(mux Router) {
	mux.HandleFunc("GET /oauth/connect/{providerConfigKey}", getOnly(h.serveConnect))
	// No key: the reference's no_provider_config_key.
	mux.HandleFunc("GET /oauth/connect/{$}", getOnly(h.serveConnect))
	mux.HandleFunc("GET /oauth/connect", getOnly(h.serveConnect))
	mux.HandleFunc("GET /oauth/callback", getOnly(h.serveCallback))
	h.registerCredentials(mux)
}

// getOnly refuses the HEAD requests that GET patterns also match.
func getOnly(next http.HandlerFunc) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		next(w, r)
	}
}

// IsWebSocketUpgrade reports whether r asks to open a WebSocket (on any
// path): the server routes such requests to ServeWebSocket.
func IsWebSocketUpgrade(r *http.Request) bool { return isUpgrade(r) }

// ServeWebSocket runs the browser SDK's channel (SPEC §2.3) on whatever path
// r names: it accepts the upgrade from any origin, sends
// {"message_type":"connection_ack","ws_client_id":"<uuid v4>"}, ignores what
// the client sends, delivers the one success or error message of the flow
// started with that ws_client_id — whichever instance served the callback —
// then closes. It returns when the socket is closed: after the result, when
// the client leaves, when the socket outlives the OAuth state TTL, or at
// Close.
func (h *Handlers) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	h.hub.serve(w, r)
}

// OpenSockets returns the number of WebSocket clients open on this
// instance (for metrics). It is safe on a nil *Handlers (0).
func (h *Handlers) OpenSockets() int {
	if h == nil || h.hub == nil {
		return 0
	}
	return h.hub.count()
}

// Run processes flow results published by other instances and deletes
// expired OAuth sessions periodically. It returns nil when ctx ends or Close
// is called, and when the store's subscription ends (the store closed).
func (h *Handlers) Run(ctx context.Context) error {
	h.prune(ctx)
	tick := time.NewTicker(pruneInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.closing:
			return nil
		case <-tick.C:
			h.prune(ctx)
		case ev, ok := <-h.events:
			if !ok {
				return nil
			}
			h.handleEvent(ev)
		}
	}
}

// Close closes every open socket (status going away) and ends the
// subscription; it waits a few seconds at most for the sockets. Requests
// served afterwards still work but results reach no socket. Safe to call
// more than once.
func (h *Handlers) Close() error {
	h.closeOnce.Do(func() {
		close(h.closing)
		h.unsubscribe()
		h.hub.close(closeWait)
	})
	return nil
}

// prune deletes expired sessions.
func (h *Handlers) prune(ctx context.Context) {
	n, err := h.store.PruneOAuthSessions(ctx, h.now())
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("pruning expired OAuth sessions", "err", err)
		}
		return
	}
	if n > 0 {
		h.log.Debug("pruned expired OAuth sessions", "count", n)
	}
}

// flowEvent is the payload of a store.TopicFlowResult event.
type flowEvent struct {
	WSClientID string        `json:"ws_client_id"`
	Message    resultMessage `json:"message"`
}

// handleEvent delivers a flow result published by any instance to the
// socket it names, when that socket is open here.
func (h *Handlers) handleEvent(ev store.Event) {
	if ev.Topic != store.TopicFlowResult {
		return
	}
	var fe flowEvent
	if err := json.Unmarshal([]byte(ev.Payload), &fe); err != nil {
		h.log.Warn("ignoring a malformed flow result event", "err", err)
		return
	}
	if !validClientID(fe.WSClientID) {
		return
	}
	switch fe.Message.MessageType {
	case msgSuccess, msgError:
	default:
		return
	}
	if h.hub.deliver(fe.WSClientID, fe.Message, false) {
		h.log.Debug("flow result delivered from another instance", "ws_client_id", fe.WSClientID)
	}
}

// notify sends a flow's result to its socket: directly when the socket is
// open on this instance (waiting until it is written), else through the
// store to every instance. Nothing is sent for legacy popups or ids this
// server cannot have issued.
func (h *Handlers) notify(ctx context.Context, log *slog.Logger, wsClientID string, msg resultMessage) {
	if !validClientID(wsClientID) {
		return
	}
	if h.hub.deliver(wsClientID, msg, true) {
		return
	}
	b, ok := encodeFlowEvent(flowEvent{WSClientID: wsClientID, Message: msg})
	if !ok {
		log.Warn("flow result too large to share with other instances; the socket will time out",
			"ws_client_id", wsClientID)
		return
	}
	if err := h.store.Publish(ctx, store.Event{Topic: store.TopicFlowResult, Payload: string(b)}); err != nil {
		log.Error("publishing a flow result", "ws_client_id", wsClientID, "err", err)
	}
}

// encodeFlowEvent encodes ev as an event payload of at most
// maxEventPayload bytes once JSON-string encoded, shortening the error
// description as needed. It fails only when the rest of the message (a huge
// connection id) is too large by itself.
func encodeFlowEvent(ev flowEvent) ([]byte, bool) {
	desc := ev.Message.ErrorDesc
	for limit := maxEventDesc; ; limit /= 2 {
		ev.Message.ErrorDesc = clip(desc, limit)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ev); err != nil {
			return nil, false
		}
		b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		wire, _ := json.Marshal(string(b))
		if len(wire) <= maxEventPayload {
			return b, true
		}
		if limit == 0 {
			return nil, false
		}
	}
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
