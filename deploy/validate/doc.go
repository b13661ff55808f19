// Package validate checks the deploy files offline (deploy/validate.sh runs
// its tests): the Compose file loaded by compose-go, the library behind
// `docker compose config`, with schema validation; the Kubernetes manifests
// decoded strictly into the Kubernetes API types; the Render blueprint, the
// Heroku app.json and Procfile, and the Dockerfile at lint level.
//
// It is a module of its own so that compose-go and the Kubernetes API types
// never become dependencies of the server module. It imports nothing from
// the server.
package validate
