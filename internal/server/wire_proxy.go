package server

import (
	"github.com/nango-go/nango/internal/proxy"
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
		Store:     s.store,
		Templates: s.catalog.Get,
		Config:    s.cfg.Proxy,
		Logger:    s.log,
		UserAgent: "nango-go/" + v,
	})
	s.closers = append(s.closers, h.Close)
	secured.HandleFunc("/proxy/", h.ServeHTTP)
}
