package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
	"github.com/nango-go/nango/internal/version"
	"github.com/nango-go/nango/web"
)

// DefaultRetention is how long activity entries are kept when the
// configuration says nothing (NANGO_ACTIVITY_RETENTION's default).
const DefaultRetention = 15 * 24 * time.Hour

// pageSize is the number of rows of a connections or activity page.
const pageSize = 50

// TokenGetter hands out connections with fresh credentials;
// *tokens.Service is one. Get must be safe for concurrent use.
type TokenGetter interface {
	Get(ctx context.Context, providerConfigKey, connectionID string, opts tokens.GetOptions) (store.Connection, error)
}

// Deps are what the dashboard needs. Store, Tokens, Catalog and Config are
// required.
type Deps struct {
	// Store holds integrations, connections and the activity log.
	Store store.Store
	// Tokens is the one path to fresh credentials (detail page, "refresh
	// now").
	Tokens TokenGetter
	// Catalog lists the provider templates.
	Catalog *provider.Catalog
	// Config supplies the dashboard credentials, URLs and security status.
	Config *config.Config
	// Logger receives diagnostics (never a secret); nil discards them.
	// Handlers log through the request-scoped logger when the server set one.
	Logger *slog.Logger
	// Now is the clock (relative times, retention); nil means time.Now.
	Now func() time.Time
}

// Handler serves the dashboard. It is safe for concurrent use; its
// templates and static files are parsed once, in New.
type Handler struct {
	d      Deps
	pages  map[string]*template.Template
	assets *assets
	cop    *http.CrossOriginProtection
	picker []pickerItem
	// throttle slows down guessing the dashboard password.
	throttle *loginThrottle
}

// Route is one route the dashboard registers.
type Route struct {
	// Method and Pattern are the ServeMux pattern's parts.
	Method, Pattern string
	// Public routes are reachable without the dashboard credentials
	// (only the browser SDK).
	Public bool
}

type route struct {
	Route
	api     bool // JSON endpoint: CSRF token in the header, JSON errors
	handler http.HandlerFunc
}

// New parses the templates and static files and returns the handler. It
// fails only when an embedded file is broken (a build defect).
func New(d Deps) (*Handler, error) {
	if d.Store == nil || d.Tokens == nil || d.Catalog == nil || d.Config == nil {
		return nil, errors.New("dashboard.New: Store, Tokens, Catalog and Config are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{d: d, cop: http.NewCrossOriginProtection(), throttle: newLoginThrottle(d.Now)}
	var err error
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if h.pages, err = h.parseTemplates(); err != nil {
		return nil, err
	}
	h.picker = buildPicker(d.Catalog)
	return h, nil
}

// table is every route of the dashboard. Register and Routes read it, so
// a test can walk every route the mux knows.
func (h *Handler) table() []route {
	page := func(method, pattern string, fn http.HandlerFunc) route {
		return route{Route: Route{Method: method, Pattern: pattern}, handler: fn}
	}
	api := func(method, pattern string, fn http.HandlerFunc) route {
		return route{Route: Route{Method: method, Pattern: pattern}, api: true, handler: fn}
	}
	return []route{
		page("GET", "/{$}", h.root),
		page("GET", "/static/{file}", h.serveStatic),

		page("GET", "/integrations", h.integrations),
		page("GET", "/integrations/new", h.newIntegration),
		page("POST", "/integrations/new", h.createIntegration),
		page("GET", "/integrations/edit", h.editIntegration),
		page("POST", "/integrations/edit", h.updateIntegration),
		page("GET", "/integrations/delete", h.confirmDeleteIntegration),
		page("POST", "/integrations/delete", h.deleteIntegration),

		page("GET", "/connections", h.connections),
		page("GET", "/connections/new", h.newConnection),
		api("POST", "/connections/hmac", h.connectionHMAC),
		page("GET", "/connections/detail", h.connection),
		api("GET", "/connections/secrets", h.connectionSecrets),
		page("POST", "/connections/refresh", h.refreshConnection),
		page("GET", "/connections/delete", h.confirmDeleteConnection),
		page("POST", "/connections/delete", h.deleteConnection),

		page("GET", "/activity", h.activity),
		page("GET", "/settings", h.settings),

		// The reference's dashboard API (SPEC §1.10).
		api("GET", "/api/v1/account", h.apiAccount),
		api("GET", "/api/v1/user", h.apiUser),
		api("GET", "/api/v1/provider", h.apiProviders),
		api("GET", "/api/v1/integration", h.apiIntegrations),
		api("GET", "/api/v1/integration/{key}", h.apiIntegration),
		api("POST", "/api/v1/integration", h.apiCreateIntegration),
		api("PUT", "/api/v1/integration", h.apiUpdateIntegration),
		api("DELETE", "/api/v1/integration/{key}", h.apiDeleteIntegration),
		api("GET", "/api/v1/connection", h.apiConnections),
		api("GET", "/api/v1/connection/{connectionId}", h.apiConnection),
		api("DELETE", "/api/v1/connection/{connectionId}", h.apiDeleteConnection),
		api("GET", "/api/v1/activity", h.apiActivity),

		// Public: apps load the SDK from their own pages.
		{Route: Route{Method: "GET", Pattern: "/sdk/nango.js", Public: true}, handler: serveSDK},
	}
}

// Register adds every dashboard route to mux, each behind the guard
// (security headers, Basic auth when configured, CSRF) except the public
// browser SDK.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, rt := range h.table() {
		var hd http.Handler = rt.handler
		if !rt.Public {
			hd = h.guard(rt.api, rt.handler)
		}
		mux.Handle(rt.Method+" "+rt.Pattern, hd)
	}
}

// Routes lists the routes Register adds.
func (h *Handler) Routes() []Route {
	t := h.table()
	out := make([]Route, len(t))
	for i, rt := range t {
		out[i] = rt.Route
	}
	return out
}

// serveSDK is GET /sdk/nango.js: the browser SDK, public and shareable
// cross-origin (apps import it from their own origin).
func serveSDK(w http.ResponseWriter, _ *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(web.SDK)
}

// root is GET /: the integrations list is the home page.
func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/integrations", http.StatusSeeOther)
}

// parseTemplates parses layout.html with each page template, once.
func (h *Handler) parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(h.funcs()).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(name, ".html")] = t
	}
	return pages, nil
}

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string // the highlighted navigation entry
	CSRF    string
	Flash   string
	Error   string
	Banners []string
	Version string
	Data    any
}

// render executes a page into a buffer first, so a template failure gives
// a clean error page rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := h.pages[name]
	if !ok {
		h.fail(w, r, fmt.Errorf("dashboard: no page template %q", name))
		return
	}
	v.CSRF = csrfToken(r.Context())
	v.Banners = h.banners()
	v.Version, _ = version.Info()
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		h.fail(w, r, fmt.Errorf("rendering %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// banners are the warnings shown on every page.
func (h *Handler) banners() []string {
	var out []string
	if !h.authRequired() {
		out = append(out, "The dashboard is open: anyone who can reach this server can manage integrations and read tokens. "+
			"Set NANGO_DASHBOARD_USERNAME and NANGO_DASHBOARD_PASSWORD to require a login.")
	}
	if h.d.Config.SecretKey.IsZero() {
		out = append(out, "The API is unsecured: NANGO_SECRET_KEY is not set, so anyone who can reach this server can read tokens through the API. "+
			"Set NANGO_SECRET_KEY.")
	}
	return out
}

// errorPage answers with a page explaining what went wrong.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	h.render(w, r, status, "error", view{Title: title, Error: msg})
}

// fail answers an unexpected failure: a store that is unavailable is a
// 503, an undecryptable secret and anything else a 500 whose page names
// only the request id; the cause goes to the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	log := httpx.Logger(r.Context())
	status, title, msg := http.StatusInternalServerError, "Something went wrong",
		"An internal error occurred. The server log has the details (request id "+httpx.RequestID(r.Context())+")."
	switch {
	case errors.Is(err, store.ErrUnavailable):
		status, title, msg = http.StatusServiceUnavailable, "Database unavailable", "The database is unavailable right now; retry shortly."
		log.Warn("dashboard: database unavailable", "err", err)
	case errors.Is(err, store.ErrUndecryptable):
		msg = "A stored secret could not be decrypted with the configured encryption keys; check NANGO_ENCRYPTION_KEY and NANGO_ENCRYPTION_PREVIOUS_KEYS."
		log.Error("dashboard: stored secret cannot be decrypted", "err", err)
	default:
		log.Error("dashboard: internal error", "err", err)
	}
	if _, ok := h.pages["error"]; !ok || strings.HasPrefix(err.Error(), "rendering error") {
		http.Error(w, msg, status)
		return
	}
	h.render(w, r, status, "error", view{Title: title, Error: msg})
}

// log returns the request-scoped logger.
func (h *Handler) log(r *http.Request) *slog.Logger {
	return httpx.Logger(r.Context())
}
