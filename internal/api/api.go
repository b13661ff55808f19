package api

import (
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// TemplateLookup returns a provider template by name (the catalog's Get).
type TemplateLookup func(name string) (*provider.Template, bool)

// Deps are what the API handlers need.
type Deps struct {
	Store     store.Store
	Templates TemplateLookup
	Logger    *slog.Logger
	// Tokens hands out connections with fresh credentials (tokens.Service).
	Tokens TokenGetter
}

// API serves the secret-key API routes.
type API struct {
	d Deps
}

// New returns the API handlers.
func New(d Deps) *API {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{d: d}
}

// Router is where handler packages register their routes (Go 1.22
// ServeMux patterns). The server's Router applies the right guard.
type Router interface {
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// Register adds the API routes. The server's router applies the secret-key
// guard to each.
func (a *API) Register(mux Router) {
	mux.HandleFunc("GET /config", a.listConfigs)
	mux.HandleFunc("GET /config/{key}", a.getConfig)
	mux.HandleFunc("POST /config", a.createConfig)
	mux.HandleFunc("PUT /config", a.updateConfig)
	mux.HandleFunc("DELETE /config/{key}", a.deleteConfig)
	a.registerConnections(mux)
}

// MaxKeyLength bounds provider config keys and connection ids.
const MaxKeyLength = 255

// CheckKey validates a provider config key or connection id: 1 to 255
// bytes of valid UTF-8 without control characters. what names it in the
// error ("provider_config_key", "connection_id").
func CheckKey(what, s string) *httpx.Error {
	typ := "invalid_provider_config"
	if what == "connection_id" {
		typ = "invalid_connection_id"
	}
	switch {
	case len(s) > MaxKeyLength:
		return httpx.Ef(typ, "'%s' is longer than %d bytes.", what, MaxKeyLength)
	case !utf8.ValidString(s):
		return httpx.Ef(typ, "'%s' is not valid UTF-8.", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return httpx.Ef(typ, "'%s' contains control characters.", what)
	}
	return nil
}
