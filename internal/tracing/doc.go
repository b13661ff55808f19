// Package tracing is the server's optional OpenTelemetry tracing: a span
// for every HTTP request it serves (joining the caller's trace when the
// request carries a W3C traceparent header) and a client span for every
// call it makes to a provider (token requests, credential checks, proxied
// calls), exported as OTLP over HTTP with JSON encoding.
//
// Tracing is on only when configuration names a collector
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
// Off, Setup returns a nil *Tracer and installs nothing; its methods and
// the Finish functions return at once: the request path pays one nil
// check.
//
// Spans carry what metrics carry (route patterns, methods, statuses,
// provider template names, host names, attempt numbers) plus the request
// id that ties a span to its log line — never a query string, a path of a
// proxied or provider call, a header value, a connection id, a token or a
// key. Export runs in the background from a bounded queue (spans are
// dropped when it is full), so a slow or dead collector never slows a
// request.
//
// The exporter is this package's own (export.go): the OpenTelemetry
// project's OTLP/HTTP exporter links gRPC and the protobuf runtime into the
// binary (about 11 MB, and 7 MB more resident memory measured at idle
// whether tracing is on or not), for a JSON document of a few fields.
//
// It imports the OpenTelemetry API and SDK and internal/config; nothing of
// the server imports it but the server's wiring and the packages that
// start spans (server middleware, oauth, proxy).
package tracing
