package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/authgql/server/internal/listen"
)

// Path is the only path the metrics listener serves.
const Path = "/metrics"

// Timeouts of the metrics listener. The write timeout leaves room for
// GatherTimeout; Prometheus's own scrape_timeout (10 s by default) ends a
// scrape before any of them.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = GatherTimeout + 5*time.Second
	IdleTimeout       = 2 * time.Minute // longer than any sane scrape interval, so keep-alive connections are reused
	ShutdownTimeout   = 5 * time.Second
	MaxHeaderBytes    = 8 << 10
)

// Server is the metrics listener: a separate port (METRICS_ADDR, SPEC.md
// "Operating several instances") that serves GET /metrics and nothing else,
// so the exposition is never reachable on the API's port.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr ("host:port"; port 0 picks a free one) and returns a
// Server that will serve h at GET and HEAD /metrics, 405 for other methods
// there, and 404 for every other path. Errors binding come back here, at
// start, rather than from Serve.
func Listen(addr string, h http.Handler) (*Server, error) {
	ln, err := listen.TCP(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return &Server{ln: ln, srv: &http.Server{
		Handler:           onlyMetrics(h),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}}, nil
}

// Addr returns the address the Server is bound to ("127.0.0.1:9464").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx ends, then shuts down: scrapes under way get up to
// ShutdownTimeout to finish. It returns nil after a clean shutdown, or the
// error that stopped serving. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	// A fresh context: ctx has already ended.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(shutdownCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}

// onlyMetrics routes /metrics to h and answers everything else itself.
func onlyMetrics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}
