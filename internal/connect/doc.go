// Package connect serves the public side of the OAuth dance that the
// browser SDK drives from a popup: GET /oauth/connect/{providerConfigKey}
// (validate the request, create the OAuth session, redirect to the
// provider), GET /oauth/callback (take the session, exchange the code,
// store the connection, report the result), the WebSocket channel on which
// the SDK waits for that result, and the small pages that close the popup.
//
// State lives only in the database: an OAuth session is created through the
// store at connect time and taken (atomically, once) at callback time, so
// any instance can serve the callback. Results reach the socket through the
// store's events (PostgreSQL LISTEN/NOTIFY between instances), so the
// socket may be held by another instance than the one serving the callback.
// A connection is persisted before anyone is told of its success.
//
// Wire behaviour follows SPEC Part A and Part B §1.5, §1.6, §2; the auth
// mode specific part of the dance sits behind the flow interface (one
// implementation per auth mode: OAUTH2, OAUTH1). The browser SDK's
// credential endpoints POST /api-auth/api-key/{providerConfigKey} and POST
// /api-auth/basic/{providerConfigKey} create API_KEY and BASIC connections
// from what the end user typed, with the same query, HMAC and integration
// checks (docs/auth-modes.md).
//
// This package holds no SQL and makes no provider calls of its own (the OAuth
// engine makes them, credential verification included): it uses
// internal/store, internal/oauth, internal/provider, internal/config,
// internal/httpx and internal/secret. It must not import internal/server,
// internal/api or any store driver (tests excepted).
package connect
