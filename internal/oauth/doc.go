// Package oauth is the auth protocol engine. For OAuth 2 it builds
// authorization URLs (SPEC §3.2), exchanges authorization codes for tokens
// (§3.4), parses token responses into credentials and connection metadata
// (§3.5, §3.6) and refreshes tokens (§3.7, with Part A's amendments). It
// obtains client-credentials tokens (OAUTH2_CC: body or Basic client
// authentication, private_key_jwt assertions, mutual TLS, zoominfo's custom
// login), runs the OAuth 1.0a calls (request token, authorization URL,
// access token; HMAC-SHA1, RSA-SHA1 and PLAINTEXT signatures, SignOAuth1)
// and checks API_KEY / BASIC credentials with a template's verification
// request (VerifyCredentials). docs/auth-modes.md describes each mode. It speaks the wire
// format of the reference exactly (parameter order and encoding, client
// authentication quirks declared by provider templates) rather than that of
// golang.org/x/oauth2, whose order and encoding differ.
//
// It is pure protocol: it holds no state, writes nothing to a database and
// serves no HTTP. Callers (the connect handlers, the token service) decide
// what to store and when. Every call to a provider has a timeout, never
// follows a redirect to another host, and reads a bounded response. Errors
// never contain tokens, codes, verifiers or client secrets.
//
// The flow errors shown to the popup and the WebSocket (SPEC §2.5) are
// *FlowError values with the reference's exact types and texts.
//
// It may import internal/provider, internal/store (types only),
// internal/secret and the standard library; it must not import HTTP handler
// packages (api, connect, server) or any store driver.
package oauth
