// Package client is the Go client of the nango-go HTTP API (and of any
// server wire-compatible with Nango 0.16): integrations, connections, typed
// tokens, an oauth2.TokenSource adapter, and the proxy. The nango CLI and
// the project's end-to-end tests use it; there is no other client code.
//
// # Connecting
//
// New takes the server's URL and options: WithSecretKey (the server's
// NANGO_SECRET_KEY, sent as HTTP Basic auth by default, or Bearer with
// WithAuthScheme), WithHTTPClient (timeouts, transports) and
// WithUserAgent. A Client is safe for concurrent use.
//
//	c, err := client.New("http://localhost:3003", client.WithSecretKey(os.Getenv("NANGO_SECRET_KEY")))
//	if err != nil { ... }
//	tok, err := c.Token(ctx, "github", "user-42", false)
//
// # Calls
//
//	Integrations  ListIntegrations, GetIntegration, CreateIntegration, UpdateIntegration, DeleteIntegration  (/config)
//	Connections   ListConnections, GetConnection, ImportConnection, DeleteConnection                        (/connection)
//	Tokens        Token (typed by auth mode), TokenSource (golang.org/x/oauth2)
//	Proxy         Proxy (ALL /proxy/*: streaming, retries, forwarded headers)
//
// Every call takes a context. Reading a connection (GetConnection, Token,
// TokenSource) returns fresh credentials: the server refreshes an OAuth 2
// access token that is about to expire before answering, or on request
// (forceRefresh), once across all its instances.
//
// # Errors
//
// Whatever the server answers with a non-2xx status is an *APIError holding
// the status and the server's error envelope (type, message, payload). The
// types are the reference's, misspellings included ("unkown_connection"):
//
//	_, err = c.GetIntegration(ctx, "github")
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Type == "unknown_provider_config" { ... }
//
// Network failures and context errors are returned as they are
// (errors.Is(err, context.Canceled) works).
//
// # Secrets
//
// Credentials, Token values and ImportConnectionInput print and log (fmt,
// log/slog) without their secrets; only their fields, and their JSON
// encoding, hold the real values.
//
// The package imports only the standard library and golang.org/x/oauth2;
// it must not import the server's internal packages (its tests may).
package client
