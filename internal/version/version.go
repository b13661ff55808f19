// Package version reports the build's version and commit. Release builds set
// them with -ldflags "-X github.com/nango-go/nango/internal/version.Version=v1.2.3
// -X github.com/nango-go/nango/internal/version.Commit=<sha>"; otherwise the
// commit comes from the Go build information when available.
//
// It imports only the standard library.
package version

import "runtime/debug"

// Version is the release version; "dev" for local builds.
var Version = "dev"

// Commit is the source commit; "unknown" when not recorded.
var Commit = ""

// Info returns the version and the commit.
func Info() (version, commit string) {
	c := Commit
	if c == "" {
		c = "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && s.Value != "" {
					c = s.Value
				}
			}
		}
	}
	return Version, c
}
