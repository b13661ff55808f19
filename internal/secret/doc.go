// Package secret holds the types and primitives that keep secrets secret:
// String, a string that prints and logs as "[redacted]"; the AES-256-GCM
// keyring that encrypts values at rest; random identifiers and constant-time
// comparison helpers.
//
// It must not import any other package of this module.
package secret
