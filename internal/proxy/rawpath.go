package proxy

import (
	"context"
	"net/http"
	"strings"
)

type rawPathKey struct{}

// RawPaths wraps a handler (the server's ServeMux) so that proxy requests
// reach it with their path as sent. ServeMux cleans paths and redirects
// "/proxy//user" to "/proxy/user" (and resolves "." and ".." segments)
// before any pattern matches; the endpoint after /proxy/ must survive
// verbatim (SPEC §1.9: @nangohq/node builds "/proxy/" + endpoint, so an
// endpoint starting with "/" gives "//"). For a request whose escaped path
// is "/proxy" or starts with "/proxy/", RawPaths keeps the original path in
// the request context, where Endpoint finds it, and hands next a copy whose
// URL path is "/proxy/" — a clean path that matches the proxy's pattern.
// Other requests pass unchanged.
func RawPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if p != "/proxy" && !strings.HasPrefix(p, "/proxy/") {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), rawPathKey{}, p))
		u := *r.URL
		u.Path, u.RawPath = "/proxy/", ""
		r2.URL = &u
		next.ServeHTTP(w, r2)
	})
}
