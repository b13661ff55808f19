// Package storetest is the conformance suite every store driver runs: one
// Run(t, factory) call checks every method of store.Store against a real
// database — CRUD, conflicts, not-found, update closures under concurrency,
// refresh leases (across instances where the driver has them), OAuth
// sessions, activity, events, sealing (no plaintext secret anywhere in the
// raw storage, moved or tampered ciphertexts refused), key rotation with
// Reseal, and data surviving a reopen. It also holds the shared benchmarks.
//
// Drivers' tests import it; nothing else may. It imports internal/store,
// internal/secret and the standard library only.
package storetest
