package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/metrics"
	"github.com/authgql/server/metrics/promtest"
)

// scrape returns the samples of m's exposition as the text format writes
// them: "name{label="value",...}" (labels sorted by name) to value.
func scrape(t *testing.T, m *metrics.Metrics) (map[string]float64, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d; want 200\n%s", rec.Code, rec.Body)
	}
	text := rec.Body.String()
	samples := promtest.Samples(t, rec.Body.Bytes())
	return samples, text
}

func newMetrics(t *testing.T, opts metrics.Options) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func wantSamples(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("no series %s", k)
		} else if g != w {
			t.Errorf("%s = %v; want %v", k, g, w)
		}
	}
}

func TestKnownSeriesExistAtZero(t *testing.T) {
	got, _ := scrape(t, newMetrics(t, metrics.Options{}))
	want := map[string]float64{
		`authgql_jwks_fetches_total{outcome="success"}`:                                                0,
		`authgql_jwks_fetches_total{outcome="error"}`:                                                  0,
		`authgql_jwks_keys`:                                                                            0,
		`authgql_jwks_last_success_timestamp_seconds`:                                                  0,
		`authgql_token_cache_lookups_total{result="hit"}`:                                              0,
		`authgql_token_cache_lookups_total{result="miss"}`:                                             0,
		`authgql_websocket_connections`:                                                                0,
		`authgql_graphql_subscriptions`:                                                                0,
		`authgql_messages_published_total`:                                                             0,
		`authgql_messages_delivered_total`:                                                             0,
		`authgql_redis_errors_total{operation="publish"}`:                                              0,
		`authgql_redis_errors_total{operation="read"}`:                                                 0,
		`authgql_redis_errors_total{operation="ping"}`:                                                 0,
		`promhttp_metric_handler_errors_total{cause="gathering"}`:                                      0,
		`promhttp_metric_handler_errors_total{cause="encoding"}`:                                       0,
		`authgql_graphql_fields_denied_total{reason="insufficient_scope",surface="websocket"}`:         0,
		`authgql_graphql_fields_denied_total{reason="authorization_header_missing",surface="graphql"}`: 0,
	}
	for _, s := range []string{"graphql", "rest", "websocket"} {
		for _, r := range []string{"temporarily_unavailable", "authorization_header_missing", "invalid_header",
			"token_expired", "invalid_claims", "invalid_token", "insufficient_scope"} {
			want[`authgql_requests_refused_total{reason="`+r+`",surface="`+s+`"}`] = 0
		}
	}
	wantSamples(t, got, want)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s: the Go and process collectors are not registered", name)
		}
	}
	for k := range got {
		if strings.Contains(k, `"other"`) {
			t.Errorf("%s exists before any unknown value was counted", k)
		}
	}
}

func TestLabelsOutsideTheirSetAreOther(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHwxMjMifQ.c2ln"
	m := newMetrics(t, metrics.Options{})
	m.RequestRefused(metrics.SurfaceREST, "token_expired")
	m.RequestRefused(metrics.SurfaceREST, "token_expired")
	m.RequestRefused(metrics.SurfaceWebSocket, "insufficient_scope")
	m.RequestRefused(metrics.Surface("grpc"), "invalid_token")
	m.RequestRefused(metrics.SurfaceGraphQL, token)
	m.RequestRefused(metrics.SurfaceGraphQL, "Token_Expired") // exact match only
	m.RequestRefused(metrics.SurfaceGraphQL, "")
	m.FieldDenied(metrics.SurfaceGraphQL, "insufficient_scope")
	m.FieldDenied(metrics.SurfaceREST, "insufficient_scope") // REST has no fields
	m.FieldDenied(metrics.SurfaceWebSocket, "invalid_header")
	m.RedisError(metrics.RedisPublish)
	m.RedisError(metrics.RedisOperation("FLUSHALL"))

	got, text := scrape(t, m)
	wantSamples(t, got, map[string]float64{
		`authgql_requests_refused_total{reason="token_expired",surface="rest"}`:              2,
		`authgql_requests_refused_total{reason="insufficient_scope",surface="websocket"}`:    1,
		`authgql_requests_refused_total{reason="invalid_token",surface="other"}`:             1,
		`authgql_requests_refused_total{reason="other",surface="graphql"}`:                   3,
		`authgql_requests_refused_total{reason="token_expired",surface="graphql"}`:           0,
		`authgql_graphql_fields_denied_total{reason="insufficient_scope",surface="graphql"}`: 1,
		`authgql_graphql_fields_denied_total{reason="insufficient_scope",surface="other"}`:   1,
		`authgql_graphql_fields_denied_total{reason="other",surface="websocket"}`:            1,
		`authgql_redis_errors_total{operation="publish"}`:                                    1,
		`authgql_redis_errors_total{operation="other"}`:                                      1,
	})
	for _, leaked := range []string{token, "grpc", "FLUSHALL", "Token_Expired"} {
		if strings.Contains(text, leaked) {
			t.Errorf("exposition contains %q, a value outside the label's set", leaked)
		}
	}
}

func TestNilMetricsDoesNothing(t *testing.T) {
	var m *metrics.Metrics
	exercise(m)
	closed := m.WebSocketOpened()
	closed()
	closed()

	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	rec := httptest.NewRecorder()
	m.InstrumentHTTP(next).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("nil InstrumentHTTP: status %d; want next's %d", rec.Code, http.StatusTeapot)
	}
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Handler: status %d; want 404", rec.Code)
	}
}

func TestGaugesFollowOpenAndClose(t *testing.T) {
	m := newMetrics(t, metrics.Options{})
	closeA := m.WebSocketOpened()
	closeB := m.WebSocketOpened()
	end1 := m.SubscriptionStarted()
	end2 := m.SubscriptionStarted()
	end3 := m.SubscriptionStarted()
	closeA()
	closeA() // a second close must not count twice
	end1()
	end2()
	end2()
	got, _ := scrape(t, m)
	wantSamples(t, got, map[string]float64{
		"authgql_websocket_connections": 1,
		"authgql_graphql_subscriptions": 1,
	})
	closeB()
	end3()
	got, _ = scrape(t, m)
	wantSamples(t, got, map[string]float64{
		"authgql_websocket_connections": 0,
		"authgql_graphql_subscriptions": 0,
	})
}

func TestCountersAndJWKS(t *testing.T) {
	now := time.Date(2026, 11, 3, 10, 0, 0, 500_000_000, time.UTC)
	m := newMetrics(t, metrics.Options{Now: func() time.Time { return now }})
	m.JWKSFetchSucceeded(3)
	m.JWKSFetchFailed()
	m.JWKSFetchFailed() // keeps the key count and the last success
	m.TokenCacheMiss()
	m.TokenCacheHit()
	m.TokenCacheHit()
	m.MessagePublished()
	m.MessageDelivered(3)
	m.MessageDelivered(0)
	m.MessageDelivered(1)
	got, _ := scrape(t, m)
	wantSamples(t, got, map[string]float64{
		`authgql_jwks_fetches_total{outcome="success"}`:    1,
		`authgql_jwks_fetches_total{outcome="error"}`:      2,
		`authgql_jwks_keys`:                                3,
		`authgql_jwks_last_success_timestamp_seconds`:      float64(now.Unix()) + 0.5,
		`authgql_token_cache_lookups_total{result="hit"}`:  2,
		`authgql_token_cache_lookups_total{result="miss"}`: 1,
		`authgql_messages_published_total`:                 1,
		`authgql_messages_delivered_total`:                 4,
	})
}

func TestNewRejectsBadRoutes(t *testing.T) {
	tooMany := make([]string, metrics.MaxRoutes+1)
	for i := range tooMany {
		tooMany[i] = "/r" + strconv.Itoa(i)
	}
	tests := []struct {
		name   string
		routes []string
		want   string
	}{
		{"no slash", []string{"graphql"}, `route "graphql" must start with /`},
		{"with method", []string{"GET /graphql"}, "must start with /"},
		{"space", []string{"/a b"}, "without spaces"},
		{"unicode", []string{"/caf\u00e9"}, "printable ASCII"},
		{"control", []string{"/a\nb"}, "printable ASCII"},
		{"duplicate", []string{"/graphql", "/graphql"}, "listed twice"},
		{"too long", []string{"/" + strings.Repeat("a", metrics.MaxRouteBytes)}, "longer than"},
		{"too many", tooMany, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := metrics.New(metrics.Options{Routes: tt.routes})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(Routes: %q) = %v; want an error containing %q", tt.routes, err, tt.want)
			}
		})
	}
	if _, err := metrics.New(metrics.Options{Routes: []string{"/graphql", "/{$}", "/playground/", "/api/messages/admin"}}); err != nil {
		t.Errorf("New with valid routes: %v", err)
	}
}
