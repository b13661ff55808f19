package server

import (
	"fmt"
	"net/http"

	"github.com/nango-go/nango/internal/dashboard"
)

// registerDashboard adds the dashboard (its pages, assets and /api/v1
// endpoints, behind the dashboard guard) and the public browser SDK at
// /sdk/nango.js, and starts the job that prunes the activity log. Owned by
// the dashboard work (issue 7).
func (s *Server) registerDashboard(mux *http.ServeMux) {
	d, err := dashboard.New(dashboard.Deps{
		Store:   s.store,
		Tokens:  s.tokens,
		Catalog: s.catalog,
		Config:  s.cfg,
		Logger:  s.log,
	})
	if err != nil {
		// The templates and static files are embedded: a failure here is a
		// broken build, caught by the dashboard's tests.
		panic(fmt.Sprintf("dashboard: %v", err))
	}
	d.Register(mux)
	s.background(d.RunRetention)
}
