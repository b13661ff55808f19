package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/connect"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/proxy"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
	"github.com/nango-go/nango/internal/tracing"
	"github.com/nango-go/nango/internal/version"
)

// Server is a configured nango server: store open and migrated, catalog
// loaded, handler built. It does not listen until Serve.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	store   store.Store
	catalog *provider.Catalog
	oauth   *oauth.Client
	tokens  *tokens.Service
	connect *connect.Handlers
	handler http.Handler
	tracer  *tracing.Tracer // nil: tracing off

	mu       sync.Mutex
	closers  []func() error
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
}

// Open prepares a server from cfg: it loads the provider catalog, opens the
// database and applies migrations. Close releases what Open acquired.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cat, err := provider.Load(cfg.ProvidersFile, log)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("applying database migrations: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, catalog: cat}
	s.closers = append(s.closers, st.Close)
	// Tracing (OTEL_*): closed after everything that starts spans, so
	// their last spans are flushed.
	v, _ := version.Info()
	tracer, shutdownTracing := tracing.Setup(cfg.Tracing, v, log, tracing.Options{})
	s.tracer = tracer
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return shutdownTracing(ctx)
	})
	// The token cache (decrypted connections and integrations): every
	// component writes through the store Track returns, so this process's
	// writes drop what they change at once; other instances' writes arrive
	// as store events.
	// Connections are kept as the API's answer to a token fetch
	// (api.ConnectionCodec), which a hit returns as it is.
	cacheBytes := int(cfg.TokenCacheBytes)
	if cacheBytes == 0 {
		cacheBytes = -1 // NANGO_TOKEN_CACHE_SIZE=0: off
	}
	cache := tokens.NewCache(tokens.CacheOptions{Bytes: cacheBytes, Codec: api.ConnectionCodec, Logger: log})
	st = cache.Track(st)
	s.closers = append(s.closers, cache.Close)
	if st, err = s.openOps(st); err != nil { // metrics, telemetry (wire_ops.go)
		_ = s.Close()
		return nil, err
	}
	if err := s.startEncryption(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.oauth = &oauth.Client{Logger: log, AllowPrivateNetworks: cfg.Proxy.AllowPrivateNetworks, Tracer: tracer}
	s.tokens = tokens.New(tokens.Options{Store: st, Templates: cat.Get, OAuth: s.oauth, Logger: log, Observe: s.tokenObserver(), Cache: cache})
	s.closers = append(s.closers, s.tokens.Close)
	s.connect = connect.New(connect.Deps{Store: st, Catalog: cat, OAuth: s.oauth, Config: cfg, Logger: log})
	s.closers = append(s.closers, s.connect.Close)
	s.background(func(ctx context.Context) {
		if err := s.connect.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("connect event loop stopped", "err", err)
		}
	})
	s.handler = s.routes()
	return s, nil
}

// background runs fn until Close.
func (s *Server) background(fn func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bgCancel == nil {
		var ctx context.Context
		ctx, s.bgCancel = context.WithCancel(context.Background())
		s.bgCtx = ctx
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		fn(s.bgCtx)
	}()
}

// Store returns the server's store (for admin commands and tests).
func (s *Server) Store() store.Store { return s.store }

// Handler returns the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops background work and releases the store. Safe to call twice.
func (s *Server) Close() error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	cancel := s.bgCancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.bgWG.Wait()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i]())
	}
	return errors.Join(errs...)
}

// guarded is a Router that wraps every handler with the secret-key guard.
type guarded struct {
	mux *http.ServeMux
	key func(http.Handler) http.Handler
}

func (g guarded) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	g.mux.Handle(pattern, g.key(http.HandlerFunc(h)))
}

// healthBody is GET /health's answer, encoded once: load balancers probe
// it often.
var healthBody = []byte(`{"result":"ok"}` + "\n")

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSONBytes(w, http.StatusOK, healthBody)
	})
	s.registerOps(mux) // GET /ready, GET /metrics (wire_ops.go)

	secured := guarded{mux: mux, key: func(h http.Handler) http.Handler {
		return httpx.RequireSecretKey(s.cfg.SecretKey, h)
	}}
	api.New(api.Deps{
		Store:     s.store,
		Templates: s.catalog.Get,
		Tokens:    s.tokens,
		Logger:    s.log,
	}).Register(secured)

	s.registerProxy(secured)

	// Public: browsers reach these from the popup.
	s.connect.Register(mux)
	s.registerDashboard(mux)

	mux.Handle("/", notFound(mux))
	// ServeMux cleans "//" and ".." out of paths and redirects before any
	// pattern matches; the proxy must see its endpoint verbatim (the node
	// SDK sends /proxy//user), so its paths bypass the cleaning.
	proxied := proxy.RawPaths(mux)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The frontend SDK opens its WebSocket on the host URL itself, so
		// an upgrade is accepted on any path (SPEC §2.2).
		if connect.IsWebSocketUpgrade(r) {
			s.connect.ServeWebSocket(w, r)
			return
		}
		proxied.ServeHTTP(w, r)
	})
	return s.middleware(cors(root))
}

// notFound answers unmatched requests with the error envelope: 405 with an
// Allow header when the path exists for other methods, else 404.
func notFound(mux *http.ServeMux) http.Handler {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range methods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", joinComma(allowed))
			httpx.WriteError(w, r, httpx.Ef("method_not_allowed", "%s is not allowed on this route; use %s.", r.Method, joinComma(allowed)))
			return
		}
		httpx.WriteError(w, r, httpx.Ef("not_found", "No route matches %s %s.", r.Method, logPath(r.URL.Path)))
	})
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// HTTPServer returns the http.Server for handler with all four timeouts
// set. Long-lived routes (proxy streams, WebSockets) extend their own
// deadlines with http.ResponseController.
func HTTPServer(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (up to the configured
// shutdown timeout) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := HTTPServer(s.handler, s.log)
	// WebSockets are hijacked connections that Shutdown does not track:
	// close them (with 1001 "going away") as soon as shutdown starts.
	hs.RegisterOnShutdown(func() { _ = s.connect.Close() })
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "server_url", s.cfg.ServerURL, "callback_url", s.cfg.CallbackURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("shutdown timeout: closing remaining connections", "err", err)
		_ = hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Listen opens the configured port on all interfaces.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(s.cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("listening on port %d: %w", s.cfg.Port, err)
	}
	return ln, nil
}
