package graph

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/authgql/server/graphqlws"
)

// Handler is the GraphQL endpoint NewHandler returns: an http.Handler that
// can also close, at shutdown, the WebSocket connections it holds, which
// http.Server.Shutdown neither waits for nor closes (they are hijacked).
type Handler struct {
	next http.Handler
	ws   *graphqlws.Transport

	open    atomic.Int64 // WebSocket upgrades being served (connections open)
	closing atomic.Bool  // set by Shutdown: upgrades are refused
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// Shutdown closes every open WebSocket connection with close code 1001 and
// the reason "server shutting down" (RFC 6455 section 7.4.1: "a server
// going down"), so that clients reconnect (behind a load balancer, to
// another instance), and from then on refuses upgrades with 503. It
// returns nil once every connection has ended, or ctx's error if ctx ends
// first. It does not touch plain HTTP requests: drain those with
// http.Server.Shutdown first. It is safe to call more than once.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.closing.Store(true)
	return h.ws.Shutdown(ctx)
}
