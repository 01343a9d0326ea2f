// Command server is a GraphQL API whose schema says who may read what:
// @auth and @hasScope on fields, decided from verified Auth0 access tokens.
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

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/jwks"
	"github.com/authgql/server/messages"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx ends or serving fails. Human
// output (the listening address, the development banner) goes to stdout,
// logs to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	envFile := flags.String("env-file", ".env", "file of KEY=VALUE defaults; the environment wins")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	getenv, err := withDotEnv(getenv, *envFile)
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
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	// Listen before anything else so that a busy port fails at once, and so
	// that development mode knows its own URL (PORT=0 picks a free port).
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	baseURL := "http://" + ln.Addr().String() + "/"

	var dev *devmode.Issuer
	if cfg.DevMode() {
		// A development token grants, unless asked for fewer, every scope
		// the schema and the REST routes use.
		scopes := slices.Concat(graph.Scopes(), api.Scopes())
		slices.Sort(scopes)
		if dev, err = devmode.New(baseURL, cfg.Audience, slices.Compact(scopes)); err != nil {
			return err
		}
		cfg.Issuer, cfg.JWKSURL = dev.URL(), dev.JWKSURL()
	}

	keys, err := jwks.New(jwks.Options{
		URL:          cfg.JWKSURL,
		Algorithms:   cfg.Algorithms,
		Logger:       logger,
		FetchTimeout: cfg.JWKSFetchTimeout,
		MaxBytes:     cfg.JWKSMaxBytes,
		MinRefresh:   cfg.JWKSMinRefresh,
		MaxRefresh:   cfg.JWKSMaxRefresh,
		MissInterval: cfg.JWKSMissInterval,
	})
	if err != nil {
		return err
	}
	v, err := auth.NewValidator(auth.Config{
		Issuer:              cfg.Issuer,
		Audience:            cfg.Audience,
		Algorithms:          cfg.Algorithms,
		MaxCredentialsBytes: cfg.MaxAuthHeaderBytes,
		CacheSize:           cfg.TokenCacheSize,
	}, keys)
	if err != nil {
		return err
	}

	gql, err := graph.NewHandler(graph.Options{
		Logger:           logger,
		Introspection:    cfg.Introspection,
		MaxDepth:         cfg.MaxDepth,
		MaxComplexity:    cfg.MaxComplexity,
		MaxFields:        cfg.MaxFields,
		ParserTokenLimit: cfg.ParserTokenLimit,
		Validator:        v,
		Hub: messages.NewHub(messages.HubOptions{
			MaxTextLength:  cfg.MaxTextLength,
			Buffer:         cfg.SubscriberBuf,
			MaxSubscribers: cfg.MaxSubscribers,
		}),
		AllowedOrigins: cfg.Origins,
		WSInitTimeout:  cfg.WSInitTimeout,
		WSKeepAlive:    cfg.WSKeepAlive,
		WSMessageBytes: cfg.MaxBodyBytes,
		WSConnections:  cfg.WSConnections,
	})
	if err != nil {
		return err
	}

	// Requests' contexts, WebSocket connections' included, derive from
	// connCtx. Shutdown does not wait for hijacked connections, so
	// cancelling connCtx afterwards is what ends live subscriptions (close
	// 1000), letting clients reconnect to another instance.
	connCtx, endConns := context.WithCancel(context.WithoutCancel(ctx))
	defer endConns()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return connCtx },
		Handler:           newServer(logger, cfg, v, gql, dev),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The key cache lives until shutdown; the server is up meanwhile and
	// answers 503 to token-bearing requests until the first fetch succeeds.
	keysCtx, stopKeys := context.WithCancel(ctx)
	defer stopKeys()
	go keys.Run(keysCtx)

	mode := "production"
	if dev != nil {
		mode = "development"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "mode", mode, "issuer", cfg.Issuer, "audience", cfg.Audience)
	fmt.Fprintf(stdout, "listening on %s (%s mode)\n", baseURL, mode)
	if dev != nil {
		tok, err := dev.Mint(dev.Scopes(), devmode.BannerTokenLifetime)
		if err != nil {
			return err
		}
		devmode.PrintBanner(stdout, baseURL, cfg.Audience, tok)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	// A fresh context: ctx is already done, and shutdown deserves its own
	// deadline to let requests in flight finish.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	endConns()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
