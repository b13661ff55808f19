// Package proxy serves ALL /proxy/*: it calls a provider's API "as" a
// connection, with the connection's fresh credentials, and streams the
// provider's answer back unchanged (SPEC Part A "Proxy", amending §1.9).
//
// A call names the connection with the Connection-Id and Provider-Config-Key
// headers; the path after /proxy/ (raw: double slashes and percent-encoding
// kept) is joined to the provider template's base URL and the query string is
// passed on. Credentials come from tokens.Service.Get — the same refresh
// guarantees as GET /connection — and are injected by auth mode: OAuth 2 as
// a Bearer token, OAuth 1.0a as a signed Authorization header (HMAC-SHA1,
// RSA-SHA1 or PLAINTEXT over method, URL, query and form body), API keys and
// Basic credentials as the template's proxy headers and query parameters say
// (plain Basic auth for BASIC templates that name no authorization header).
// Nango-Proxy-<Name> headers are forwarded as <Name>, with Content-Type and
// Accept; nothing else of the caller's request headers is.
//
// Bodies are streamed both ways with bounded memory: a request body is held
// in memory only when it is small enough to be replayed on a retry (or must
// be, because the provider signs over it); the response is copied through a
// fixed buffer. Retries (the Retries header: attempts in total) happen on 429,
// 5xx, the template's retryable statuses and network errors, with
// exponential back-off and jitter, honouring Retry-After (and the template's
// rate-limit headers) up to a cap.
//
// Safety: the proxy only calls the template's base URL (or, when the
// operator allows it, the caller's Base-Url-Override); it never follows
// redirects; hosts that come from connection data or from the override may
// not resolve to loopback, private or link-local addresses unless the
// operator allows it (checked at connect time, so DNS rebinding does not
// help).
//
// Every call is recorded in the activity log (method, endpoint without query
// values, status, duration, attempts), never headers or bodies.
//
// The package imports internal/config, internal/httpx, internal/provider,
// internal/secret, internal/store (types only) and internal/tokens; it must
// not import a store driver, internal/api, internal/connect or
// internal/server, and holds no SQL.
package proxy
