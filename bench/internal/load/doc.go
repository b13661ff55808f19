// Package load is the benchmark suite's HTTP load generator: a fixed number
// of keep-alive HTTP/1.1 connections, one goroutine each, sending pre-built
// request bytes in a closed loop (like wrk) and recording latencies in a
// log-linear histogram, with no allocation per request. It parses just
// enough of each response (status, Content-Length or chunked body,
// Connection: close) to stay in step.
//
// It lives beside the server's code so the generator and the hello-world
// reference are measured with the same tool in the same run. It imports only
// the standard library.
package load
