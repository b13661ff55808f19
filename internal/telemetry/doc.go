// Package telemetry sends anonymous usage events (SPEC Part A "Telemetry",
// Part B §7): the core action names, the template name of the provider
// involved, an anonymous random instance id and the server version — never
// a token, key, secret, client id, connection id, integration key, URL or
// end-user data. docs/telemetry.md documents every field.
//
// Events are queued without blocking (a full queue drops them) and sent in
// batches by one background goroutine with short timeouts, so a dead or
// slow endpoint never slows or fails a request. With telemetry off the
// server creates no Client: no goroutine runs and no request is made; every
// method is a no-op on a nil *Client.
//
// It imports internal/store only for the Meta contract (instance id); it
// must not import the HTTP handler packages or the server.
package telemetry
