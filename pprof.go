//go:build pprof

package main

// Built with -tags pprof (scripts/perf.sh PERF_PPROF=1), the server serves
// net/http/pprof on PPROF_ADDR, a separate listener, so the perf harness can
// profile it. Never in a normal build: profiles expose the process.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
