package graphqlws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Defaults for the zero values of Options.
const (
	DefaultInitTimeout          = 10 * time.Second
	DefaultKeepAliveInterval    = 15 * time.Second // below the 30 s after which subscriptions-transport-ws gives up on a silent server
	DefaultPongTimeout          = 10 * time.Second
	DefaultWriteTimeout         = 10 * time.Second
	DefaultMaxMessageBytes      = 1 << 20 // 1 MiB, as gqlgen's transport
	DefaultMaxOperations        = 100
	DefaultOperationStopTimeout = 5 * time.Second
)

// InitFunc decides whether a connection may proceed, from its
// connection_init payload: a JSON object, or an empty map when the payload
// was absent or null (a payload of any other type never reaches it: the
// connection is closed as malformed). ctx carries the upgrade request's
// values and ends when the connection does. It returns the context whose
// values (not its deadline or cancellation) every operation of the
// connection runs with, or an error that refuses the connection; a Refusal
// chooses the close code and reason. It must return within
// Options.InitTimeout, after which the connection closes with 4408.
type InitFunc func(ctx context.Context, payload map[string]any) (context.Context, error)

// Observer is told about connections and operations, for metrics. Its
// methods are called synchronously from the connections' goroutines, so
// they must be quick and safe for concurrent use. subprotocol is
// SubprotocolTransportWS or SubprotocolGraphQLWS.
type Observer interface {
	// ConnectionOpened: a WebSocket with a subprotocol this package speaks
	// was accepted.
	ConnectionOpened(subprotocol string)
	// ConnectionClosed: it ended, with the close code sent or received
	// (1006, RFC 6455's "abnormal closure", when there was no close frame).
	// Do returns right after.
	ConnectionClosed(subprotocol string, code int)
	// OperationStarted: a subscribe (start) was accepted.
	OperationStarted(subprotocol string)
	// OperationEnded: its goroutine finished.
	OperationEnded(subprotocol string)
}

// Options configures a Transport. Zero values mean the documented
// defaults; negative values are refused by New.
type Options struct {
	// Init authenticates connections; nil accepts every connection_init.
	Init InitFunc
	// InitTimeout bounds the wait for connection_init after the upgrade,
	// and the InitFunc's answer after it; then 4408 (PROTOCOL.md
	// "Connection initialisation timeout"). 0 means DefaultInitTimeout.
	InitTimeout time.Duration
	// KeepAliveInterval is how often, once acknowledged, the server sends
	// the protocol's keep-alive (ping on graphql-transport-ws, ka on
	// graphql-ws) and a WebSocket ping frame (RFC 6455 section 5.5.2).
	// subscriptions-transport-ws clients close a connection silent for
	// 30 s, so keep it well below. 0 means DefaultKeepAliveInterval.
	KeepAliveInterval time.Duration
	// PongTimeout is how long the peer has to answer a WebSocket ping
	// frame; a peer that does not is presumed gone and its connection is
	// dropped without a close frame. 0 means DefaultPongTimeout.
	PongTimeout time.Duration
	// WriteTimeout bounds each message written; a peer that does not read
	// is dropped. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxMessageBytes is the longest client message read; a longer one
	// closes the connection with 1009. 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// MaxOperations is how many operations one connection may run at
	// once; one more is answered with an error message (code
	// TOO_MANY_OPERATIONS). 0 means DefaultMaxOperations.
	MaxOperations int
	// OperationStopTimeout is how long Do waits, once its connection has
	// ended and every operation's context is cancelled, for the resolvers
	// to return before it returns anyway (logging what still runs). 0
	// means DefaultOperationStopTimeout.
	OperationStopTimeout time.Duration
	// OriginPatterns are passed to coder/websocket's own origin check
	// (AcceptOptions.OriginPatterns: host patterns, or scheme://host); the
	// request's own host is always allowed. Which origins to allow is the
	// server's policy, decided before the upgrade reaches this transport.
	OriginPatterns []string
	// Observer is told about connections and operations; nil means none.
	Observer Observer
	// Logger receives connection ends (debug) and operations that outlive
	// their connection (warn); nil means discard.
	Logger *slog.Logger
}

// Stats counts what is live now.
type Stats struct {
	Connections int // connections between accept and the return of Do
	Operations  int // operations whose goroutine runs
}

// Transport is a gqlgen transport serving GraphQL over WebSocket on both
// subprotocols. Use one value for the server's lifetime: it holds the live
// connections, for Shutdown and Stats. It is safe for concurrent use.
type Transport struct {
	opts Options
	log  *slog.Logger

	connections atomic.Int64
	operations  atomic.Int64

	mu       sync.Mutex
	live     map[*conn]struct{}
	draining bool
	drained  chan struct{} // closed when draining and live is empty
}

var _ graphql.Transport = (*Transport)(nil)

// New returns a Transport, or an error naming the first invalid option.
func New(opts Options) (*Transport, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"InitTimeout", &opts.InitTimeout, DefaultInitTimeout},
		{"KeepAliveInterval", &opts.KeepAliveInterval, DefaultKeepAliveInterval},
		{"PongTimeout", &opts.PongTimeout, DefaultPongTimeout},
		{"WriteTimeout", &opts.WriteTimeout, DefaultWriteTimeout},
		{"OperationStopTimeout", &opts.OperationStopTimeout, DefaultOperationStopTimeout},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("graphqlws: %s must not be negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if opts.MaxMessageBytes < 0 || opts.MaxOperations < 0 {
		return nil, errors.New("graphqlws: MaxMessageBytes and MaxOperations must not be negative")
	}
	if opts.MaxMessageBytes == 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.MaxOperations == 0 {
		opts.MaxOperations = DefaultMaxOperations
	}
	t := &Transport{opts: opts, log: opts.Logger, live: map[*conn]struct{}{}}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t, nil
}

// Supports reports whether r asks for a protocol upgrade, as gqlgen's own
// WebSocket transport decides.
func (t *Transport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// Do upgrades r and serves the connection until it ends; every goroutine
// it started has ended when it returns (but for resolvers that ignore
// their context past OperationStopTimeout), so a counter around Do counts
// live connections exactly.
func (t *Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.mu.Lock()
	draining := t.draining
	t.mu.Unlock()
	if draining {
		w.Header().Set("Retry-After", "1")
		writeHTTPError(w, http.StatusServiceUnavailable, "SHUTTING_DOWN", "the server is shutting down; reconnect to another instance")
		return
	}
	ws, err := websocket.Accept(&handshakeWriter{ResponseWriter: w}, r, &websocket.AcceptOptions{
		// graphql-transport-ws first: coder/websocket picks the first of
		// these that the client offers.
		Subprotocols:   []string{SubprotocolTransportWS, SubprotocolGraphQLWS},
		OriginPatterns: t.opts.OriginPatterns,
	})
	if err != nil {
		t.log.DebugContext(r.Context(), "websocket upgrade refused", "err", err)
		return
	}
	var proto subprotocol
	switch ws.Subprotocol() {
	case SubprotocolTransportWS:
		proto = transportWS
	case SubprotocolGraphQLWS:
		proto = legacyWS
	default:
		// graphql-ws's reference server does the same (use/ws.ts).
		_ = ws.Close(CloseSubprotocolNotAccepted, "Subprotocol not acceptable")
		return
	}
	// Read one byte past the limit ourselves (see conn.read), so that
	// coder/websocket's own limit, whose close reason is library text,
	// is never reached.
	ws.SetReadLimit(t.opts.MaxMessageBytes + 1)

	c := newConn(t, ws, proto, r, exec)
	if !t.register(c) {
		_ = ws.Close(CloseGoingAway, "server shutting down")
		return
	}
	t.connections.Add(1)
	if o := t.opts.Observer; o != nil {
		o.ConnectionOpened(proto.String())
	}
	code := c.serve(r.Context())
	t.connections.Add(-1)
	if o := t.opts.Observer; o != nil {
		o.ConnectionClosed(proto.String(), code)
	}
	t.unregister(c) // last: Shutdown returns once every Do is about to
}

// CloseAll closes every live connection with code and reason (RFC 6455
// close frame; reason cut to 123 bytes; a code RFC 6455 does not allow on
// the wire becomes 1001) without waiting for them to end. Connections
// opened afterwards are served as usual.
func (t *Transport) CloseAll(code int, reason string) {
	cf := closeFrame{code: code, reason: truncateReason(reason)}
	if !validCloseCode(code) {
		cf.code = CloseGoingAway
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.live {
		c.requestClose(cf)
	}
}

// Shutdown drains the transport for a graceful stop (SPEC: live WebSockets
// are closed with 1001 so clients reconnect elsewhere): it refuses new
// upgrades with 503, closes every live connection with 1001 "server
// shutting down", and waits until every connection has ended (each Do
// then returns at once, its work done) or ctx ends, returning ctx's error
// then.
func (t *Transport) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if !t.draining {
		t.draining = true
		t.drained = make(chan struct{})
		if len(t.live) == 0 {
			close(t.drained)
		}
	}
	drained := t.drained
	t.mu.Unlock()
	t.CloseAll(CloseGoingAway, "server shutting down")
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the live connections and operations.
func (t *Transport) Stats() Stats {
	return Stats{Connections: int(t.connections.Load()), Operations: int(t.operations.Load())}
}

func (t *Transport) register(c *conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.live[c] = struct{}{}
	return true
}

func (t *Transport) unregister(c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.live, c)
	if t.draining && len(t.live) == 0 {
		select {
		case <-t.drained:
		default:
			close(t.drained)
		}
	}
}

// handshakeWriter replaces the text coder/websocket writes when it refuses
// an upgrade (its error text, which quotes request headers) with a fixed
// GraphQL error body. coder/websocket reaches the connection's Hijacker
// through Unwrap.
type handshakeWriter struct {
	http.ResponseWriter
	refused bool
}

func (w *handshakeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *handshakeWriter) WriteHeader(status int) {
	if status == http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.refused = true
	code, msg := "BAD_WEBSOCKET_HANDSHAKE", "expected a WebSocket upgrade (RFC 6455) with subprotocol graphql-transport-ws or graphql-ws"
	switch status {
	case http.StatusForbidden:
		code, msg = "FORBIDDEN", "WebSocket connections from this origin are not allowed"
	case http.StatusInternalServerError, http.StatusNotImplemented:
		code, msg = "INTERNAL_SERVER_ERROR", "internal server error"
	}
	writeHTTPError(w.ResponseWriter, status, code, msg)
}

func (w *handshakeWriter) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil // the fixed body is written
	}
	return w.ResponseWriter.Write(b)
}

// writeHTTPError writes a GraphQL errors-only body, the shape of every
// other refusal on the GraphQL endpoint.
func writeHTTPError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors gqlerror.List `json:"errors"`
	}{gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}}})
}
