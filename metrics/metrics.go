package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of the server itself.
const Namespace = "authgql"

// Limits of Options and of the /metrics handler.
const (
	MaxRoutes          = 64               // at most this many route labels
	MaxRouteBytes      = 128              // the longest route label
	GatherTimeout      = 10 * time.Second // a scrape that takes longer is answered 503 (Prometheus's default scrape_timeout is 10s)
	MaxScrapesInFlight = 4                // concurrent scrapes beyond this are answered 503
)

// durationBuckets are the upper bounds, in seconds, of the request latency
// histogram: Prometheus's default buckets with two more below 5 ms, because
// most requests here are answered from memory in well under a millisecond.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Options configure New. The zero value is valid: no route labels (every
// request's route is "other"), no logging, time.Now.
type Options struct {
	// Routes are the values the "route" label may take: ServeMux patterns
	// without their method and host, exactly as registered ("/graphql",
	// "/api/public", "/{$}", "/playground/"). A request whose matched
	// pattern is not listed, or that matched none, is "other". List the
	// catch-all "/" only if it serves something other than 404s.
	Routes []string
	// Logger receives errors from gathering metrics; nil means discard.
	Logger *slog.Logger
	// Now is the clock of the JWKS success timestamp; nil means time.Now.
	Now func() time.Time
}

// Metrics is the server's instrumentation: one Prometheus registry and the
// collectors registered in it. Its methods are safe for concurrent use, and
// a nil *Metrics is valid: every method then does nothing, so code paths
// need no check whether metrics are enabled.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler
	routes  []string
	now     func() time.Time

	refused       *prometheus.CounterVec
	deniedFields  *prometheus.CounterVec
	jwksFetches   *prometheus.CounterVec
	jwksKeys      prometheus.Gauge
	jwksSuccess   prometheus.Gauge
	tokenCache    *prometheus.CounterVec
	websockets    prometheus.Gauge
	subscriptions prometheus.Gauge
	published     prometheus.Counter
	delivered     prometheus.Counter
	redisErrors   *prometheus.CounterVec
	duration      *prometheus.HistogramVec
}

// New returns a Metrics with its own registry holding the server's metrics
// (listed in the package comment), the Go runtime and process collectors,
// and go_build_info. It returns an error naming every invalid route.
func New(opts Options) (*Metrics, error) {
	if err := validateRoutes(opts.Routes); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		routes: append([]string(nil), opts.Routes...),
		now:    opts.Now,
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "requests_refused_total",
		Help: "Requests and WebSocket connections refused by authentication or authorization, by surface (graphql, rest, websocket) and reason code.",
	}, []string{"surface", "reason"})
	m.deniedFields = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "graphql_fields_denied_total",
		Help: "GraphQL fields denied by their directives (resolver not run, null with an error), by surface (graphql, websocket) and reason code.",
	}, []string{"surface", "reason"})
	m.jwksFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "jwks_fetches_total",
		Help: "Fetches of the issuer's JSON Web Key Set, by outcome (success, error).",
	}, []string{"outcome"})
	m.jwksKeys = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "jwks_keys",
		Help: "Signing keys in the key set in use (the last successfully fetched one).",
	})
	m.jwksSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "jwks_last_success_timestamp_seconds",
		Help: "Unix time of the last successful JWKS fetch; 0 before the first. Seconds since: time() - this.",
	})
	m.tokenCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "token_cache_lookups_total",
		Help: "Lookups of bearer tokens in the validated-token cache, by result (hit, miss).",
	}, []string{"result"})
	m.websockets = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "websocket_connections",
		Help: "WebSocket connections open now.",
	})
	m.subscriptions = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "graphql_subscriptions",
		Help: "GraphQL subscriptions live now.",
	})
	m.published = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "messages_published_total",
		Help: "Messages sent through this instance (sendMessage) and accepted by the message bus.",
	})
	m.delivered = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "messages_delivered_total",
		Help: "Messages handed to a subscriber of this instance; one message to n subscribers counts n.",
	})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "redis_errors_total",
		Help: "Failed Redis commands of the message bus, by operation (publish, read, ping).",
	}, []string{"operation"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help:    "Time from receiving an HTTP request to its handler returning, by route pattern, method and status code. WebSocket upgrades are not observed.",
		Buckets: durationBuckets,
	}, []string{"route", "method", "code"})

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		m.refused, m.deniedFields, m.jwksFetches, m.jwksKeys, m.jwksSuccess, m.tokenCache,
		m.websockets, m.subscriptions, m.published, m.delivered, m.redisErrors, m.duration,
	)
	m.precreate()
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// One failing collector must not hide all the others: serve what
		// was gathered and log the error.
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            errorLog{logger},
		Registry:            m.reg, // counts its own errors: promhttp_metric_handler_errors_total
		MaxRequestsInFlight: MaxScrapesInFlight,
		Timeout:             GatherTimeout,
	})
	return m, nil
}

// precreate makes every known label combination of the counters exist at 0
// from the start, so that rate() and absence alerts see them before the
// first event. The histogram is not pre-created: route x method x code is
// hundreds of combinations of 16 series each, most never used.
func (m *Metrics) precreate() {
	for _, s := range refusalSurfaces {
		for _, r := range refusalReasons {
			m.refused.WithLabelValues(s, r)
		}
	}
	for _, s := range fieldSurfaces {
		for _, r := range fieldReasons {
			m.deniedFields.WithLabelValues(s, r)
		}
	}
	for _, o := range jwksOutcomes {
		m.jwksFetches.WithLabelValues(o)
	}
	for _, r := range cacheResults {
		m.tokenCache.WithLabelValues(r)
	}
	for _, op := range redisOperations {
		m.redisErrors.WithLabelValues(op)
	}
}

func validateRoutes(routes []string) error {
	var errs []error
	if len(routes) > MaxRoutes {
		errs = append(errs, fmt.Errorf("metrics: %d routes, at most %d", len(routes), MaxRoutes))
	}
	seen := make(map[string]bool, len(routes))
	for _, r := range routes {
		switch {
		case !strings.HasPrefix(r, "/"):
			errs = append(errs, fmt.Errorf("metrics: route %q must start with /", r))
		case len(r) > MaxRouteBytes:
			errs = append(errs, fmt.Errorf("metrics: route %.20q... is longer than %d bytes", r, MaxRouteBytes))
		case strings.ContainsFunc(r, func(c rune) bool { return c > unicode.MaxASCII || unicode.IsSpace(c) || unicode.IsControl(c) }):
			errs = append(errs, fmt.Errorf("metrics: route %q must be printable ASCII without spaces (a pattern's path, without method or host)", r))
		case seen[r]:
			errs = append(errs, fmt.Errorf("metrics: route %q is listed twice", r))
		}
		seen[r] = true
	}
	return errors.Join(errs...)
}

// Handler returns the handler of the Prometheus exposition (text format
// 0.0.4, gzip when asked). Serve it only on the metrics listener (Listen).
// A nil *Metrics returns a handler answering 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// RequestRefused counts a request (or WebSocket connection_init) refused on
// surface with reason, an auth reason code such as "invalid_token" (see the
// package comment). Any other surface or reason is counted as "other".
func (m *Metrics) RequestRefused(surface Surface, reason string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(pick(string(surface), refusalSurfaces), pick(reason, refusalReasons)).Inc()
}

// FieldDenied counts one GraphQL field denied on surface (SurfaceGraphQL or
// SurfaceWebSocket) with reason "authorization_header_missing",
// "token_expired" or "insufficient_scope". Anything else is "other".
func (m *Metrics) FieldDenied(surface Surface, reason string) {
	if m == nil {
		return
	}
	m.deniedFields.WithLabelValues(pick(string(surface), fieldSurfaces), pick(reason, fieldReasons)).Inc()
}

// JWKSFetchSucceeded counts a successful JWKS fetch that loaded keys
// signing keys, and records its time.
func (m *Metrics) JWKSFetchSucceeded(keys int) {
	if m == nil {
		return
	}
	m.jwksFetches.WithLabelValues(outcomeSuccess).Inc()
	m.jwksKeys.Set(float64(keys))
	m.jwksSuccess.Set(float64(m.now().UnixNano()) / 1e9)
}

// JWKSFetchFailed counts a failed JWKS fetch (network, status, size or
// parse error). The key count stays: the last good key set stays in use.
func (m *Metrics) JWKSFetchFailed() {
	if m == nil {
		return
	}
	m.jwksFetches.WithLabelValues(outcomeError).Inc()
}

// TokenCacheHit counts a token found in the validated-token cache.
func (m *Metrics) TokenCacheHit() {
	if m == nil {
		return
	}
	m.tokenCache.WithLabelValues(resultHit).Inc()
}

// TokenCacheMiss counts a token not found in the validated-token cache
// (it is then validated in full).
func (m *Metrics) TokenCacheMiss() {
	if m == nil {
		return
	}
	m.tokenCache.WithLabelValues(resultMiss).Inc()
}

// WebSocketOpened counts an open WebSocket connection until closed is
// called. Calling closed more than once has no further effect.
func (m *Metrics) WebSocketOpened() (closed func()) {
	return track(m, func(m *Metrics) prometheus.Gauge { return m.websockets })
}

// SubscriptionStarted counts a live GraphQL subscription until ended is
// called. Calling ended more than once has no further effect.
func (m *Metrics) SubscriptionStarted() (ended func()) {
	return track(m, func(m *Metrics) prometheus.Gauge { return m.subscriptions })
}

func track(m *Metrics, gauge func(*Metrics) prometheus.Gauge) func() {
	if m == nil {
		return func() {}
	}
	g := gauge(m)
	g.Inc()
	return sync.OnceFunc(g.Dec)
}

// MessagePublished counts a message sent through this instance.
func (m *Metrics) MessagePublished() {
	if m == nil {
		return
	}
	m.published.Inc()
}

// MessageDelivered counts one message handed to subscribers local
// subscribers (a message to n subscribers counts n; 0 counts nothing).
func (m *Metrics) MessageDelivered(subscribers int) {
	if m == nil || subscribers <= 0 {
		return
	}
	m.delivered.Add(float64(subscribers))
}

// RedisError counts a failed Redis command of the message bus. An
// operation outside RedisPublish, RedisRead and RedisPing is "other".
func (m *Metrics) RedisError(op RedisOperation) {
	if m == nil {
		return
	}
	m.redisErrors.WithLabelValues(pick(string(op), redisOperations)).Inc()
}

// errorLog adapts slog to promhttp's Logger.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Println(v ...any) { e.l.Error("metrics: gathering failed", "err", fmt.Sprint(v...)) }
