package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/rs/cors"

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/playground"
)

// newServer returns the whole HTTP surface. dev is nil in production mode.
func newServer(logger *slog.Logger, cfg config, v *auth.Validator, gql http.Handler, dev *devmode.Issuer) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, v, gql, dev)
	// CORS is outermost so that preflight requests, which never carry a
	// token, are answered before authentication.
	c := cors.New(cors.Options{
		AllowedOrigins: cfg.HTTP.Origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodHead},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "Apollo-Require-Preflight", "X-Apollo-Operation-Name"},
		MaxAge:         86400, // as the hello-world sample
	})
	return recoverPanics(logger, c.Handler(mux))
}

// addRoutes maps the entire HTTP surface in one place: every route the
// server answers is listed here. Refusals are written by one writer per
// surface: graph (graph/errors.go) for GraphQL bodies, api (api/errors.go)
// for every other JSON body.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg config, v *auth.Validator, gql http.Handler, dev *devmode.Issuer) {
	authn := func(onError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
		return auth.Middleware(v, auth.MiddlewareOptions{OnError: onError, Logger: logger})
	}

	// GraphQL over HTTP (POST, GET) and WebSocket, body limits included;
	// the middleware also checks an upgrade request's Authorization header
	// (see graph/websocket.go for the WebSocket credential policy).
	mux.Handle("/graphql", authn(graph.WriteError)(gql))

	// The samples' REST routes. Anything but GET and HEAD is refused first
	// (405), then guarded routes authenticate; public routes skip
	// authentication, as in the samples, so that a stale token never
	// breaks them.
	restAuthn := authn(api.WriteError)
	public := func(body any) http.Handler { return api.GetOnly(api.Reply(body)) }
	guarded := func(need authz.Requirement, body any) http.Handler {
		return api.GetOnly(restAuthn(api.Require(need, body)))
	}
	mux.Handle("/api/public", public(map[string]string{"message": messages.Public}))
	mux.Handle("/api/private", guarded(authz.Authenticated(), map[string]string{"message": messages.Private}))
	mux.Handle("/api/private-scoped", guarded(authz.HasScope(api.ScopeReadMessages), map[string]string{"message": messages.Scoped}))
	mux.Handle("/api/messages/public", public(map[string]string{"text": messages.HelloPublic}))
	mux.Handle("/api/messages/protected", guarded(authz.Authenticated(), map[string]string{"text": messages.HelloProtected}))
	mux.Handle("/api/messages/admin", guarded(authz.HasScope(api.ScopeReadAdminMessages), map[string]string{"text": messages.HelloAdmin}))
	mux.Handle("/api/", http.HandlerFunc(api.NotFound))

	// The playground: the page at / and /playground/, its assets under
	// /playground/assets/.
	pgOpts := playground.Options{
		Endpoint:         "/graphql",
		NotFound:         http.HandlerFunc(api.NotFound),
		MethodNotAllowed: http.HandlerFunc(api.MethodNotAllowed),
	}
	if dev != nil {
		pgOpts.DevTokenURL = devmode.TokenPath
		pgOpts.DevAuthzURL = devmode.AuthzPath
	}
	pg := playground.Handler(pgOpts)
	mux.Handle("GET /{$}", pg)
	mux.Handle("GET /playground/", pg)

	// Development mode only: the embedded issuer's key set
	// (/.well-known/jwks.json), fresh tokens (/dev/token), and for the
	// playground the authorization matrix with the current token's
	// decisions (/dev/authz).
	if dev != nil {
		mux.Handle("GET "+devmode.JWKSPath, dev.JWKS())
		mux.Handle("GET "+devmode.TokenPath, dev.Token())
		mux.Handle("GET "+devmode.AuthzPath, restAuthn(dev.Authz()))
	}

	// Liveness, and readiness for a load balancer.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !v.Ready() {
			api.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "waiting for the issuer's signing keys"})
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})

	// Everything else.
	mux.Handle("/", http.HandlerFunc(api.NotFound))
}

// errPanic stands for a recovered panic; what the panic said goes to the
// log only.
var errPanic = errors.New("handler panicked")

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
			api.WriteError(w, r, errPanic)
		}()
		next.ServeHTTP(w, r)
	})
}
