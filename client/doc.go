// Package client is the Go client of the nango-go HTTP API (and of any
// server wire-compatible with Nango 0.16): integrations, connections, tokens
// and the proxy.
//
// Every call takes a context; errors returned by the server are *APIError
// values exposing its status, type and message:
//
//	c, err := client.New("http://localhost:3003", client.WithSecretKey(os.Getenv("NANGO_SECRET_KEY")))
//	if err != nil { ... }
//	_, err = c.GetIntegration(ctx, "github")
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Type == "unknown_provider_config" { ... }
//
// The package imports only the standard library (and golang.org/x/oauth2 for
// its TokenSource adapter); it must not import the server's internal packages.
package client
