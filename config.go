package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/graphqlws"
	"github.com/authgql/server/issuer"
	"github.com/authgql/server/jwks"
	"github.com/authgql/server/messages"
)

// config is everything the server reads from its environment, validated
// once at start. It is grouped by owner: each package's settings are its
// own options struct, whose zero values and Default* constants that
// package documents, so nothing is copied field by field and each default
// is written once, where it is owned. Handlers never read the environment.
type config struct {
	// DevMode is set when no issuer is configured (neither AUTH0_DOMAIN
	// nor AUTH0_ISSUER_URL): run then starts devmode's embedded issuer and
	// points Auth.Issuer and JWKS.URL at it.
	DevMode bool

	HTTP     httpConfig          // the listener and the HTTP server
	Auth     auth.Config         // the validator; Now is never set here
	JWKS     jwks.Options        // the key set; run sets Logger
	Graph    graph.Options       // the GraphQL endpoint; run sets Logger, Validator, Hub and Metrics
	Messages messages.HubOptions // this instance's message limits, whichever bus carries them
	// Redis is the message bus shared by several instances; with an empty
	// URL (REDIS_URL unset) run uses the in-process hub instead. run sets
	// Hub (from Messages) and Logger.
	Redis messages.RedisOptions

	// MetricsAddr is where the Prometheus listener binds (METRICS_ADDR,
	// "host:port"); "" means no metrics at all.
	MetricsAddr string

	LogLevel slog.Level
}

// httpConfig is the HTTP server's own settings, package main's.
type httpConfig struct {
	Host    string
	Port    int
	Origins []string // CORS origins, and WebSocket origins (Graph.AllowedOrigins)

	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// DrainDelay is how long, after SIGTERM, /readyz answers 503 while the
	// server still serves everything, so that a load balancer's health
	// check takes the instance out before it stops accepting.
	DrainDelay time.Duration
	// ShutdownTimeout bounds, after the drain delay, the wait for requests
	// in flight and then for WebSockets to close.
	ShutdownTimeout time.Duration
}

// The HTTP server's defaults; every other default is its package's.
const (
	defaultPort              = 8080
	defaultOrigin            = "http://localhost:4040"
	defaultMaxHeaderBytes    = http.DefaultMaxHeaderBytes // 1 MiB: an oversized token still gets our 401, not net/http's 431
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 15 * time.Second
	defaultWriteTimeout      = 30 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
	defaultShutdownTimeout   = 10 * time.Second
	// defaultDrainDelay covers a few health checks of a load balancer
	// (HAProxy checks every 2 s by default and needs 3 failures with "fall
	// 3"; Kubernetes probes every 10 s but removes endpoints on SIGTERM
	// itself). Development mode drains for 0 s: nothing balances it, and
	// ^C should stop it at once.
	defaultDrainDelay = 5 * time.Second
)

// withDotEnv returns the getenv that loadConfig reads: a variable set in
// the environment (lookupEnv), even to the empty string, wins over the
// KEY=VALUE lines of the file at path (SPEC.md: "a variable already set in
// the environment wins over the file"). A missing file is fine unless
// required (the -env-file flag named it).
func withDotEnv(lookupEnv func(string) (string, bool), path string, required bool) (func(string) string, error) {
	getenv := func(key string) string { v, _ := lookupEnv(key); return v }
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEnvFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxEnvFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes; an env file is a few KEY=VALUE lines", path, maxEnvFileBytes)
	}
	file, err := godotenv.UnmarshalBytes(b)
	if err != nil {
		// godotenv's message quotes the rest of the file, where secrets
		// live (REDIS_URL's password): say where, never what.
		return nil, fmt.Errorf("%s: line %d is not KEY=VALUE, a comment or blank (the file's text is not repeated here: it may hold secrets)", path, badEnvLine(b))
	}
	return func(key string) string {
		if v, ok := lookupEnv(key); ok {
			return v
		}
		return file[key]
	}, nil
}

// maxEnvFileBytes bounds the -env-file (or .env) that is read.
const maxEnvFileBytes = 1 << 20

// badEnvLine returns the line of b, an env file godotenv refused, where
// the trouble starts: the line after the longest run of leading lines that
// parses. (A prefix ending inside a quoted value that spans lines does not
// parse, though the whole value may, so the first prefix that fails is not
// the answer.)
func badEnvLine(b []byte) int {
	lines := bytes.SplitAfter(b, []byte("\n"))
	good, n := 0, 0
	for i, l := range lines {
		if i >= 2000 {
			break // bounded: a real env file is short
		}
		n += len(l)
		if _, err := godotenv.UnmarshalBytes(b[:n]); err == nil {
			good = i + 1
		}
	}
	return good + 1
}

// loadConfig reads and checks every setting, and reports every problem at
// once, one line each, naming the variable.
func loadConfig(getenv func(string) string) (config, error) {
	e := &env{getenv: getenv}
	c := config{
		HTTP: httpConfig{
			Port:              e.int("PORT", defaultPort, 0, 65535),
			Origins:           e.origins("CLIENT_ORIGIN_URL", defaultOrigin),
			MaxHeaderBytes:    e.int("MAX_HEADER_BYTES", defaultMaxHeaderBytes, 4<<10, 8<<20),
			ReadHeaderTimeout: e.duration("READ_HEADER_TIMEOUT", defaultReadHeaderTimeout, 100*time.Millisecond, 5*time.Minute),
			ReadTimeout:       e.duration("READ_TIMEOUT", defaultReadTimeout, 100*time.Millisecond, time.Hour),
			WriteTimeout:      e.duration("WRITE_TIMEOUT", defaultWriteTimeout, 100*time.Millisecond, time.Hour),
			IdleTimeout:       e.duration("IDLE_TIMEOUT", defaultIdleTimeout, 100*time.Millisecond, time.Hour),
			ShutdownTimeout:   e.duration("SHUTDOWN_TIMEOUT", defaultShutdownTimeout, 0, 10*time.Minute),
		},
		Auth: auth.Config{
			Audience:            e.str("AUTH0_AUDIENCE", ""),
			MaxCredentialsBytes: e.int("MAX_AUTH_HEADER_BYTES", auth.DefaultMaxCredentialsBytes, 256, 1<<20),
			CacheSize:           e.int("TOKEN_CACHE_SIZE", auth.DefaultCacheSize, 0, 10_000_000),
			CacheBytes:          e.int("TOKEN_CACHE_BYTES", auth.DefaultCacheBytes, 1<<20, 1<<30),
			FailureCacheSize:    e.int("TOKEN_FAILURE_CACHE_SIZE", auth.DefaultFailureCacheSize, 0, 10_000_000),
			ScopeClaims:         e.scopeClaims("SCOPE_CLAIMS"),
		},
		JWKS: jwks.Options{
			MinRefresh:   e.duration("JWKS_MIN_REFRESH", jwks.DefaultMinRefresh, time.Second, 24*time.Hour),
			MaxRefresh:   e.duration("JWKS_MAX_REFRESH", jwks.DefaultMaxRefresh, time.Second, 7*24*time.Hour),
			MissInterval: e.duration("JWKS_REFETCH_INTERVAL", jwks.DefaultMissInterval, 100*time.Millisecond, time.Hour),
			FetchTimeout: e.duration("JWKS_FETCH_TIMEOUT", jwks.DefaultFetchTimeout, 100*time.Millisecond, time.Minute),
			MaxBytes:     int64(e.int("JWKS_MAX_BYTES", jwks.DefaultMaxBytes, 1<<10, 16<<20)),
		},
		Graph: graph.Options{
			MaxDepth:         e.int("GRAPHQL_MAX_DEPTH", graph.DefaultMaxDepth, 1, 1000),
			MaxComplexity:    e.int("GRAPHQL_MAX_COMPLEXITY", graph.DefaultMaxComplexity, 1, 1_000_000),
			MaxFields:        e.int("GRAPHQL_MAX_FIELDS", graph.DefaultMaxFields, 1, 1_000_000),
			ParserTokenLimit: e.int("GRAPHQL_MAX_TOKENS", graph.DefaultParserTokenLimit, 100, 1_000_000),
			MaxErrors:        e.int("GRAPHQL_MAX_ERRORS", graph.DefaultMaxErrors, 1, 10_000),
			MaxBodyBytes:     int64(e.int("MAX_BODY_BYTES", graph.DefaultMaxBodyBytes, 1<<10, 64<<20)),
			WSInitTimeout:    e.duration("WS_INIT_TIMEOUT", graph.DefaultWSInitTimeout, 100*time.Millisecond, 5*time.Minute),
			WSKeepAlive:      e.duration("WS_KEEPALIVE_INTERVAL", graph.DefaultWSKeepAlive, 100*time.Millisecond, 10*time.Minute),
			WSConnections:    e.int("WS_MAX_CONNECTIONS", graph.DefaultWSConnections, 1, 10_000_000),
			WSPongTimeout:    e.duration("WS_PONG_TIMEOUT", graphqlws.DefaultPongTimeout, 100*time.Millisecond, 5*time.Minute),
			WSWriteTimeout:   e.duration("WS_WRITE_TIMEOUT", graphqlws.DefaultWriteTimeout, 100*time.Millisecond, 5*time.Minute),
			WSMaxOperations:  e.int("WS_MAX_OPERATIONS", graphqlws.DefaultMaxOperations, 1, 100_000),
			Authz: authz.Options{
				PlanCacheSize: e.int("AUTHZ_PLAN_CACHE_SIZE", authz.DefaultPlanCacheSize, 1, 10_000_000),
			},
		},
		Messages: messages.HubOptions{
			MaxTextLength:  e.int("MESSAGE_MAX_LENGTH", messages.DefaultMaxTextLength, 1, 1<<20),
			Buffer:         e.int("SUBSCRIBER_BUFFER", messages.DefaultBuffer, 1, 1<<16),
			MaxSubscribers: e.int("MAX_SUBSCRIBERS", messages.DefaultMaxSubscribers, 1, 1<<24),
			Deletable:      e.int("DELETABLE_MESSAGES", messages.DefaultDeletable, 1, 1<<24),
		},
		Redis: messages.RedisOptions{
			URL:          e.redisURL("REDIS_URL"),
			Stream:       e.redisKey("REDIS_STREAM", messages.DefaultStream),
			StreamMaxLen: int64(e.int("REDIS_STREAM_MAX_LEN", messages.DefaultStreamMaxLen, 1, 1<<30)),
			DialTimeout:  e.duration("REDIS_DIAL_TIMEOUT", messages.DefaultDialTimeout, 10*time.Millisecond, time.Minute),
			ReadTimeout:  e.duration("REDIS_READ_TIMEOUT", messages.DefaultReadTimeout, 10*time.Millisecond, time.Minute),
			WriteTimeout: e.duration("REDIS_WRITE_TIMEOUT", messages.DefaultWriteTimeout, 10*time.Millisecond, time.Minute),
			SendTimeout:  e.duration("REDIS_SEND_TIMEOUT", messages.DefaultSendTimeout, 10*time.Millisecond, time.Minute),
			SendRetries:  e.int("REDIS_SEND_RETRIES", 0, 0, 10),
			PoolSize:     e.int("REDIS_POOL_SIZE", messages.DefaultPoolSize, 2, 10_000),
		},
		MetricsAddr: e.hostPort("METRICS_ADDR"),
		LogLevel:    e.logLevel("LOG_LEVEL"),
	}
	c.Graph.AllowedOrigins = c.HTTP.Origins
	c.Auth.Issuer, c.JWKS.URL = e.issuerURLs()
	c.Auth.Algorithms = e.algorithms("AUTH0_ALGORITHMS")
	c.JWKS.Algorithms = c.Auth.Algorithms
	c.DevMode = c.Auth.Issuer == ""
	if c.JWKS.MaxRefresh < c.JWKS.MinRefresh {
		e.fail("JWKS_MAX_REFRESH", "must not be below JWKS_MIN_REFRESH (%s)", c.JWKS.MinRefresh)
	}
	if c.Auth.MaxCredentialsBytes > c.HTTP.MaxHeaderBytes {
		e.fail("MAX_AUTH_HEADER_BYTES", "must not exceed MAX_HEADER_BYTES (%d)", c.HTTP.MaxHeaderBytes)
	}

	if c.DevMode {
		host, ok := e.host("127.0.0.1")
		c.HTTP.Host = host
		if ok && !isLoopbackHost(host) {
			e.fail("HOST", "%q is not a loopback address: development mode (no AUTH0_DOMAIN or AUTH0_ISSUER_URL set) binds 127.0.0.1, ::1 or localhost only", c.HTTP.Host)
		}
		if c.Auth.Audience == "" {
			c.Auth.Audience = devmode.DefaultAudience
		}
		c.Graph.Introspection = e.bool("GRAPHQL_INTROSPECTION", true)
		c.HTTP.DrainDelay = e.duration("SHUTDOWN_DRAIN_DELAY", 0, 0, 5*time.Minute)
		if c.MetricsAddr != "" {
			// ":9464" or "0.0.0.0:9464" would listen on every interface.
			if host, _, _ := net.SplitHostPort(c.MetricsAddr); !isLoopbackHost(host) {
				e.fail("METRICS_ADDR", "%q is not a loopback address: development mode binds 127.0.0.1, ::1 or localhost only", c.MetricsAddr)
			}
		}
	} else {
		c.HTTP.Host, _ = e.host("0.0.0.0")
		if c.Auth.Audience == "" {
			e.fail("AUTH0_AUDIENCE", "is required when an issuer is configured (the API identifier, e.g. https://api.example.com)")
		}
		c.Graph.Introspection = e.bool("GRAPHQL_INTROSPECTION", false)
		c.HTTP.DrainDelay = e.duration("SHUTDOWN_DRAIN_DELAY", defaultDrainDelay, 0, 5*time.Minute)
	}
	return c, errors.Join(e.errs...)
}

// host reads HOST: an IP address (an IPv6 one with or without brackets,
// "[::1]" or "::1"), a host name, or "" (every interface). It returns the
// address without brackets, as net.JoinHostPort wants it; ok is false after
// it reported a value that is none of these.
func (e *env) host(def string) (host string, ok bool) {
	v := e.str("HOST", def)
	if inner, bracketed := strings.CutPrefix(v, "["); bracketed {
		if inner, closed := strings.CutSuffix(inner, "]"); closed {
			if ip := net.ParseIP(inner); ip != nil && ip.To4() == nil {
				return inner, true
			}
		}
	} else if v == "" || net.ParseIP(v) != nil || validHostname(v) {
		return v, true
	}
	e.fail("HOST", "%q is not an IP address or host name", v)
	return "", false
}

// env reads typed settings and collects every problem.
type env struct {
	getenv func(string) string
	errs   []error
}

func (e *env) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (e *env) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

func (e *env) int(name string, def, lo, hi int) int {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.fail(name, "%q is not a whole number from %d to %d", v, lo, hi)
		return def
	}
	return n
}

func (e *env) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		e.fail(name, "%q is not a duration from %s to %s (e.g. 30s, 5m)", v, lo, hi)
		return def
	}
	return d
}

func (e *env) bool(name string, def bool) bool {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, "%q is not true or false", v)
		return def
	}
	return b
}

func (e *env) logLevel(name string) slog.Level {
	var l slog.Level
	if v := e.str(name, ""); v != "" {
		if err := l.UnmarshalText([]byte(v)); err != nil {
			e.fail(name, "%q is not one of debug, info, warn, error", v)
		}
	}
	return l
}

func (e *env) algorithms(name string) []jwa.SignatureAlgorithm {
	var algs []jwa.SignatureAlgorithm
	allowed := auth.AllowedAlgorithms()
	for _, s := range strings.Split(e.str(name, string(jwks.DefaultAlgorithm)), ",") {
		a := jwa.SignatureAlgorithm(strings.TrimSpace(s))
		if !slices.Contains(allowed, a) {
			e.fail(name, "%q is not an allowed algorithm (one or more of %v; never none or HS*)", s, allowed)
			continue
		}
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

// scopeClaims reads the comma-separated names of the claims that grant
// scopes; auth says which names cannot.
func (e *env) scopeClaims(name string) []string {
	v := e.str(name, "")
	if v == "" {
		return auth.DefaultScopeClaims()
	}
	var names []string
	for _, n := range strings.Split(v, ",") {
		names = append(names, strings.TrimSpace(n))
	}
	for _, err := range auth.CheckScopeClaims(names) {
		e.fail(name, "%v (e.g. scope,permissions or scope,https://example.com/roles)", err)
	}
	return names
}

// redisURL reads the Redis URL, checked by the messages package; its
// complaints never repeat the URL, which may carry a password.
func (e *env) redisURL(name string) string {
	u := e.str(name, "")
	if u == "" {
		return ""
	}
	if err := (messages.RedisOptions{URL: u}).Validate(); err != nil {
		for _, l := range strings.Split(err.Error(), "\n") {
			e.fail(name, "%s", strings.TrimPrefix(l, "messages: "))
		}
	}
	return u
}

// redisKey reads the name of a Redis key: 1 to 256 printable ASCII
// characters without spaces, so that it reads the same in redis-cli.
func (e *env) redisKey(name, def string) string {
	k := e.str(name, def)
	if len(k) > 256 || strings.ContainsFunc(k, func(c rune) bool { return c <= ' ' || c > '~' }) {
		e.fail(name, "%q must be 1 to 256 printable ASCII characters without spaces", k)
		return def
	}
	return k
}

// hostPort reads an optional "host:port" to listen on: host an IP address,
// a host name or empty (every interface), port 0 (any free one) to 65535.
func (e *env) hostPort(name string) string {
	v := e.str(name, "")
	if v == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	switch {
	case err != nil || perr != nil || n < 0 || n > 65535:
		e.fail(name, "%q is not host:port with a port from 0 to 65535, e.g. 127.0.0.1:9464", v)
	case host != "" && net.ParseIP(host) == nil && !validHostname(host):
		e.fail(name, "%q: %q is not an IP address or host name", v, host)
	default:
		return v
	}
	return ""
}

// origins reads a comma-separated list of CORS origins. "*" is refused: a
// wildcard would let any site call the API with a user's token.
func (e *env) origins(name, def string) []string {
	var out []string
	for _, s := range strings.Split(e.str(name, def), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		switch {
		case s == "*" || strings.Contains(s, "*"):
			e.fail(name, "wildcards are not allowed; list each origin, e.g. https://app.example.com")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			e.fail(name, "%q is not an origin like https://app.example.com", s)
		default:
			out = append(out, u.Scheme+"://"+u.Host) // browsers send Origin without a trailing slash
		}
	}
	if len(out) == 0 && len(e.errs) == 0 {
		e.fail(name, "lists no origin")
	}
	return out
}

// issuerURLs derives the issuer and JWKS URLs; both are "" when none is
// configured (development mode).
func (e *env) issuerURLs() (iss, jwksURL string) {
	domain := e.str("AUTH0_DOMAIN", "")
	iss = e.str("AUTH0_ISSUER_URL", "")
	jwksURL = e.str("AUTH0_JWKS_URL", "")
	if domain != "" {
		if !validHostname(domain) && !validHostPort(domain) {
			e.fail("AUTH0_DOMAIN", "%q must be a host name like tenant.eu.auth0.com, without https:// or a path", domain)
		} else if iss == "" {
			iss = "https://" + domain + "/" // as Auth0 writes "iss", trailing slash included
		}
	}
	if iss == "" {
		if jwksURL != "" {
			e.fail("AUTH0_JWKS_URL", "is set but no issuer is: set AUTH0_DOMAIN or AUTH0_ISSUER_URL too")
		}
		return "", ""
	}
	if err := checkURL(iss); err != nil {
		e.fail("AUTH0_ISSUER_URL", "%q %v", iss, err)
	}
	if jwksURL == "" {
		jwksURL = issuer.JWKSURL(iss)
	} else if err := checkURL(jwksURL); err != nil {
		e.fail("AUTH0_JWKS_URL", "%q %v", jwksURL, err)
	}
	return iss, jwksURL
}

// checkURL accepts absolute https URLs, and http ones for loopback hosts
// only: anywhere else a network attacker could serve us keys.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return errors.New("is not an absolute URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return errors.New("must not carry credentials, a query or a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("must use https (plain http is accepted for localhost, 127.0.0.0/8 and [::1] only)")
	}
	return errors.New("must be an https URL")
}

func isLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536 && validHostname(host)
}

// validHostname reports whether s is a DNS name (letters, digits, hyphens,
// dots).
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
