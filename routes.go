package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/rs/cors"

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/jsonhttp"
	"github.com/authgql/server/playground"
)

// newServer returns the whole HTTP surface. dev is nil in production mode.
func newServer(logger *slog.Logger, cfg config, v *auth.Validator, gql http.Handler, dev *devmode.Issuer) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, v, gql, dev)
	// CORS is outermost so that preflight requests, which never carry a
	// token, are answered before authentication.
	c := cors.New(cors.Options{
		AllowedOrigins: cfg.Origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodHead},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "Apollo-Require-Preflight", "X-Apollo-Operation-Name"},
		MaxAge:         86400, // as the hello-world sample
	})
	return recoverPanics(logger, c.Handler(mux))
}

// addRoutes maps the entire API surface in one place.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg config, v *auth.Validator, gql http.Handler, dev *devmode.Issuer) {
	authn := func(onError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
		return auth.Middleware(v, auth.MiddlewareOptions{OnError: onError, Logger: logger})
	}

	mux.Handle("/graphql", authn(graph.WriteError)(graph.LimitBody(cfg.MaxBodyBytes)(gql)))
	api.Register(mux, authn(api.WriteError))

	pgOpts := playground.Options{Endpoint: "/graphql"}
	if dev != nil {
		pgOpts.DevTokenURL = devmode.TokenPath
		dev.Register(mux)
	}
	pg := playground.Handler(pgOpts)
	mux.Handle("GET /{$}", pg)
	mux.Handle("GET /playground/", pg)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !v.Ready() {
			jsonhttp.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "waiting for the issuer's signing keys"})
			return
		}
		jsonhttp.Write(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		jsonhttp.Write(w, http.StatusNotFound, map[string]string{"code": "not_found", "description": "No route for " + r.URL.Path})
	})
}

// recoverPanics answers 500 instead of dropping the connection when a
// handler panics, and logs the stack. http.ErrAbortHandler keeps its meaning.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil || p == http.ErrAbortHandler {
				if p != nil {
					panic(p)
				}
				return
			}
			logger.ErrorContext(r.Context(), "handler panic", "panic", fmt.Sprint(p), "path", r.URL.Path, "stack", string(debug.Stack()))
			jsonhttp.Write(w, http.StatusInternalServerError, map[string]string{"code": "internal_error", "description": "internal server error"})
		}()
		next.ServeHTTP(w, r)
	})
}
