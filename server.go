// Command server is a GraphQL API whose schema says who may read what:
// access directives on fields and types, decided from verified Auth0
// access tokens once per operation, before anything runs. With
// -print-authz it prints who may read which field (AUTHZ.md) and exits.
// With no issuer configured it runs in development mode, with an embedded
// issuer. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/internal/listen"
	"github.com/authgql/server/jwks"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/metrics"
	"github.com/authgql/server/requestid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the graceful shutdown; a second one, during
	// the drain, ends the process at once.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args, os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx ends or serving fails. Human
// output (the listening address, the development banner) goes to stdout,
// logs to stderr.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	envFile := flags.String("env-file", ".env", "file of KEY=VALUE defaults; the environment wins")
	printAuthz := flags.Bool("print-authz", false, "print the authorization matrix (every field's requirement, as in AUTHZ.md) and exit, without serving")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage is printed, nothing else to do
	} else if err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: the server takes flags only (-env-file FILE, -print-authz); settings come from the environment", flags.Arg(0))
	}
	// The schema's access directives, checked before anything else: a
	// schema that breaks default deny stops the server here.
	policy, err := graph.Policy()
	if err != nil {
		return err
	}
	if *printAuthz {
		return printMatrix(stdout, policy)
	}
	envFileNamed := false
	flags.Visit(func(f *flag.Flag) { envFileNamed = envFileNamed || f.Name == "env-file" })
	getenv, err := withDotEnv(lookupEnv, *envFile, envFileNamed)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		// One self-contained line per problem, each naming its variable.
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = "invalid configuration: " + l
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	// Every line logged with a request's context carries its request_id.
	logger := slog.New(requestid.NewHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))

	// Listen before anything else so that a busy port fails at once, and so
	// that development mode knows its own URL (PORT=0 picks a free port).
	ln, err := listen.TCP(net.JoinHostPort(cfg.HTTP.Host, strconv.Itoa(cfg.HTTP.Port)))
	if err != nil {
		return fmt.Errorf("listen on HOST and PORT: %w", err)
	}
	defer ln.Close()
	baseURL := "http://" + ln.Addr().String() + "/"

	// Prometheus metrics, served on their own listener (METRICS_ADDR)
	// only; m is nil without it, and every hook then does nothing.
	var m *metrics.Metrics
	if cfg.MetricsAddr != "" {
		if m, err = metrics.New(metrics.Options{Routes: routeLabels(), Logger: logger}); err != nil {
			return err
		}
	}

	var dev *devmode.Issuer
	if cfg.DevMode {
		// A development token grants, unless asked for fewer, every scope
		// the schema and the REST routes use.
		scopes := slices.Concat(policy.Scopes(), api.Scopes())
		slices.Sort(scopes)
		if dev, err = devmode.New(baseURL, cfg.Auth.Audience, slices.Compact(scopes), policy); err != nil {
			return err
		}
		cfg.Auth.Issuer, cfg.JWKS.URL = dev.URL(), dev.JWKSURL()
	}

	cfg.JWKS.Logger, cfg.JWKS.Metrics = logger, m
	keys, err := jwks.New(cfg.JWKS)
	if err != nil {
		return err
	}
	cfg.Auth.Metrics = m
	v, err := auth.NewValidator(cfg.Auth, keys)
	if err != nil {
		return err
	}
	ready := &health{keys: v}
	cfg.Messages.Observer = busObserver{m: m}
	var bus messages.Bus
	if cfg.Redis.URL == "" {
		bus = messages.NewHub(cfg.Messages)
	} else {
		// go-redis logs through a logger of its own, global to the
		// process; this is the one place it is set.
		redis.SetLogger(messages.RedisLogger(logger))
		cfg.Redis.Hub, cfg.Redis.Logger = cfg.Messages, logger
		rb, err := messages.NewRedisBus(cfg.Redis)
		if err != nil {
			return err
		}
		bus, ready.redis = rb, rb
	}
	defer bus.Close()
	cfg.Graph.Logger, cfg.Graph.Validator, cfg.Graph.Hub, cfg.Graph.Metrics = logger, v, bus, m
	gql, err := graph.NewHandler(cfg.Graph)
	if err != nil {
		return err
	}

	var metricsSrv *metrics.Server
	if m != nil {
		if metricsSrv, err = metrics.Listen(cfg.MetricsAddr, m.Handler()); err != nil {
			return fmt.Errorf("METRICS_ADDR: %w", err)
		}
	}

	// Requests' contexts, WebSocket connections' included, derive from
	// connCtx, which is cancelled last, after shutdown, to end whatever
	// is still running.
	connCtx, endConns := context.WithCancel(context.WithoutCancel(ctx))
	defer endConns()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return connCtx },
		Handler:           newServer(logger, cfg, v, gql, dev, m, ready),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    cfg.HTTP.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The metrics listener outlives the API's shutdown, so that the drain
	// can be watched; a failure of it is logged and leaves the API serving.
	metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	metricsDone := make(chan struct{})
	defer func() { stopMetrics(); <-metricsDone }()
	go func() {
		defer close(metricsDone)
		if metricsSrv == nil {
			return
		}
		if err := metricsSrv.Serve(metricsCtx); err != nil {
			logger.Error("metrics listener failed", "err", err)
		}
	}()

	// The key cache lives until shutdown; the server is up meanwhile and
	// answers 503 to token-bearing requests until the first fetch succeeds.
	keysCtx, stopKeys := context.WithCancel(ctx)
	defer stopKeys()
	go keys.Run(keysCtx)

	mode := "production"
	if cfg.DevMode {
		mode = "development"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "mode", mode, "issuer", cfg.Auth.Issuer, "audience", cfg.Auth.Audience, "redis", cfg.Redis.URL != "")
	fmt.Fprintf(stdout, "listening on %s (%s mode)\n", baseURL, mode)
	if metricsSrv != nil {
		logger.Info("serving metrics", "addr", metricsSrv.Addr())
		fmt.Fprintf(stdout, "metrics on http://%s%s\n", metricsSrv.Addr(), metrics.Path)
	}
	if dev != nil {
		tok, err := dev.Mint(dev.Scopes(), devmode.BannerTokenLifetime)
		if err != nil {
			return err
		}
		devmode.PrintBanner(stdout, baseURL, cfg.Auth.Audience, tok)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	err = shutdown(logger, cfg.HTTP, ready, srv, gql)
	endConns()
	if cerr := bus.Close(); cerr != nil {
		logger.Warn("closing the message bus", "err", cerr)
	}
	logger.Info("stopped", "err", err)
	return err
}

// shutdown stops serving gracefully (SPEC.md, "Operating several
// instances"), once the process is told to stop (SIGTERM):
//
//  1. /readyz answers 503 at once, and for DrainDelay the server goes on
//     serving everything, new connections included, so that a load
//     balancer's health check sees the 503 and sends new requests
//     elsewhere; a keep-alive connection is closed after its next
//     response (health.closeWhileDraining), so that it moves too;
//  2. the listener closes and requests in flight finish, within
//     ShutdownTimeout;
//  3. live WebSockets are closed with 1001 "server shutting down", so that
//     clients reconnect, through the load balancer, to another instance;
//     their close handshakes get another ShutdownTimeout.
//
// The message bus closes after it (run), so that no subscription is
// completed before its socket is closed: graphql-ws clients resubscribe
// after a close, not after a complete. It returns an error if requests
// in flight did not finish in time.
func shutdown(logger *slog.Logger, cfg httpConfig, ready *health, srv *http.Server, gql *graph.Handler) error {
	ready.drain()
	logger.Info("draining: /readyz answers 503", "drain_delay", cfg.DrainDelay)
	time.Sleep(cfg.DrainDelay)

	logger.Info("shutting down: waiting for requests in flight", "timeout", cfg.ShutdownTimeout)
	// Fresh contexts: the run's context has ended already.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = fmt.Errorf("shutdown: requests in flight did not finish within SHUTDOWN_TIMEOUT (%s): %w", cfg.ShutdownTimeout, err)
	}

	wsCtx, cancelWS := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancelWS()
	logger.Info("shutting down: closing WebSockets with 1001", "timeout", cfg.ShutdownTimeout)
	if wsErr := gql.Shutdown(wsCtx); wsErr != nil {
		logger.Warn("shutting down: WebSockets still open after SHUTDOWN_TIMEOUT; ending them", "err", wsErr)
	}
	return err
}

// busObserver counts what the message bus does in the server's metrics.
// Live subscriptions are counted by the GraphQL layer, which knows when a
// subscription starts and ends.
type busObserver struct {
	messages.NopObserver
	m *metrics.Metrics
}

func (o busObserver) Published()                { o.m.MessagePublished() }
func (o busObserver) Delivered(subscribers int) { o.m.MessageDelivered(subscribers) }
func (o busObserver) RedisError(op string) {
	switch op {
	case messages.OpSend:
		o.m.RedisError(metrics.RedisPublish)
	case messages.OpRead:
		o.m.RedisError(metrics.RedisRead)
	default:
		o.m.RedisError(metrics.RedisOperation(op))
	}
}

// authzHeader heads the matrix -print-authz prints; AUTHZ.md is exactly
// that output.
const authzHeader = "<!-- Generated by `go run . -print-authz > AUTHZ.md`; test.sh fails when this file is stale. -->\n\n"

// printMatrix writes the authorization matrix of policy as Markdown.
func printMatrix(w io.Writer, policy *authz.Policy) error {
	_, err := io.WriteString(w, authzHeader+policy.Matrix().Markdown())
	return err
}
