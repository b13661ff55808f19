//go:build !unix

package encryption

// sqliteLocker returns nil where flock(2) is not available: run `nango
// keys` commands with the server stopped there.
func sqliteLocker(string) Locker { return nil }
