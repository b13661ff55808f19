// Package suite runs the benchmark suite (bench/README.md): it starts the
// hello-world reference, the local OAuth provider and the nango server
// under test as separate processes, seeds the server through its API,
// drives each scenario with the load generator, samples the server's
// memory, and writes the results as JSON and Markdown tables.
//
// It is a benchmark harness, not part of the server: nothing in the
// server may import it. Besides the bench packages it imports pgx (scratch
// databases, COPY for the scale runs) and internal/secret and
// internal/store (to seal COPY-written credentials exactly as the server
// does).
package suite
