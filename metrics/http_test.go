package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgql/server/metrics"
)

// newInstrumentedServer serves a mux shaped like the server's (method
// patterns, a method-less pattern, "/{$}", a catch-all 404) through
// InstrumentHTTP, inside a panic recovery as in the server.
func newInstrumentedServer(t *testing.T) (*metrics.Metrics, *httptest.Server) {
	t.Helper()
	m := newMetrics(t, metrics.Options{Routes: []string{"/graphql", "/api/public", "/{$}", "/stream", "/ws", "/panic"}})
	mux := http.NewServeMux()
	mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Fprint(w, "{}")
	})
	mux.HandleFunc("GET /api/public", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{}") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {}) // writes nothing: 200
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the instrumented ResponseWriter is not an http.Flusher")
		}
		w.WriteHeader(http.StatusAccepted)
		http.NewResponseController(w).Flush()
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, _ *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("the instrumented ResponseWriter is not an http.Hijacker")
			return
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		brw.Flush()
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })

	instrumented := m.InstrumentHTTP(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		instrumented.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return m, srv
}

func do(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestInstrumentHTTPLabelsByRoutePattern(t *testing.T) {
	m, srv := newInstrumentedServer(t)
	const secretPath = "/eyJhbGciOiJSUzI1NiJ9.secret"
	requests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/public", 200},
		{"GET", "/api/public", 200},
		{"POST", "/graphql", 401},
		{"GET", "/graphql", 200},
		{"GET", "/", 200},
		{"GET", "/stream", 202},
		{"GET", secretPath, 404},                 // the catch-all "/" is not a listed route
		{"GET", "/api/public" + secretPath, 404}, // neither is a path under a listed one
		{"POST", "/api/public", 404},             // only the catch-all matches
		{"BREW", "/graphql", 200},                // a method outside the fixed set
		{"GET", "/panic", 500},
	}
	for _, r := range requests {
		if got := do(t, r.method, srv.URL+r.path); got != r.status {
			t.Fatalf("%s %s = %d; want %d", r.method, r.path, got, r.status)
		}
	}
	got, text := scrape(t, m)
	const name = "authgql_http_request_duration_seconds_count"
	wantSamples(t, got, map[string]float64{
		name + `{code="200",method="GET",route="/api/public"}`: 2,
		name + `{code="401",method="POST",route="/graphql"}`:   1,
		name + `{code="200",method="GET",route="/graphql"}`:    1,
		name + `{code="200",method="GET",route="/{$}"}`:        1,
		name + `{code="202",method="GET",route="/stream"}`:     1,
		name + `{code="404",method="GET",route="other"}`:       2,
		name + `{code="404",method="POST",route="other"}`:      1,
		name + `{code="200",method="other",route="/graphql"}`:  1,
		name + `{code="500",method="GET",route="/panic"}`:      1,
	})
	if strings.Contains(text, "eyJ") || strings.Contains(text, "BREW") {
		t.Errorf("a raw path or method became a label value:\n%s", text)
	}
	var total float64
	for k, v := range got {
		if strings.HasPrefix(k, name) {
			total += v
		}
	}
	if total != float64(len(requests)) {
		t.Errorf("%v requests observed; want %d", total, len(requests))
	}
}

func TestInstrumentHTTPSkipsHijackedConnections(t *testing.T) {
	m, srv := newInstrumentedServer(t)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d; want 101", resp.StatusCode)
	}
	// A request after it proves the first has finished being handled.
	do(t, "GET", srv.URL+"/api/public")
	got, _ := scrape(t, m)
	for k := range got {
		if strings.Contains(k, `route="/ws"`) {
			t.Errorf("hijacked connection observed: %s", k)
		}
	}
}

func TestInstrumentHTTPRouteFromContextCopyIsOther(t *testing.T) {
	// Documents the placement rule: middleware between InstrumentHTTP and
	// the mux that copies the request hides the matched pattern.
	m := newMetrics(t, metrics.Options{Routes: []string{"/graphql"}})
	mux := http.NewServeMux()
	mux.HandleFunc("/graphql", func(http.ResponseWriter, *http.Request) {})
	type key struct{}
	copying := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, 1)))
	})
	m.InstrumentHTTP(copying).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/graphql", nil))
	m.InstrumentHTTP(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/graphql", nil))
	got, _ := scrape(t, m)
	wantSamples(t, got, map[string]float64{
		`authgql_http_request_duration_seconds_count{code="200",method="GET",route="other"}`:    1,
		`authgql_http_request_duration_seconds_count{code="200",method="GET",route="/graphql"}`: 1,
	})
}
