// Package tokens is the credential service: the one path every caller (the
// connections API, the proxy, the dashboard) uses to obtain a connection
// with fresh credentials.
//
// Service.Get reads the connection and, when its OAuth 2 access token
// expires within the refresh margin (15 minutes, or the template's
// token_expiration_buffer) and a refresh token exists — or when the caller
// forces it — refreshes it through internal/oauth, with the guarantees of
// SPEC Part A:
//
//   - exactly one refresh per connection at a time across every server
//     instance on the database: one goroutine per connection per process
//     (an in-process flight) takes the store's refresh lease
//     (Store.TryLockRefresh); other instances wait for the holder (woken by
//     the store's connection events, polling with back-off as a fallback),
//     re-read and share its result, success or failure;
//   - a rotated refresh token is never lost: the new credentials are written
//     with Store.UnlockRefresh even when the lease was lost meanwhile, and
//     the write is retried when the database is briefly unavailable;
//   - an invalid_grant caused by a concurrent refresh (the stored refresh
//     token changed since it was read) is recovered by re-reading, and at
//     most one retry, never reported;
//   - a failed refresh leaves the credentials intact and records the
//     failure (time, the provider's error, consecutive count) on the
//     connection;
//   - the provider call has a timeout, the lease outlives it, and no
//     database transaction or connection is held during it, so a stuck
//     provider delays only the callers of that one connection, who may
//     give up through their context at any time.
//
// OAUTH2_CC connections have no refresh token: the service obtains a new
// token with the client-credentials grant (the connection's own client
// credentials, else the integration's) when it is due, forced or absent,
// under the same lease; IssueClientCredentials obtains the first one for a
// connection being created. Other credentials are returned as stored.
//
// Reads go through an optional Cache of decrypted connections and
// integrations (see Cache for how it stays correct across instances: this
// process's writes through Cache.Track's store, other instances' store
// events, TopicReset, a heartbeat proving the event subscription live,
// epochs fencing racing fills). A cached token is still checked against its
// refresh point on every Get. GetEncoded keeps the API's encoding of a
// cached connection with it.
//
// The package knows nothing of HTTP handlers: the API maps its errors to
// the wire. It may import internal/oauth, internal/provider, internal/store
// and internal/secret; it must not import api, connect, server or a store
// driver.
package tokens
