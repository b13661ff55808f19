// Package config reads the server's configuration from environment
// variables, a .env file in the working directory (the real environment wins)
// and *_FILE twins of every secret, into a typed Config. Load reports every
// problem at once, each naming its variable.
//
// Every variable is declared once, in the table of vars.go: its name,
// default, whether it is a secret, its documentation and its parser. The
// masked dump (`nango config dump`) and docs/configuration.md are generated
// from that table.
//
// It imports only internal/secret and the standard library.
package config
