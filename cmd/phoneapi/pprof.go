package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// addPprofFlag registers --pprof-addr on fs, defaulted from
// PHONEAPI_PPROF_ADDR: where to serve Go's profiler (net/http/pprof), off
// when empty.
func addPprofFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("pprof-addr", getenv("PHONEAPI_PPROF_ADDR"),
		"serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; off when empty. It needs no token: keep it on loopback (env PHONEAPI_PPROF_ADDR)")
}

// startPprof serves /debug/pprof/ on addr in the background, apart from the
// API. It returns the listener's address and a function that stops it, or
// an error when addr cannot be listened on.
func startPprof(addr string, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "error", err.Error())
		}
	}()
	return ln.Addr().String(), func() { srv.Close() }, nil
}
