// Package encryption runs encryption at rest over a store: the start-up key
// check (refuse to start when the configured keys cannot open what the
// database holds), the record of the keys the database uses, automatic
// encryption of plaintext rows and re-encryption of rows sealed with an old
// key (in the background for the server, in the foreground for `nango keys
// rotate` and `nango keys decrypt`), and the key-usage report of `nango keys
// status`.
//
// The cryptography itself is the keyring of internal/secret; the batch
// rewriting of sealed values is store.Store.Reseal. This package holds the
// protocol around them, described in docs/encryption.md.
//
// It may import internal/secret, internal/store and internal/config (and
// pgx for the PostgreSQL advisory lock); it must not import the store
// drivers, the server, the HTTP handlers or the CLI.
package encryption
