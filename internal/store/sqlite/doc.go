// Package sqlite is the embedded store driver: a single database file opened
// with the pure-Go modernc.org/sqlite (no cgo), in WAL mode with a busy
// timeout and foreign keys on. Writes go through a pool of exactly one
// connection (BEGIN IMMEDIATE), reads through a separate pool of read-only
// connections, so readers never wait for writers and writers never deadlock
// upgrading a read lock.
//
// It serves one server process: events are delivered in-process after
// commit. Several processes may open the file at once (the CLI beside a
// running server); their writes serialise on the file lock.
//
// It implements store.Store and is checked by storetest. It must not import
// anything of this module but internal/store (and its driverkit) and
// internal/secret.
package sqlite
