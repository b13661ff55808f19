// Package httpx holds the HTTP plumbing shared by every handler package: the
// {error, type, payload} error envelope and its catalogue of types (the one
// writer of API errors), JSON request decoding that turns every malformed
// body into a 4xx, JSON response writing, and the request-scoped logger and
// request id set by the server's middleware.
//
// It imports internal/store (for its sentinel errors) and the standard library
// only; it knows no routes.
package httpx
