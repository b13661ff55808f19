// Package provider is the provider catalog: the templates that say how to
// talk to each third-party API (OAuth endpoints and quirks, how API keys and
// Basic credentials are injected, the proxy base URL, the connection-config
// values an end user supplies).
//
// The built-in catalog is catalog.yaml, embedded in the binary and written
// in Nango's providers.yaml schema (see docs/catalog.md). It is produced from
// the reference facts by the program in ./gen (go generate). Load parses it
// once per process, adds or replaces templates from an optional extra file
// (NANGO_PROVIDERS_FILE), resolves aliases and validates everything strictly:
// any problem is reported with the file, the line and what is wrong.
//
// Interpolate resolves the ${...} placeholders templates use in URLs, headers
// and parameters.
//
// A Catalog and its Templates are immutable after Load and safe for
// concurrent use; callers must treat every returned Template (and the slices
// and maps it holds) as read-only.
//
// This package does no HTTP and no OAuth. It may import internal/secret, the
// standard library and gopkg.in/yaml.v3, nothing else of this module.
package provider
