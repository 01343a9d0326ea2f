package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"

	"github.com/rs/cors"

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/devmode"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/metrics"
	"github.com/authgql/server/playground"
	"github.com/authgql/server/requestid"
)

// newServer returns the whole HTTP surface. dev is nil in production
// mode, m nil without METRICS_ADDR.
func newServer(logger *slog.Logger, cfg config, v *auth.Validator, gql http.Handler, dev *devmode.Issuer, m *metrics.Metrics, h *health) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, v, gql, dev, m, h)
	// CORS is outside authentication so that preflight requests, which
	// never carry a token, are answered before it.
	c := cors.New(cors.Options{
		AllowedOrigins: cfg.HTTP.Origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodHead},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "Apollo-Require-Preflight", "X-Apollo-Operation-Name", requestid.Header},
		// What a browser client may read of a response: the request ID to
		// quote in a bug report, the RFC 6750 challenge, and when to retry.
		ExposedHeaders: []string{requestid.Header, "WWW-Authenticate", "Retry-After"},
		MaxAge:         86400, // as the hello-world sample
	})
	// Outermost, the request ID: every response carries it, 404s, panics
	// and WebSocket upgrades included, and every line logged with the
	// request's context has it. While draining, connections close after
	// their response. Latency is observed inside panic recovery
	// (a panic counts as 500) and outside CORS, which passes the same
	// *http.Request on: InstrumentHTTP reads the route from the pattern the
	// mux sets on it.
	return requestid.Middleware(h.closeWhileDraining(recoverPanics(logger, m.InstrumentHTTP(c.Handler(cleanPaths(mux))))))
}

// cleanPaths answers a request whose path is not clean (".." or "."
// segments, repeated slashes) with the JSON 404 of any unknown path:
// ServeMux would redirect it with an HTML body, and SPEC.md wants JSON
// from every route; no client of this API needs such paths.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if clean != p {
			api.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routeLabels are the values the route label of request latency may take:
// the path of every pattern addRoutes registers, except the catch-alls "/"
// and "/api/", which only answer 404 and count as "other".
// TestRouteLabels checks that this list and addRoutes agree.
func routeLabels() []string {
	return []string{
		"/graphql",
		"/api/public", "/api/private", "/api/private-scoped",
		"/api/messages/public", "/api/messages/protected", "/api/messages/admin",
		"/{$}", "/playground/",
		devmode.JWKSPath, devmode.TokenPath, devmode.AuthzPath,
		"/healthz", "/readyz",
	}
}

// router is what addRoutes registers routes with: an *http.ServeMux.
type router interface {
	Handle(pattern string, handler http.Handler)
}

// addRoutes maps the entire HTTP surface in one place: every route the
// server answers is listed here. Refusals are written by one writer per
// surface: graph (graph/errors.go) for GraphQL bodies, api (api/errors.go)
// for every other JSON body; refused counts those for an auth reason.
func addRoutes(mux router, logger *slog.Logger, v *auth.Validator, gql http.Handler, dev *devmode.Issuer, m *metrics.Metrics, h *health) {
	refused := func(surface metrics.Surface, write func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
		return func(w http.ResponseWriter, r *http.Request, err error) {
			var authErr *auth.Error
			if errors.As(err, &authErr) {
				m.RequestRefused(surface, string(authErr.Reason))
			}
			write(w, r, err)
		}
	}
	authn := func(onError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
		return auth.Middleware(v, auth.MiddlewareOptions{OnError: onError, Logger: logger})
	}

	// GraphQL over HTTP (POST, GET) and WebSocket, body limits included;
	// the middleware also checks an upgrade request's Authorization header
	// (see graph/websocket.go for the WebSocket credential policy).
	mux.Handle("/graphql", authn(refused(metrics.SurfaceGraphQL, graph.WriteError))(gql))

	// The samples' REST routes. Anything but GET and HEAD is refused first
	// (405), then guarded routes authenticate; public routes skip
	// authentication, as in the samples, so that a stale token never
	// breaks them.
	restRefused := refused(metrics.SurfaceREST, api.WriteError)
	restAuthn := authn(restRefused)
	public := func(body any) http.Handler { return api.GetOnly(api.Reply(body)) }
	guarded := func(need authz.Requirement, body any) http.Handler {
		return api.GetOnly(restAuthn(api.Require(need, body, restRefused)))
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
	mux.Handle("/{$}", pg) // pg answers 405 to methods but GET and HEAD
	mux.Handle("/playground/", pg)

	// Development mode only: the embedded issuer's key set
	// (/.well-known/jwks.json), fresh tokens (/dev/token), and for the
	// playground the authorization matrix with the current token's
	// decisions (/dev/authz).
	if dev != nil {
		mux.Handle(devmode.JWKSPath, api.GetOnly(dev.JWKS()))
		mux.Handle(devmode.TokenPath, api.GetOnly(dev.Token()))
		mux.Handle(devmode.AuthzPath, api.GetOnly(restAuthn(dev.Authz())))
	}

	// Liveness, and readiness for a load balancer (see health).
	mux.Handle("/healthz", api.GetOnly(http.HandlerFunc(h.live)))
	mux.Handle("/readyz", api.GetOnly(http.HandlerFunc(h.ready)))

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
