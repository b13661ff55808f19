// Package metrics holds the server's Prometheus metrics: HTTP requests by
// route pattern and status, token fetches and refreshes, OAuth flows, proxy
// calls, database pools and WebSocket clients (docs/metrics.md lists every
// series).
//
// Metrics are observed, never pulled from request data: labels are route
// patterns, methods, status codes, provider template names and fixed
// outcome words — never a connection id, an integration key, a token or
// any other value a caller chose. Every method is safe on a nil *Metrics
// (metrics off) and for concurrent use.
//
// It imports internal/store (for Activity and PoolStats) and the Prometheus
// client; it must not import the HTTP handler packages (api, connect,
// proxy, dashboard) or the server.
package metrics
