package main

// METRICS_ADDR on the real server: a real Prometheus (Debian's, through
// metrics/promtest) scrapes it, promtool lints it, and every hook the
// server has moves its metric.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/messages/redistest"
	"github.com/authgql/server/metrics/promtest"
)

// TestMetricsScrapedByPrometheus: a real Prometheus scrapes METRICS_ADDR
// every second and reads back, through its HTTP API, a refusal made on
// PORT; promtool accepts the exposition; PORT serves no metrics and the
// metrics listener nothing else.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	ts := startServer(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	metricsURL := ts.metricsURL(t)
	prom := promtest.Start(t, strings.TrimPrefix(metricsURL, "http://"))

	series := `authgql_requests_refused_total{job="` + prom.Job + `",surface="rest",reason="invalid_token"}`
	prom.WaitFor(t, series, 0) // scraped, known at 0 before any refusal
	for range 3 {
		r := do(t, http.MethodGet, ts.URL+"api/private", "", map[string]string{"Authorization": "Bearer not.a.token"})
		wantStatus(t, r, http.StatusUnauthorized)
	}
	prom.WaitFor(t, series, 3)

	promtest.CheckMetrics(t, promtest.Scrape(t, metricsURL+"/metrics"))
	promtest.AssertNoExposition(t, strings.TrimSuffix(ts.URL, "/"))
	promtest.AssertOnlyMetrics(t, metricsURL)
}

// samples is a scrape: series ("name{labels}", labels sorted as
// Prometheus writes them) to value.
type samples map[string]float64

func scrape(t *testing.T, metricsURL string) samples {
	t.Helper()
	return promtest.Samples(t, promtest.Scrape(t, metricsURL+"/metrics"))
}

// delta checks that each series moved by exactly want since before.
func (s samples) delta(t *testing.T, before samples, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if _, ok := s[k]; !ok {
			t.Errorf("no series %s", k)
		} else if got := s[k] - before[k]; got != w {
			t.Errorf("%s moved by %v; want %v", k, got, w)
		}
	}
}

// waitFor scrapes until series has value want.
func waitFor(t *testing.T, metricsURL, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ok := scrape(t, metricsURL)[series]
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v) after 10 s; want %v", series, got, ok, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsHooks: each event the server sees moves its metric, by the
// number of events, with the right labels.
func TestMetricsHooks(t *testing.T) {
	rs := redistest.Start(t)
	ts := startInstances(t, 1, map[string]string{"METRICS_ADDR": "127.0.0.1:0", "REDIS_URL": rs.URL, "REDIS_SEND_TIMEOUT": "1s"})[0]
	murl := ts.metricsURL(t)
	is := ts.Issuer
	reader := bearer(is.Token(t, authtest.Scope("read:messages")))
	noScope := bearer(is.Token(t))

	t.Run("jwks", func(t *testing.T) {
		var set struct{ Keys []json.RawMessage }
		r := do(t, http.MethodGet, is.URL+devmode.JWKSPath, "", nil)
		if err := json.Unmarshal(r.Body, &set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("issuer's JWKS: %v %s", err, r.Body)
		}
		s := scrape(t, murl)
		if s[`authgql_jwks_fetches_total{outcome="success"}`] < 1 || s[`authgql_jwks_keys`] != float64(len(set.Keys)) {
			t.Errorf("after start: fetches %v, keys %v; want >= 1 and %d", s[`authgql_jwks_fetches_total{outcome="success"}`], s[`authgql_jwks_keys`], len(set.Keys))
		}
		if ts := s[`authgql_jwks_last_success_timestamp_seconds`]; time.Since(time.Unix(int64(ts), 0)) > time.Minute {
			t.Errorf("last success at %v; want about now", ts)
		}
	})

	t.Run("token cache", func(t *testing.T) {
		tok := bearer(is.Token(t, authtest.Subject("cache-test")))
		before := scrape(t, murl)
		// A token enters the cache at its second validation (auth's
		// tokenCache.admit): miss, miss, then hits.
		for range 4 {
			ts.graphQL(t, `{ privateMessage { text } }`, tok)
		}
		scrape(t, murl).delta(t, before, map[string]float64{
			`authgql_token_cache_lookups_total{result="miss"}`: 2,
			`authgql_token_cache_lookups_total{result="hit"}`:  2,
		})
	})

	t.Run("refusals and denied fields", func(t *testing.T) {
		before := scrape(t, murl)
		wantStatus(t, ts.graphQL(t, publicQuery, "Bearer not.a.token"), http.StatusUnauthorized)
		wantStatus(t, do(t, http.MethodGet, ts.URL+"api/private", "", nil), http.StatusUnauthorized)
		wantStatus(t, do(t, http.MethodGet, ts.URL+"api/private-scoped", "", map[string]string{"Authorization": noScope}), http.StatusForbidden)
		c, _, err := dialWS(t, ts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := c.init(t, map[string]any{"authorization": bearer(is.Token(t, authtest.ExpiresIn(-time.Hour)))}); err == nil && m.Type == "connection_ack" {
			t.Fatal("an expired token was accepted")
		}
		wantStatus(t, ts.graphQL(t, allFields, ""), http.StatusOK)      // two fields without a token
		wantStatus(t, ts.graphQL(t, allFields, noScope), http.StatusOK) // scopedMessage without the scope
		ws, _, err := dialWS(t, ts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ws.init(t, map[string]any{"authorization": noScope}); err != nil {
			t.Fatal(err)
		}
		ws.subscribe(t, "denied", subscriptionQuery)
		m, err := ws.next(t, 5*time.Second)
		wantOperationError(t, m, err, "FORBIDDEN")
		scrape(t, murl).delta(t, before, map[string]float64{
			`authgql_requests_refused_total{reason="invalid_token",surface="graphql"}`:                     1,
			`authgql_requests_refused_total{reason="authorization_header_missing",surface="rest"}`:         1,
			`authgql_requests_refused_total{reason="insufficient_scope",surface="rest"}`:                   1,
			`authgql_requests_refused_total{reason="token_expired",surface="websocket"}`:                   1,
			`authgql_graphql_fields_denied_total{reason="authorization_header_missing",surface="graphql"}`: 2,
			`authgql_graphql_fields_denied_total{reason="insufficient_scope",surface="graphql"}`:           1,
			`authgql_graphql_fields_denied_total{reason="insufficient_scope",surface="websocket"}`:         1,
		})
	})

	t.Run("websockets, subscriptions, messages", func(t *testing.T) {
		waitFor(t, murl, `authgql_websocket_connections`, 0) // the subtest above closed its own
		sub := subscribe(t, ts, "subscriber", false)
		waitFor(t, murl, `authgql_websocket_connections`, 1)
		waitLive(t, ts, sub)
		waitFor(t, murl, `authgql_graphql_subscriptions`, 1)
		before := scrape(t, murl)
		for i := range 3 {
			sendMessage(t, ts, fmt.Sprint("counted ", i))
		}
		sub.receive(t, 3)
		// The hub counts a delivery just after queueing the message, so
		// the subscriber may hold the third before the counter moves:
		// wait for exactly 3 more, rather than scraping once.
		for _, series := range []string{`authgql_messages_published_total`, `authgql_messages_delivered_total`} {
			waitFor(t, murl, series, before[series]+3)
		}
		sub.send(t, wsMessage{Type: "complete", ID: "s"})
		waitFor(t, murl, `authgql_graphql_subscriptions`, 0)
		sub.conn.CloseNow()
		waitFor(t, murl, `authgql_websocket_connections`, 0)
	})

	t.Run("request latency by route", func(t *testing.T) {
		before := scrape(t, murl)
		ts.graphQL(t, publicQuery, reader)
		do(t, http.MethodGet, ts.URL+"api/private", "", nil)
		do(t, http.MethodGet, ts.URL+"no/such/path/"+strings.Repeat("x", 40), "", nil)
		scrape(t, murl).delta(t, before, map[string]float64{
			`authgql_http_request_duration_seconds_count{code="200",method="POST",route="/graphql"}`:    1,
			`authgql_http_request_duration_seconds_count{code="401",method="GET",route="/api/private"}`: 1,
			`authgql_http_request_duration_seconds_count{code="404",method="GET",route="other"}`:        1,
		})
	})

	t.Run("redis errors", func(t *testing.T) {
		before := scrape(t, murl)
		rs.Stop()
		body := sendMessage(t, ts, "Redis is down")
		if !strings.Contains(fmt.Sprint(body["errors"]), "SERVICE_UNAVAILABLE") {
			t.Errorf("sendMessage with Redis down = %v", body)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := scrape(t, murl)
			if s[`authgql_redis_errors_total{operation="publish"}`]-before[`authgql_redis_errors_total{operation="publish"}`] == 1 &&
				s[`authgql_redis_errors_total{operation="read"}`] > before[`authgql_redis_errors_total{operation="read"}`] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis errors after 15 s: publish %v, read %v (before: %v, %v)",
					s[`authgql_redis_errors_total{operation="publish"}`], s[`authgql_redis_errors_total{operation="read"}`],
					before[`authgql_redis_errors_total{operation="publish"}`], before[`authgql_redis_errors_total{operation="read"}`])
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// routeRecorder records the patterns addRoutes registers.
type routeRecorder struct{ patterns []string }

func (r *routeRecorder) Handle(pattern string, _ http.Handler) {
	r.patterns = append(r.patterns, pattern)
}

// TestRouteLabels: the route label of request latency knows every route
// addRoutes registers, in both modes, except the 404-only catch-alls.
func TestRouteLabels(t *testing.T) {
	var paths []string
	for _, dev := range []bool{false, true} {
		var issuer *devmode.Issuer
		if dev {
			var err error
			if issuer, err = devmode.New("http://127.0.0.1:1/", devmode.DefaultAudience, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		rec := &routeRecorder{}
		addRoutes(rec, nil, nil, nil, issuer, nil, &health{})
		for _, p := range rec.patterns {
			if _, path, ok := strings.Cut(p, " "); ok {
				p = path
			}
			if p != "/" && p != "/api/" && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	labels := routeLabels()
	slices.Sort(paths)
	slices.Sort(labels)
	if !slices.Equal(paths, labels) {
		t.Errorf("routes %v;\nroute labels %v", paths, labels)
	}
}
