package metrics

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"time"
)

// InstrumentHTTP observes every request's latency in
// authgql_http_request_duration_seconds, labelled with the route, the
// method and the status code. The route is the pattern the ServeMux
// matched (Request.Pattern, which the mux sets on the request it is given),
// without method and host, when it is in Options.Routes; otherwise "other".
// So next must be the *http.ServeMux itself or middleware that passes the
// same *http.Request on (as rs/cors and panic recovery do); middleware that
// calls r.WithContext belongs outside. Requests whose connection is
// hijacked (WebSocket upgrades) are not observed: their duration is the
// connection's lifetime. A handler that panics is observed with status 500
// (unless it wrote one) and the panic goes on, stack intact.
// A nil *Metrics returns next.
func (m *Metrics) InstrumentHTTP(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		returned := false
		defer func() {
			if rw.hijacked {
				return
			}
			code := rw.status
			switch {
			case code == 0 && !returned:
				code = http.StatusInternalServerError // panicking; the recovery outside answers 500
			case code == 0:
				code = http.StatusOK // net/http's answer when a handler writes nothing
			}
			m.duration.WithLabelValues(m.route(r.Pattern), pick(r.Method, methods), statusCode(code)).
				Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rw, r)
		returned = true
	})
}

// route maps a ServeMux pattern ("[METHOD ][HOST]/PATH") to its route label.
func (m *Metrics) route(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	if pattern == "" {
		return Other
	}
	return pick(pattern, m.routes)
}

// statusWriter records the status code a handler sends. It keeps the
// optional interfaces handlers rely on: http.Flusher (server-sent events,
// multipart responses) and http.Hijacker (WebSocket), and Unwrap for
// http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx responses are interim (RFC 9110 section 15.2); the final status follows.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
