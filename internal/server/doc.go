// Package server wires the nango server together: it opens the store,
// loads the provider catalog, builds the root handler (middleware, health,
// API, OAuth endpoints, WebSocket, dashboard), and runs the http.Server with
// its timeouts and graceful shutdown.
//
// It is the only package that knows every area; areas must not import it.
package server
