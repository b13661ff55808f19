// Package dashboard is the operator's web UI, server-rendered: the
// integrations (a searchable picker over the whole provider catalog,
// create, edit, delete), the connections (keyset-paginated list with
// search and filter, detail with masked tokens that can be revealed and
// copied, "refresh now", delete), a page that creates a connection by
// running the real browser flow with the browser SDK, the activity log
// (and the background job that prunes it), and the server's settings.
// It also serves the reference's dashboard JSON API (/api/v1/..., SPEC
// §1.10) and, publicly, the browser SDK at /sdk/nango.js.
//
// Pages are html/template files parsed once from an embedded FS; static
// files are embedded and served at checksum URLs; scripts are external
// files (the CSP allows no inline script or style) and there is no JS
// build step.
//
// Every route but /sdk/nango.js goes through one guard: security headers,
// HTTP Basic with NANGO_DASHBOARD_USERNAME/PASSWORD when they are set
// (constant-time), and CSRF protection (a SameSite=Strict cookie token that
// every state-changing request repeats, plus a cross-origin check). Values
// reach pages only through html/template's contextual escaping.
//
// Credentials are read through the token service (internal/tokens), the
// one path to fresh credentials. The package may import internal/store,
// internal/tokens, internal/provider, internal/config, internal/httpx,
// internal/secret, internal/api (key and scope rules), internal/connect
// (the HMAC digest), internal/version and web; it must not import
// internal/server or a store driver (tests excepted), and holds no SQL.
package dashboard
