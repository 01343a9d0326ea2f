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

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
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
	printAuthz := flags.Bool("print-authz", false, "print the authorization matrix (every field's requirement, as in AUTHZ.md) and exit, without serving")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := flags.Parse(args); err != nil {
		return err
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
	getenv, err = withDotEnv(getenv, *envFile)
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
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.HTTP.Host, strconv.Itoa(cfg.HTTP.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	baseURL := "http://" + ln.Addr().String() + "/"

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

	cfg.JWKS.Logger = logger
	keys, err := jwks.New(cfg.JWKS)
	if err != nil {
		return err
	}
	v, err := auth.NewValidator(cfg.Auth, keys)
	if err != nil {
		return err
	}
	cfg.Graph.Logger, cfg.Graph.Validator, cfg.Graph.Hub = logger, v, messages.NewHub(cfg.Messages)
	gql, err := graph.NewHandler(cfg.Graph)
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
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    cfg.HTTP.MaxHeaderBytes,
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
	if cfg.DevMode {
		mode = "development"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "mode", mode, "issuer", cfg.Auth.Issuer, "audience", cfg.Auth.Audience)
	fmt.Fprintf(stdout, "listening on %s (%s mode)\n", baseURL, mode)
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
	logger.Info("shutting down", "timeout", cfg.HTTP.ShutdownTimeout)
	// A fresh context: ctx is already done, and shutdown deserves its own
	// deadline to let requests in flight finish.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	endConns()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// authzHeader heads the matrix -print-authz prints; AUTHZ.md is exactly
// that output.
const authzHeader = "<!-- Generated by `go run . -print-authz > AUTHZ.md`; test.sh fails when this file is stale. -->\n\n"

// printMatrix writes the authorization matrix of policy as Markdown.
func printMatrix(w io.Writer, policy *authz.Policy) error {
	_, err := io.WriteString(w, authzHeader+policy.Matrix().Markdown())
	return err
}
