// Package driverkit holds the pieces the store drivers share that are not
// part of the store contract: the in-process event broker and the loader of
// embedded, numbered migration files.
//
// Only the drivers under internal/store may import it. It imports
// internal/store and the standard library only.
package driverkit
