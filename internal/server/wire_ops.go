package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/metrics"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/telemetry"
	"github.com/nango-go/nango/internal/tokens"
	"github.com/nango-go/nango/internal/version"
)

// Operations wiring (issue 9): Prometheus metrics, anonymous telemetry,
// /ready and the request instrumentation. Open calls openOps right after the
// store is migrated; routes calls registerOps, and the middleware
// (middleware.go) calls observeRequest.
//
// Metrics and telemetry observe the server from two places only: the HTTP
// middleware (route pattern, status, duration) and a store.Store decorator
// (opsStore) that sees every activity entry (OAuth flows, refreshes, proxied
// calls), integration creation and credential reads. The decorator also
// carries the operational state, so Server needs no fields of its own for it.

// readyTimeout bounds the database checks of one /ready request.
const readyTimeout = 2 * time.Second

// opsStore is the store every component of the server uses: it passes every
// call through and observes some of them for metrics and telemetry.
type opsStore struct {
	store.Store
	raw       store.Store // the driver, for optional interfaces (PoolStatser)
	metrics   *metrics.Metrics
	telemetry *telemetry.Client

	metricsLn     net.Listener // NANGO_METRICS=port
	metricsServed atomic.Bool

	readyMu     sync.Mutex
	readyReason string // last /ready outcome ("" = ready), to log changes only
	readyLogged bool
}

// openOps builds metrics and telemetry from the configuration, starts the
// telemetry sender, opens the metrics port (NANGO_METRICS=port: a busy port
// fails the start), and returns the observing store that replaces st
// everywhere.
func (s *Server) openOps(st store.Store) (store.Store, error) {
	o := &opsStore{Store: st, raw: st}
	v, commit := version.Info()
	if s.cfg.Ops.MetricsMode != config.MetricsOff {
		o.metrics = metrics.New(metrics.Options{Version: v, Commit: commit})
		if p, ok := st.(store.PoolStatser); ok {
			o.metrics.WatchPools(p)
		}
	}
	if s.cfg.Ops.MetricsMode == config.MetricsPort {
		ln, err := net.Listen("tcp", s.cfg.Ops.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("NANGO_METRICS=port: listening on NANGO_METRICS_ADDR %s: %w", s.cfg.Ops.MetricsAddr, err)
		}
		o.metricsLn = ln
		s.closers = append(s.closers, func() error {
			if o.metricsServed.Load() {
				return nil // the serving goroutine closed it
			}
			_ = ln.Close()
			return nil
		})
	}
	if s.cfg.Telemetry && s.cfg.TelemetryEndpoint != "" {
		o.telemetry = telemetry.New(telemetry.Options{
			Endpoint:      s.cfg.TelemetryEndpoint,
			Version:       v,
			Store:         st,
			KnownProvider: builtinProviders(s.log),
			Logger:        s.log,
			OnDrop:        o.metrics.TelemetryDropped,
		})
		s.background(o.telemetry.Run)
		s.log.Info("anonymous telemetry: on (core action names, built-in provider names, version, random instance id; never tokens, keys or ids). TELEMETRY=false turns it off; see docs/telemetry.md.")
	}
	s.store = o
	return o, nil
}

// builtinProviders returns a lookup of the built-in catalog's template
// names: telemetry sends only those (a self-hoster's own template name might
// identify them).
func builtinProviders(log *slog.Logger) func(string) bool {
	cat, err := provider.Load("", log)
	if err != nil {
		return func(string) bool { return false }
	}
	names := make(map[string]struct{}, cat.Len())
	for _, t := range cat.Templates() {
		names[t.Name] = struct{}{}
	}
	return func(n string) bool { _, ok := names[n]; return ok }
}

// ops returns the server's operational state (nil before openOps).
func (s *Server) ops() *opsStore {
	o, _ := s.store.(*opsStore)
	return o
}

// serveMetricsPort serves /metrics alone on the listener openOps opened
// (NANGO_METRICS=port) until Close.
func (s *Server) serveMetricsPort(o *opsStore) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.metrics.Handler())
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln := o.metricsLn
	o.metricsServed.Store(true)
	s.log.Info("metrics: serving /metrics on a separate port", "addr", ln.Addr().String())
	s.background(func(ctx context.Context) {
		stop := context.AfterFunc(ctx, func() { _ = hs.Close() })
		defer stop()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener stopped", "err", err)
		}
	})
}

// registerOps adds GET /ready and, in NANGO_METRICS=secret mode, GET
// /metrics behind the secret key; in port mode it starts the separate
// listener. It also starts watching the WebSocket hub.
func (s *Server) registerOps(mux *http.ServeMux) {
	mux.HandleFunc("GET /ready", s.serveReady)
	o := s.ops()
	if o == nil || o.metrics == nil {
		return
	}
	o.metrics.WatchWebSockets(s.connect.OpenSockets)
	switch s.cfg.Ops.MetricsMode {
	case config.MetricsSecret:
		mux.Handle("GET /metrics", httpx.RequireSecretKey(s.cfg.SecretKey, o.metrics.Handler()))
	case config.MetricsPort:
		if o.metricsLn != nil && !o.metricsServed.Load() {
			s.serveMetricsPort(o)
		}
	}
}

// serveReady answers 200 {"result":"ok"} when the database answers and its
// schema is at least the one this server needs, else 503 with the reason.
// The reason never carries a host, a user or the driver's error text (the
// route is public, for load balancers); the log has the details.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	reason, detail := s.readiness(ctx)
	if o := s.ops(); o != nil {
		o.logReadiness(s.log, reason, detail)
	}
	if reason == "" {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"result": "ok"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"result": "unavailable", "reason": reason})
}

// readiness returns "" when ready, else a public reason and a detail for
// the log.
func (s *Server) readiness(ctx context.Context) (reason string, detail error) {
	if err := s.store.Ping(ctx); err != nil {
		return "database unreachable", err
	}
	applied, latest, err := s.store.SchemaVersion(ctx)
	if err != nil {
		return "database unreachable", fmt.Errorf("reading the schema version: %w", err)
	}
	if applied < latest {
		return fmt.Sprintf("database migrations pending (schema %d, this server needs %d)", applied, latest), nil
	}
	return "", nil
}

// logReadiness logs when readiness changes (not on every probe).
func (o *opsStore) logReadiness(log *slog.Logger, reason string, detail error) {
	o.readyMu.Lock()
	changed := !o.readyLogged || reason != o.readyReason
	o.readyReason, o.readyLogged = reason, true
	o.readyMu.Unlock()
	if !changed {
		return
	}
	if reason == "" {
		log.Info("ready: database reachable, schema up to date")
		return
	}
	args := []any{"reason", reason}
	if detail != nil {
		args = append(args, "err", detail)
	}
	log.Warn("not ready", args...)
}

// --- request instrumentation ------------------------------------------------

// reqInfo collects what the store decorator learns during one request
// (the middleware keeps it in its per-request state). The refresh flight of
// the token service may outlive the request and write from another
// goroutine, hence the atomics.
type reqInfo struct {
	fetched  atomic.Bool
	provider atomic.Value // string
}

func reqInfoFrom(ctx context.Context) *reqInfo {
	if rq := requestFrom(ctx); rq != nil {
		return &rq.info
	}
	return nil
}

// observeRequest records a finished request in the metrics (route pattern,
// method, status, duration) and derives the request-level telemetry
// events. The middleware calls it when metrics or telemetry are on.
func (o *opsStore) observeRequest(r *http.Request, status int, upgrade, panicked bool, d time.Duration, ri *reqInfo) {
	status = finalStatus(status, panicked)
	route := routeOf(r, upgrade)
	o.metrics.ObserveRequest(route, r.Method, status, d)
	if o.telemetry != nil && !panicked {
		o.trackRequest(r, route, status, ri)
	}
}

// finalStatus is the status a finished request answered: what the handler
// wrote, 200 when it wrote nothing, 500 when it panicked first.
func finalStatus(status int, panicked bool) int {
	if status == 0 {
		status = http.StatusOK
		if panicked {
			status = http.StatusInternalServerError
		}
	}
	return status
}

// routeOf is the route a finished request matched, for metrics and spans.
// ServeMux sets r.Pattern on the request it dispatches: this one, except
// proxy paths, which proxy.RawPaths hands to the mux as a copy rewritten to
// "/proxy/" (the pattern that then matches).
func routeOf(r *http.Request, upgrade bool) string {
	route := r.Pattern
	switch {
	case upgrade:
		route = "websocket"
	case route == "" && isProxyPath(r.URL.EscapedPath()):
		route = "/proxy/"
	}
	return route
}

func isProxyPath(p string) bool { return p == "/proxy" || strings.HasPrefix(p, "/proxy/") }

// trackRequest sends the request-level telemetry events of Part B §7.
func (o *opsStore) trackRequest(r *http.Request, route string, status int, ri *reqInfo) {
	provider, _ := ri.provider.Load().(string)
	switch {
	case route == "GET /connection" && status == http.StatusOK:
		o.telemetry.Track(telemetry.ConnectionListFetched, "")
	case (strings.HasPrefix(route, "GET /connection/") && status == http.StatusOK) ||
		(route == "/proxy/" && ri.fetched.Load()):
		o.telemetry.Track(telemetry.ConnectionFetched, provider)
	case strings.HasPrefix(route, "GET /oauth/connect") && r.Method == http.MethodGet && !r.URL.Query().Has("ws_client_id"):
		o.telemetry.Track(telemetry.PreWSOAuth, "")
	}
}

// --- the observing store ------------------------------------------------------

// AddActivity writes the entry and feeds it to the metrics (flows,
// refreshes, proxied calls) and telemetry (successful flows), whether or
// not the write succeeded: the action happened either way.
func (o *opsStore) AddActivity(ctx context.Context, a *store.Activity) error {
	err := o.Store.AddActivity(ctx, a)
	o.metrics.ObserveActivity(*a)
	if a.Action == metrics.ActionOAuth && a.Success {
		o.telemetry.Track(telemetry.ConnectionUpserted, a.Provider)
	}
	return err
}

// AddActivities writes the entries in one batch when the driver can
// (store.ActivityBatcher: the proxy's background activity log uses it) and
// feeds each to the metrics and telemetry as AddActivity does.
func (o *opsStore) AddActivities(ctx context.Context, entries []store.Activity) error {
	err := store.AddActivities(ctx, o.Store, entries)
	for _, a := range entries {
		o.metrics.ObserveActivity(a)
		if a.Action == metrics.ActionOAuth && a.Success {
			o.telemetry.Track(telemetry.ConnectionUpserted, a.Provider)
		}
	}
	return err
}

// CreateIntegration sends server:config_created after a creation (API and
// dashboard).
func (o *opsStore) CreateIntegration(ctx context.Context, in *store.Integration) error {
	err := o.Store.CreateIntegration(ctx, in)
	if err == nil {
		o.telemetry.Track(telemetry.ConfigCreated, in.Provider)
	}
	return err
}

// GetConnection notes a credential read in the request's info.
func (o *opsStore) GetConnection(ctx context.Context, providerConfigKey, connectionID string) (store.Connection, error) {
	c, err := o.Store.GetConnection(ctx, providerConfigKey, connectionID)
	if err == nil {
		if ri := reqInfoFrom(ctx); ri != nil {
			ri.fetched.Store(true)
		}
	}
	return c, err
}

// GetIntegration notes the integration's template in the request's info.
func (o *opsStore) GetIntegration(ctx context.Context, key string) (store.Integration, error) {
	in, err := o.Store.GetIntegration(ctx, key)
	if err == nil {
		if ri := reqInfoFrom(ctx); ri != nil {
			ri.provider.Store(in.Provider)
		}
	}
	return in, err
}

// tokenObserver feeds the token service's Gets to the metrics (fetches by
// cache outcome and result, refresh wait) and to the request's telemetry
// info (a connection was read, and its provider: cache hits never reach
// the store's GetConnection and GetIntegration); nil when both are off.
func (s *Server) tokenObserver() func(context.Context, tokens.GetStats) {
	o := s.ops()
	if o == nil || (o.metrics == nil && o.telemetry == nil) {
		return nil
	}
	return func(ctx context.Context, g tokens.GetStats) {
		if g.Err == nil {
			if ri := reqInfoFrom(ctx); ri != nil {
				ri.fetched.Store(true)
				if g.Provider != "" {
					ri.provider.Store(g.Provider)
				}
			}
		}
		o.metrics.ObserveTokenFetch(g.CacheHit, g.Err == nil)
		if g.Refreshed {
			o.metrics.ObserveRefreshWait(g.RefreshWait)
		}
	}
}
