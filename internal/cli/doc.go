// Package cli implements the nango command line: `serve` and the admin
// commands (`migrate`, `version`, `config dump`, ...) as functions of the
// form run(ctx, args, stdout, stderr) so tests can drive them in-process.
//
// It may import any internal package; nothing imports it but cmd/nango.
package cli
