package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgql/server/metrics"
	"github.com/authgql/server/metrics/promtest"
)

// serve starts a metrics listener on a free loopback port and returns its
// base URL and a stop func (also run at cleanup) that ends Serve's context
// and checks that Serve returns nil in time.
func serve(t *testing.T, m *metrics.Metrics) (base string, stop func()) {
	t.Helper()
	srv, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve after cancel: %v; want nil", err)
			}
		case <-time.After(metrics.ShutdownTimeout + 5*time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	t.Cleanup(stop)
	return "http://" + srv.Addr(), stop
}

func TestListenerServesOnlyMetrics(t *testing.T) {
	m := newMetrics(t, metrics.Options{})
	base, _ := serve(t, m)
	promtest.AssertOnlyMetrics(t, base)

	req, _ := http.NewRequest(http.MethodPost, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /metrics = %s, Allow %q; want 405, Allow \"GET, HEAD\"", resp.Status, resp.Header.Get("Allow"))
	}
}

func TestListenerStopsWithContext(t *testing.T) {
	base, stop := serve(t, newMetrics(t, metrics.Options{}))
	promtest.Scrape(t, base+"/metrics")
	stop()
	addr := strings.TrimPrefix(base, "http://")
	if conn, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Serve returned", addr)
	}
}

func TestListenReportsBusyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = metrics.Listen(l.Addr().String(), http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("Listen(busy %s) = %v; want an error naming the address", l.Addr(), err)
	}
}

// exercise records at least one event of every metric, unknown label
// values included, so that the exposition shows every series shape.
func exercise(m *metrics.Metrics) {
	m.RequestRefused(metrics.SurfaceREST, "token_expired")
	m.RequestRefused(metrics.SurfaceGraphQL, "no such reason")
	m.FieldDenied(metrics.SurfaceWebSocket, "insufficient_scope")
	m.JWKSFetchSucceeded(2)
	m.JWKSFetchFailed()
	m.TokenCacheHit()
	m.TokenCacheMiss()
	m.WebSocketOpened()
	m.SubscriptionStarted()
	m.MessagePublished()
	m.MessageDelivered(1)
	m.RedisError(metrics.RedisRead)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/public", func(http.ResponseWriter, *http.Request) {})
	h := m.InstrumentHTTP(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/public", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere", nil))
}

func TestPromtoolChecksExposition(t *testing.T) {
	m := newMetrics(t, metrics.Options{Routes: []string{"/api/public"}})
	exercise(m)
	base, _ := serve(t, m)
	body := promtest.Scrape(t, base+"/metrics")
	for _, name := range []string{"authgql_http_request_duration_seconds_bucket", "authgql_requests_refused_total", "go_goroutines"} {
		if !strings.Contains(string(body), name) {
			t.Fatalf("exposition has no %s", name)
		}
	}
	promtest.CheckMetrics(t, body)
}

func TestPrometheusScrapesCounter(t *testing.T) {
	m := newMetrics(t, metrics.Options{})
	base, _ := serve(t, m)
	prom := promtest.Start(t, strings.TrimPrefix(base, "http://"))

	// The series exists at 0 before anything happened.
	const refused = `authgql_requests_refused_total{surface="rest",reason="token_expired"}`
	prom.WaitFor(t, refused, 0)
	prom.WaitFor(t, `up{job="`+prom.Job+`"}`, 1)

	for range 3 {
		m.RequestRefused(metrics.SurfaceREST, "token_expired")
	}
	closed := m.WebSocketOpened()
	prom.WaitFor(t, refused, 3)
	prom.WaitFor(t, "authgql_websocket_connections", 1)
	closed()
	prom.WaitFor(t, "authgql_websocket_connections", 0)

	got, err := prom.Query(context.Background(), `count(authgql_requests_refused_total)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != 21 {
		t.Errorf("count(authgql_requests_refused_total) = %v; want 21 (3 surfaces x 7 reasons)", got)
	}
}

// recordingTB records failures instead of failing the test, to check that
// promtest's assertions do fail when they should.
type recordingTB struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	panic(errFatal)
}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	panic(errFatal)
}

var errFatal = errors.New("fatal")

func runRecording(t *testing.T, f func(tb testing.TB)) bool {
	t.Helper()
	return record(t, f).failed
}

func record(t *testing.T, f func(tb testing.TB)) *recordingTB {
	t.Helper()
	r := &recordingTB{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != errFatal {
				panic(p)
			}
		}()
		f(r)
	}()
	return r
}

func TestAssertNoExpositionCatchesALeak(t *testing.T) {
	m := newMetrics(t, metrics.Options{})
	leaky := http.NewServeMux()
	leaky.Handle("/metrics", m.Handler())
	leaky.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	leakySrv := httptest.NewServer(leaky)
	defer leakySrv.Close()
	if !runRecording(t, func(tb testing.TB) { promtest.AssertNoExposition(tb, leakySrv.URL) }) {
		t.Error("AssertNoExposition passed on a listener that serves /metrics")
	}

	clean := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"code":"not_found","description":"No route for ` + r.URL.Path + `"}`))
	}))
	defer clean.Close()
	promtest.AssertNoExposition(t, clean.URL)
}

func TestAssertOnlyMetricsCatchesExtraRoutes(t *testing.T) {
	m := newMetrics(t, metrics.Options{})
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if !runRecording(t, func(tb testing.TB) { promtest.AssertOnlyMetrics(tb, srv.URL) }) {
		t.Error("AssertOnlyMetrics passed on a listener that also serves /healthz")
	}
}

func TestCheckMetricsCatchesAComplaint(t *testing.T) {
	bad := []byte("# HELP foo_requests Requests.\n# TYPE foo_requests counter\nfoo_requests 1\n")
	if !runRecording(t, func(tb testing.TB) { promtest.CheckMetrics(tb, bad) }) {
		t.Error("CheckMetrics passed a counter without the _total suffix")
	}
}

func TestMissingDaemonNamesItsPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(promtest.SkipEnv, "")
	r := record(t, func(tb testing.TB) { promtest.Start(tb, "127.0.0.1:1") })
	if !r.failed || !strings.Contains(r.msg, "apt-get install prometheus") {
		t.Errorf("Start without prometheus: failed=%v %q; want a failure naming the package", r.failed, r.msg)
	}
	t.Setenv(promtest.SkipEnv, "1")
	r = record(t, func(tb testing.TB) { promtest.CheckMetrics(tb, nil) })
	if r.failed || !r.skipped {
		t.Errorf("CheckMetrics without promtool and %s=1: failed=%v skipped=%v; want a skip", promtest.SkipEnv, r.failed, r.skipped)
	}
}
