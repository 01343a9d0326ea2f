package graph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/graphqlws"
	"github.com/authgql/server/metrics"
)

// Defaults of the WebSocket settings in Options.
const (
	DefaultWSInitTimeout = graphqlws.DefaultInitTimeout
	DefaultWSKeepAlive   = graphqlws.DefaultKeepAliveInterval
	DefaultWSConnections = 10000
)

// closeTryAgainLater is RFC 6455's 1013: the server is overloaded or not
// ready (no signing key loaded yet).
const closeTryAgainLater = 1013

// CodeSubscriptionTransport refuses a subscription sent over plain HTTP
// (executor.prepare): gqlgen's HTTP transports would answer the first
// event and end, a working subscription that stops.
const CodeSubscriptionTransport = "SUBSCRIPTION_NEEDS_WEBSOCKET"

// CodeShuttingDown refuses (503) a WebSocket upgrade after Shutdown.
const CodeShuttingDown = "SHUTTING_DOWN"

// upgradeCredentialsKey carries the upgrade request's Authorization header
// to initConnection; guardUpgrades puts it in the context.
type upgradeCredentialsKey struct{}

// errConflictingCredentials refuses a connection whose connection_init
// and upgrade request, or connection_init's two spellings of
// "authorization", carry different tokens.
var errConflictingCredentials = errors.New("graph: a connection carries two different tokens")

// websocketTransport serves subscriptions (and queries and mutations) over
// both subprotocols (package graphqlws); initConnection authenticates each
// connection.
func websocketTransport(opts Options) (*graphqlws.Transport, error) {
	return graphqlws.New(graphqlws.Options{
		Init:              initConnection(opts.Validator, opts.Metrics),
		InitTimeout:       opts.WSInitTimeout,
		KeepAliveInterval: opts.WSKeepAlive,
		PongTimeout:       opts.WSPongTimeout,
		WriteTimeout:      opts.WSWriteTimeout,
		MaxOperations:     opts.WSMaxOperations,
		MaxMessageBytes:   opts.MaxBodyBytes,
		// guardUpgrades has already refused foreign origins; this is the
		// library's own check, given the same list, as a second line.
		OriginPatterns: originPatterns(opts.AllowedOrigins),
		Logger:         opts.Logger,
	})
}

// initConnection authenticates a WebSocket connection. The credential is
// the connection_init payload's "authorization" (or "Authorization") entry,
// "Bearer " optional, read through auth.Validator.Authenticate as HTTP
// requests are; the directives then decide per field exactly as over HTTP.
//
// The upgrade request may carry an Authorization header too (server-side
// clients can set one; browsers cannot): the HTTP middleware has validated
// it already, refusing an invalid one with 401 before the upgrade, and put
// its claims in ctx. So: no credential in connection_init leaves the
// connection authenticated by that header, or anonymous without one;
// a credential in both places must be the same token, or the connection is
// refused, so that no one has to guess which of two identities a
// connection acts as.
//
// No token at all means an anonymous connection: guarded fields then fail
// as they do over HTTP. A refused connection is closed: 4403 on
// graphql-transport-ws, whose protocol says so for a refused
// connection_init, 4401 on graphql-ws (graphqlws chooses by protocol);
// 1013 while no signing key is loaded yet.
func initConnection(v *auth.Validator, m *metrics.Metrics) graphqlws.InitFunc {
	return func(ctx context.Context, payload map[string]any) (context.Context, error) {
		upgradeCredentials, _ := ctx.Value(upgradeCredentialsKey{}).(string)
		credentials, err := initCredentials(payload)
		if err == nil && credentials == "" {
			return ctx, nil
		}
		var claims *auth.Claims
		if err == nil {
			claims, err = v.Authenticate(ctx, credentials)
		}
		if err == nil && upgradeCredentials != "" && !auth.SameToken(upgradeCredentials, credentials) {
			err = &auth.Error{Reason: auth.ReasonInvalidHeader, Err: errConflictingCredentials,
				Detail: "connection_init and the upgrade request's Authorization header carry different tokens; send one"}
		}
		if err == nil {
			return auth.NewContext(ctx, claims), nil
		}
		refusal := &graphqlws.RefusalError{Err: err}
		reason := "Unauthorized"
		if auth.Describe(err).Status == http.StatusServiceUnavailable {
			// Not a verdict on the token: the keys to check it with are not
			// loaded yet.
			refusal.Code, reason = closeTryAgainLater, "Try Again Later"
		}
		var authErr *auth.Error
		if errors.As(err, &authErr) {
			m.RequestRefused(metrics.SurfaceWebSocket, string(authErr.Reason))
		}
		switch {
		case errors.Is(err, errConflictingCredentials):
			reason += ": conflicting credentials"
		case authErr != nil:
			reason += ": " + string(authErr.Reason)
		}
		refusal.Reason = reason
		return ctx, refusal
	}
}

// initCredentials returns the payload's "authorization" (or
// "Authorization") entry as credentials, "Bearer " added to a bare token,
// or "" for none. A present entry that is not a string is a malformed
// header, not an anonymous connection; both entries present with two
// different tokens are refused like a conflict with the upgrade's header,
// so that a connection never acts as one of two identities picked by key
// order.
func initCredentials(p map[string]any) (string, error) {
	var found string
	for _, key := range []string{"authorization", "Authorization"} {
		v, ok := p[key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", &auth.Error{Reason: auth.ReasonInvalidHeader, Detail: "connection_init authorization must be a string"}
		}
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if scheme, _, _ := strings.Cut(s, " "); !strings.EqualFold(scheme, "Bearer") {
			s = "Bearer " + s
		}
		if found != "" && !auth.SameToken(found, s) {
			return "", &auth.Error{Reason: auth.ReasonInvalidHeader, Err: errConflictingCredentials,
				Detail: `connection_init carries two different tokens, in "authorization" and "Authorization"; send one`}
		}
		found = s
	}
	return found, nil
}

// guardUpgrades protects WebSocket upgrades. Against cross-site WebSocket
// hijacking: a browser sends Origin, and only the same origin or one of
// CLIENT_ORIGIN_URL may open a connection (clients that send no Origin are
// not browsers and carry no ambient credentials to hijack). Against running
// out of sockets: at most maxConns connections are open at once, beyond
// which an upgrade gets 503; the transport's handler returns only when its
// connection ends (graphqlws guarantees it, however the connection ends),
// so counting around it is exact. It also records, for initConnection, the
// upgrade's Authorization header, counts open WebSockets in m, and refuses
// upgrades once Shutdown has begun. (The HTTP
// server's read and write timeouts do not cut subscriptions: net/http
// clears a connection's deadlines when the WebSocket library hijacks it.)
func (h *Handler) guardUpgrades(allowed []string, maxConns int, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(r, origin) && !slices.Contains(allowed, origin) {
			writeError(w, http.StatusForbidden, "FORBIDDEN", "WebSocket connections from origin "+origin+" are not allowed")
			return
		}
		if h.closing.Load() {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, CodeShuttingDown, "this server is shutting down; connect again")
			return
		}
		if h.open.Add(1) > int64(maxConns) {
			h.open.Add(-1)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "TOO_MANY_CONNECTIONS", "too many WebSocket connections on this server; try again later")
			return
		}
		defer h.open.Add(-1)
		closed := m.WebSocketOpened()
		defer closed()
		ctx := context.WithValue(r.Context(), upgradeCredentialsKey{}, strings.TrimSpace(r.Header.Get("Authorization")))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

// originPatterns turns origins into the library's patterns, escaping the
// characters path.Match would read as wildcards (an IPv6 origin has "[").
func originPatterns(origins []string) []string {
	esc := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	out := make([]string, len(origins))
	for i, o := range origins {
		out[i] = esc.Replace(o)
	}
	return out
}
