package server

import (
	"context"

	"github.com/nango-go/nango/internal/proxy"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
	"github.com/nango-go/nango/internal/version"
)

// registerProxy adds the proxy routes (ALL /proxy/*) behind the secret-key
// guard. Owned by the proxy work (issue 5).
//
// The pattern "/proxy/" matches every method. ServeMux cleans paths before
// matching (it would redirect "/proxy//user" to "/proxy/user"), so the root
// handler must hand requests to the mux through proxy.RawPaths, which keeps
// the raw path for the proxy and gives the mux a clean one.
func (s *Server) registerProxy(secured guarded) {
	v, _ := version.Info()
	h := proxy.New(proxy.Options{
		Tokens:    s.tokens,
		Store:     proxyStore{Store: s.store, tokens: s.tokens},
		Templates: s.catalog.Get,
		Config:    s.cfg.Proxy,
		Logger:    s.log,
		UserAgent: "nango-go/" + v,
		Tracer:    s.tracer,
	})
	s.closers = append(s.closers, h.Close)
	secured.HandleFunc("/proxy/", h.ServeHTTP)
}

// proxyStore is the proxy's store: integrations are read through the token
// service (its cache, kept correct across instances as the credentials the
// proxy fetches next are), so a proxied call needs no database round trip
// before the provider's; activity entries go to the server's store, in
// batches when it can (store.ActivityBatcher).
type proxyStore struct {
	store.Store
	tokens *tokens.Service
}

// GetIntegration reads the integration through the token service's cache.
func (p proxyStore) GetIntegration(ctx context.Context, key string) (store.Integration, error) {
	return p.tokens.Integration(ctx, key)
}

// AddActivities writes the entries in one batch when the store can.
func (p proxyStore) AddActivities(ctx context.Context, entries []store.Activity) error {
	return store.AddActivities(ctx, p.Store, entries)
}
