package graph

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// Close code and reason of WebSockets closed by Handler.Shutdown: 1001,
// "going away" (RFC 6455 section 7.4.1: "a server going down"). graphql-ws
// clients (Apollo's GraphQLWsLink) retry on it, and through a load
// balancer reach another instance.
const (
	closeGoingAway       = 1001
	closeReasonGoingAway = "server shutting down"
)

// errGoingAway is the cause with which Shutdown ends WebSocket contexts.
var errGoingAway = errors.New("graph: server shutting down")

// shutdownPoll is how often Shutdown looks whether every WebSocket has ended.
const shutdownPoll = 10 * time.Millisecond

// Handler is the GraphQL endpoint NewHandler returns: an http.Handler that
// can also close, at shutdown, the WebSocket connections it holds, which
// http.Server.Shutdown neither waits for nor closes (they are hijacked).
type Handler struct {
	next http.Handler

	open     atomic.Int64    // WebSocket upgrades being served (connections open)
	closing  context.Context // ends, with cause errGoingAway, at Shutdown
	closeAll context.CancelCauseFunc
}

func newHandlerState() *Handler {
	closing, closeAll := context.WithCancelCause(context.Background())
	return &Handler{closing: closing, closeAll: closeAll}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// Shutdown closes every open WebSocket connection with close code 1001 and
// the reason "server shutting down", so that clients reconnect (behind a
// load balancer, to another instance), and from then on refuses upgrades
// with 503. It returns nil once every connection has ended, or ctx's error
// if ctx ends first. It does not touch plain HTTP requests: drain those
// with http.Server.Shutdown first. It is safe to call more than once.
//
// This is the one place where the server's WebSockets are closed: a
// transport with its own Shutdown replaces the body of this method.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.closeAll(errGoingAway)
	t := time.NewTicker(shutdownPoll)
	defer t.Stop()
	for h.open.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// goingAwayImplementation is gqlgen's coder/websocket adapter, with its
// connections closed 1001 at Shutdown. gqlgen closes a connection whose
// context ends with 1000 "terminated", and waits for connection_init
// without looking at the context at all; so a connection accepted here
// closes itself, 1001, as soon as its request context ends with
// errGoingAway, and any close gqlgen sends from then on becomes 1001 too.
// And gqlgen sends "complete" for each operation its context ended, which
// can reach the client before the close frame: a graphql-ws client then
// takes the subscription as finished and does not subscribe again after
// reconnecting. So from then on nothing but the close frame is sent.
type goingAwayImplementation struct {
	transport.CoderWebsocketImplementation
}

func (i goingAwayImplementation) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := i.CoderWebsocketImplementation.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	c := &goingAwayConn{WebsocketConn: conn, ctx: r.Context()}
	context.AfterFunc(c.ctx, func() {
		if c.goingAway() {
			_ = conn.WriteClose(closeGoingAway, closeReasonGoingAway)
		}
	})
	return c, nil
}

// goingAwayConn is a connection of goingAwayImplementation. It keeps the
// optional interfaces gqlgen looks for (read limit, read deadline).
type goingAwayConn struct {
	transport.WebsocketConn
	ctx context.Context // the upgrade request's
}

var (
	_ transport.WebsocketReadLimiter   = (*goingAwayConn)(nil)
	_ transport.WebsocketReadDeadliner = (*goingAwayConn)(nil)
)

func (c *goingAwayConn) goingAway() bool { return errors.Is(context.Cause(c.ctx), errGoingAway) }

// WriteJSON sends a protocol message, unless the server is going away:
// then the message (an operation's complete or error, as its context
// ended) is dropped, and the close frame is the last thing the client
// reads.
func (c *goingAwayConn) WriteJSON(v any) error {
	if c.goingAway() {
		return nil
	}
	return c.WebsocketConn.WriteJSON(v)
}

func (c *goingAwayConn) WriteClose(code int, reason string) error {
	if c.goingAway() && code == transport.WebsocketCloseNormalClosure {
		code, reason = closeGoingAway, closeReasonGoingAway
	}
	return c.WebsocketConn.WriteClose(code, reason)
}

func (c *goingAwayConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *goingAwayConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
