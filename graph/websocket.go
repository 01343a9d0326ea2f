package graph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"

	"github.com/authgql/server/auth"
)

// The WebSocket subprotocols served on /graphql.
const (
	protocolGraphQLWS    = "graphql-ws"           // subscriptions-transport-ws, older Apollo clients
	protocolTransportWS  = "graphql-transport-ws" // graphql-ws, Apollo's GraphQLWsLink
	closeUnauthorized    = 4401
	closeForbidden       = 4403
	closeTryAgainLater   = 1013 // RFC 6455 registry: the server is overloaded or not ready
	maxCloseReasonBytes  = 123  // RFC 6455: a close frame's reason fits in 123 bytes
	DefaultWSInitTimeout = 10 * time.Second
	DefaultWSKeepAlive   = 15 * time.Second
	DefaultWSConnections = 10000
)

// CodeSubscriptionTransport refuses a subscription sent over plain HTTP
// (executor.prepare): gqlgen's HTTP transports would answer the first
// event and end, a working subscription that stops.
const CodeSubscriptionTransport = "SUBSCRIPTION_NEEDS_WEBSOCKET"

// upgrade is what initConnection needs to know about the upgrade request
// its connection came from; guardUpgrades puts it in the context.
type upgrade struct {
	protocol    string // the negotiated subprotocol, for close codes
	credentials string // its Authorization header, "" for none
}

type upgradeKey struct{}

// errConflictingCredentials refuses a connection whose connection_init
// and upgrade request carry two different tokens.
var errConflictingCredentials = errors.New("graph: connection_init and the upgrade request carry different tokens")

// websocketTransport serves subscriptions (and queries and mutations) over
// both subprotocols; initConnection authenticates each connection.
func websocketTransport(opts Options) transport.Websocket {
	limit := opts.MaxBodyBytes
	return transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{
			// guardUpgrades has already refused foreign origins; this is the
			// library's own check, given the same list, as a second line.
			OriginPatterns: originPatterns(opts.AllowedOrigins),
		}},
		InitFunc:              initConnection(opts.Validator),
		InitTimeout:           opts.WSInitTimeout,
		KeepAlivePingInterval: opts.WSKeepAlive, // graphql-ws "ka" messages
		PingPongInterval:      opts.WSKeepAlive, // graphql-transport-ws ping, pong expected
		PayloadReadLimit:      &limit,
		ErrorFunc: func(ctx context.Context, err error) {
			opts.Logger.DebugContext(ctx, "websocket error", "err", err)
		},
	}
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
// connection_init, 4401 on graphql-ws; 1013 while no signing key is loaded
// yet.
func initConnection(v *auth.Validator) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		up, _ := ctx.Value(upgradeKey{}).(upgrade)
		credentials, err := initCredentials(payload)
		if err == nil && credentials == "" {
			return ctx, nil, nil
		}
		var claims *auth.Claims
		if err == nil {
			claims, err = v.Authenticate(ctx, credentials)
		}
		if err == nil && up.credentials != "" && !auth.SameToken(up.credentials, credentials) {
			err = &auth.Error{Reason: auth.ReasonInvalidHeader, Err: errConflictingCredentials,
				Detail: "connection_init and the upgrade request's Authorization header carry different tokens; send one"}
		}
		if err == nil {
			return auth.NewContext(ctx, claims), nil, nil
		}
		resp := auth.Describe(err)
		code := closeUnauthorized
		switch {
		case resp.Status == http.StatusServiceUnavailable:
			code = closeTryAgainLater
		case up.protocol == protocolTransportWS:
			code = closeForbidden
		}
		reason := "Unauthorized"
		var authErr *auth.Error
		switch {
		case errors.Is(err, errConflictingCredentials):
			reason += ": conflicting credentials"
		case errors.As(err, &authErr):
			reason += ": " + string(authErr.Reason)
		}
		ctx = transport.WithWebsocketCloseCode(ctx, code)
		ctx = transport.AppendCloseReason(ctx, reason[:min(len(reason), maxCloseReasonBytes)])
		return ctx, nil, errors.New(resp.Description)
	}
}

// initCredentials returns the payload's "Authorization" (or
// "authorization") entry as credentials, "Bearer " added to a bare token,
// or "" for none. A present entry that is not a string is a malformed
// header, not an anonymous connection.
func initCredentials(p transport.InitPayload) (string, error) {
	for _, key := range []string{"Authorization", "authorization"} {
		v, ok := p[key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", &auth.Error{Reason: auth.ReasonInvalidHeader, Detail: "connection_init authorization must be a string"}
		}
		if s = strings.TrimSpace(s); s != "" {
			if scheme, _, _ := strings.Cut(s, " "); !strings.EqualFold(scheme, "Bearer") {
				s = "Bearer " + s
			}
			return s, nil
		}
	}
	return "", nil
}

// guardUpgrades protects WebSocket upgrades. Against cross-site WebSocket
// hijacking: a browser sends Origin, and only the same origin or one of
// CLIENT_ORIGIN_URL may open a connection (clients that send no Origin are
// not browsers and carry no ambient credentials to hijack). Against running
// out of sockets: at most maxConns connections are open at once, beyond
// which an upgrade gets 503; the transport's handler returns only when its
// connection ends, so counting around it is exact. It also records, for
// initConnection, the subprotocol the upgrade will negotiate and the
// upgrade's Authorization header. (The HTTP
// server's read and write timeouts do not cut subscriptions: net/http
// clears a connection's deadlines when the WebSocket library hijacks it.)
func guardUpgrades(allowed []string, maxConns int, next http.Handler) http.Handler {
	var open atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(r, origin) && !slices.Contains(allowed, origin) {
			writeError(w, http.StatusForbidden, "FORBIDDEN", "WebSocket connections from origin "+origin+" are not allowed")
			return
		}
		if open.Add(1) > int64(maxConns) {
			open.Add(-1)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "TOO_MANY_CONNECTIONS", "too many WebSocket connections on this server; try again later")
			return
		}
		defer open.Add(-1)
		ctx := context.WithValue(r.Context(), upgradeKey{}, upgrade{
			protocol:    negotiatedProtocol(r),
			credentials: strings.TrimSpace(r.Header.Get("Authorization")),
		})
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

// negotiatedProtocol mirrors the WebSocket library's choice: the first of
// the server's protocols (graphql-ws before graphql-transport-ws, as gqlgen
// lists them) that the client offers.
func negotiatedProtocol(r *http.Request) string {
	var offered []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			offered = append(offered, strings.TrimSpace(p))
		}
	}
	for _, p := range []string{protocolGraphQLWS, protocolTransportWS} {
		if slices.Contains(offered, p) {
			return p
		}
	}
	return ""
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
