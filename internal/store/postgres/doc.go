// Package postgres is the store driver for PostgreSQL, on pgx v5's pool.
// Several server instances may share one database: refresh leases are rows
// compared with the database clock, update closures hold row locks
// (SELECT … FOR UPDATE), migrations serialise on an advisory lock, and
// change events travel by LISTEN/NOTIFY — each notification is sent inside
// the transaction of the write it announces, so it is delivered exactly when
// that write commits, and never for a write that rolled back.
//
// All tables live in one schema (Config.Schema), set as search_path on every
// connection.
//
// It implements store.Store and is checked by storetest. It must not import
// anything of this module but internal/store (and its driverkit) and
// internal/secret.
package postgres
