// Package api implements the secret-key JSON API of SPEC §1.7–1.9 as
// amended by Part A: integrations (/config), connections (/connection) and
// the proxy (/proxy/*). Handlers validate input, call the store and the
// engines, and answer with the reference's shapes and error envelope
// (internal/httpx). They hold no SQL.
//
// It must not import internal/server, internal/cli or internal/dashboard.
package api
