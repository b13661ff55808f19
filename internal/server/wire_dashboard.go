package server

import "net/http"

// registerDashboard adds the dashboard (its pages, assets and /api/v1
// endpoints, behind the dashboard guard) and the public browser SDK at
// /sdk/nango.js. Owned by the dashboard work (issue 7).
func (s *Server) registerDashboard(mux *http.ServeMux) {}
