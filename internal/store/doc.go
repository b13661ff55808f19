// Package store defines the persistence contract of the server: the domain
// types (integrations, connections and their credentials, OAuth sessions,
// activity), the Store interface every driver implements, the sentinel errors
// drivers return, and the helpers drivers share to encode and seal rows.
//
// Drivers live in sub-packages (sqlite, postgres) and are all checked by the
// conformance suite in storetest. Read-modify-write goes only through update
// closures that run inside a transaction.
//
// This package knows nothing of HTTP. It may import internal/secret and the
// standard library only.
package store
