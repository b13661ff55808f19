//go:build nango_pprof

package main

// Profiling hook for benchmark work, compiled only with -tags nango_pprof
// (never in release builds): when NANGO_PPROF_ADDR is set (a loopback
// address such as 127.0.0.1:6060), net/http/pprof is served there.

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"time"
)

func init() {
	addr := os.Getenv("NANGO_PPROF_ADDR")
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
}
