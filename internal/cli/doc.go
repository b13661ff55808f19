// Package cli implements the nango command line as functions tests can drive
// in-process (Run with an IO): `serve`; the admin commands (`migrate`,
// `version`, `config dump`, `keys ...`); and the API commands with the
// reference CLI's names (`config:*`, `connection:*`, `token:get`, `proxy`,
// `completion`), which talk to a server through the public Go client.
//
// It may import any internal package; nothing imports it but cmd/nango.
package cli
