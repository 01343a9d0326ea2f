package graphqlws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
)

// closeAbnormal is what Observer.ConnectionClosed reports for a connection
// that ended without a close frame (RFC 6455 section 7.1.5).
const closeAbnormal = 1006

// errTooLarge ends the read loop when a message exceeds MaxMessageBytes.
var errTooLarge = errors.New("graphqlws: message too large")

// errNotUTF8 ends the read loop at a message that is not UTF-8. RFC 6455
// section 8.1 requires failing the connection at a text frame that is
// not; a binary frame is read as JSON text too (see decode), so it gets
// the same rule rather than JSON's silent U+FFFD replacement.
var errNotUTF8 = errors.New("graphqlws: message is not UTF-8")

// conn is one WebSocket connection. Its serve goroutine (the one running
// Do) owns the protocol state and is the only one that decides how the
// connection ends; other goroutines ask it to end through requestClose.
//
// Goroutines: read (one), keepAlive (one, once acknowledged), the InitFunc
// (one, while it runs) and one per operation. end stops all of them.
type conn struct {
	t       *Transport
	ws      *websocket.Conn
	proto   subprotocol
	exec    graphql.GraphExecutor
	headers http.Header // the upgrade request's, for operations (gqlgen's OperationContext.Headers)
	log     *slog.Logger

	// ctx ends when the connection ends. The InitFunc gets it; operations
	// get opBase, which carries the InitFunc's values and is cancelled
	// with it.
	ctx       context.Context
	cancel    context.CancelFunc
	opBase    context.Context
	cancelOps context.CancelFunc

	// Owned by the serve goroutine.
	initReceived bool
	acked        bool
	initTimer    *time.Timer
	initDone     chan initResult // buffered: the InitFunc never blocks on it

	// wmu serialises writes. It is held from the check that an operation
	// is still live through its write, and by whoever removes an
	// operation, so nothing is sent for an operation after it is removed
	// (its id may then be reused). mu guards ops and closing and is taken
	// inside wmu.
	wmu     sync.Mutex
	mu      sync.Mutex
	ops     map[string]*operation
	closing bool

	stop     chan struct{} // closed by requestClose
	stopOnce sync.Once
	stopWith closeFrame // set before stop is closed

	background sync.WaitGroup // read and keepAlive
	workers    sync.WaitGroup // the InitFunc and the operations
}

type operation struct {
	id     string
	cancel context.CancelFunc
}

type initResult struct {
	ctx context.Context
	err error
}

// inbound is a message as read, with when its reading started and ended
// (gqlgen's RawParams.ReadTime).
type inbound struct {
	data       []byte
	start, end time.Time
}

func newConn(t *Transport, ws *websocket.Conn, proto subprotocol, r *http.Request, exec graphql.GraphExecutor) *conn {
	ctx, cancel := context.WithCancel(r.Context())
	return &conn{
		t:        t,
		ws:       ws,
		proto:    proto,
		exec:     exec,
		headers:  r.Header,
		log:      t.log.With("subprotocol", proto.String()),
		ctx:      ctx,
		cancel:   cancel,
		initDone: make(chan initResult, 1),
		ops:      map[string]*operation{},
		stop:     make(chan struct{}),
	}
}

// serve runs the connection until it ends, then stops everything it
// started, and returns the close code sent or received (closeAbnormal
// when none). reqCtx is the upgrade request's context; when it ends (the
// HTTP server's base context was cancelled) the connection closes with
// 1001.
func (c *conn) serve(reqCtx context.Context) int {
	began := time.Now()
	msgs := make(chan inbound)
	readErr := make(chan error, 1)
	c.background.Add(1)
	go c.read(msgs, readErr)
	c.initTimer = time.NewTimer(c.t.opts.InitTimeout)
	cf := c.loop(reqCtx, msgs, readErr)
	c.initTimer.Stop()
	code := c.end(cf)
	c.log.DebugContext(reqCtx, "websocket closed", "code", code, "reason", cf.reason, "duration", time.Since(began))
	return code
}

func (c *conn) loop(reqCtx context.Context, msgs <-chan inbound, readErr <-chan error) closeFrame {
	for {
		in := msgs
		if c.proto == legacyWS && c.initReceived && !c.acked {
			// subscriptions-transport-ws clients send start right after
			// connection_init, without waiting for connection_ack: what
			// follows the init waits for the InitFunc's answer.
			in = nil
		}
		select {
		case m := <-in:
			if cf, done := c.handle(m); done {
				return cf
			}
		case err := <-readErr:
			return readEnded(err)
		case <-c.initTimer.C:
			if !c.acked {
				return closeFrame{code: CloseInitTimeout, reason: "Connection initialisation timeout"}
			}
		case res := <-c.initDone:
			if cf, done := c.initialised(res); done {
				return cf
			}
		case <-c.stop:
			return c.stopWith
		case <-reqCtx.Done():
			return closeFrame{code: CloseGoingAway, reason: "server shutting down"}
		}
	}
}

// readEnded is how the connection ends when reading fails.
func readEnded(err error) closeFrame {
	if errors.Is(err, errTooLarge) {
		return closeFrame{code: CloseMessageTooBig, reason: problemTooLarge.text()}
	}
	if errors.Is(err, errNotUTF8) {
		return closeFrame{code: CloseInvalidPayload, reason: "message is not UTF-8"}
	}
	if code := websocket.CloseStatus(err); code != -1 {
		// The peer closed; coder/websocket has answered its close frame.
		return closeFrame{code: int(code)}
	}
	return closeFrame{abort: true} // the peer vanished, or broke RFC 6455 framing
}

// end closes the socket with cf, cancels every context of the connection,
// and waits for its goroutines: read and keepAlive always (they end once
// the socket is closed), the InitFunc and the operations for at most
// OperationStopTimeout. The close handshake itself is bounded by
// coder/websocket: 5 s to write the close frame, 5 s for the peer's.
func (c *conn) end(cf closeFrame) int {
	c.mu.Lock()
	c.closing = true
	ops := c.ops
	c.ops = map[string]*operation{}
	c.mu.Unlock()
	for _, op := range ops {
		op.cancel()
	}
	c.cancel()
	if c.cancelOps != nil {
		c.cancelOps()
	}
	code := cf.code
	if cf.abort {
		code = closeAbnormal
		_ = c.ws.CloseNow()
	} else {
		_ = c.ws.Close(websocket.StatusCode(cf.code), cf.reason)
	}
	c.background.Wait()

	stopped := make(chan struct{})
	go func() {
		c.workers.Wait()
		close(stopped)
	}()
	timer := time.NewTimer(c.t.opts.OperationStopTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		// The slot is released anyway; the resolvers' goroutines end when
		// they return, and cannot write to the closed socket.
		c.log.WarnContext(c.ctx, "websocket operations still running after their connection ended; a resolver ignores its context",
			"operations", len(ops), "waited", c.t.opts.OperationStopTimeout)
	}
	return code
}

// requestClose asks the serve goroutine to end the connection with cf;
// the first request wins.
func (c *conn) requestClose(cf closeFrame) {
	c.stopOnce.Do(func() {
		c.stopWith = cf
		close(c.stop)
	})
}

// read hands every message to the serve goroutine, until reading fails.
// It reads at most MaxMessageBytes+1 bytes of a message itself, so a
// message over the limit is detected here and closed with a fixed reason.
func (c *conn) read(msgs chan<- inbound, readErr chan<- error) {
	defer c.background.Done()
	limit := c.t.opts.MaxMessageBytes
	for {
		_, r, err := c.ws.Reader(context.Background())
		if err != nil {
			readErr <- err
			return
		}
		start := graphql.Now()
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(b)) > limit {
			err = errTooLarge
		}
		if err == nil && !utf8.Valid(b) {
			err = errNotUTF8
		}
		if err != nil {
			readErr <- err
			return
		}
		select {
		case msgs <- inbound{data: b, start: start, end: graphql.Now()}:
		case <-c.ctx.Done():
			return
		}
	}
}

// handle acts on one client message; done means the connection ends with
// the returned frame.
func (c *conn) handle(in inbound) (closeFrame, bool) {
	m, prob := decode(c.proto, in.data)
	if prob != 0 {
		return c.malformed(m, prob)
	}
	switch m.kind {
	case kindInit:
		return c.connectionInit(m)
	case kindPing:
		// PROTOCOL.md: a Pong as soon as possible, with the ping's
		// payload, as the reference server does.
		c.write(serverMessage{Type: typePong, Payload: m.ping})
	case kindPong:
		// Liveness is checked with WebSocket ping frames (see keepAlive);
		// an unsolicited pong is a heartbeat PROTOCOL.md allows.
	case kindSubscribe:
		return c.subscribe(m, in)
	case kindComplete:
		c.complete(m.id)
	case kindTerminate:
		return closeFrame{code: CloseNormal, reason: "Normal Closure"}, true
	}
	return closeFrame{}, false
}

// malformed handles a message decode refused. graphql-transport-ws closes
// with 4400 (PROTOCOL.md "Invalid message"). graphql-ws answers
// connection_error and ignores the message (its PROTOCOL.md), except that
// a start with a usable id gets an error for that operation, and a
// connection_init that cannot be used closes the connection.
func (c *conn) malformed(m clientMessage, prob problem) (closeFrame, bool) {
	invalid := closeFrame{code: CloseBadRequest, reason: "Invalid message received: " + prob.text()}
	if c.proto == transportWS {
		return invalid, true
	}
	switch {
	case m.kind == kindInit:
		c.connectionError(prob.text())
		return invalid, true
	case m.kind == kindSubscribe && !c.acked:
		return c.beforeAck()
	case m.kind == kindSubscribe && m.id != "":
		c.write(errorMessage(m.id, badRequest(prob.text())))
	default:
		c.connectionError(prob.text())
	}
	return closeFrame{}, false
}

func (c *conn) connectionInit(m clientMessage) (closeFrame, bool) {
	if c.initReceived {
		cf := closeFrame{code: CloseTooManyInitRequests, reason: "Too many initialisation requests"}
		c.connectionError(cf.reason)
		return cf, true
	}
	c.initReceived = true
	// InitTimeout now bounds the InitFunc's answer.
	c.initTimer.Reset(c.t.opts.InitTimeout)
	if c.t.opts.Init == nil {
		return c.initialised(initResult{ctx: c.ctx})
	}
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		c.initDone <- c.callInit(m.init)
	}()
	return closeFrame{}, false
}

// callInit runs the InitFunc; a panic refuses the connection instead of
// taking the process down (this goroutine is not under net/http's
// recover).
func (c *conn) callInit(payload map[string]any) (res initResult) {
	defer func() {
		if p := recover(); p != nil {
			c.log.ErrorContext(c.ctx, "websocket InitFunc panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res = initResult{err: errors.New("graphqlws: InitFunc panicked")}
		}
	}()
	ctx, err := c.t.opts.Init(c.ctx, payload)
	return initResult{ctx: ctx, err: err}
}

// initialised acknowledges the connection, or refuses it.
func (c *conn) initialised(res initResult) (closeFrame, bool) {
	c.initTimer.Stop()
	if res.err != nil {
		cf := refusal(c.proto, res.err)
		c.log.DebugContext(c.ctx, "websocket connection_init refused", "err", res.err, "code", cf.code)
		c.connectionError(cf.reason)
		return cf, true
	}
	values := res.ctx
	if values == nil {
		values = c.ctx
	}
	// The InitFunc's values, but the connection's lifetime: a deadline on
	// its context (its own timeout, say) must not end operations.
	c.opBase, c.cancelOps = context.WithCancel(context.WithoutCancel(values))
	c.acked = true
	c.write(serverMessage{Type: typeConnectionAck})
	if c.proto == legacyWS {
		// subscriptions-transport-ws PROTOCOL.md: ka right after the ack.
		c.write(serverMessage{Type: typeKeepAlive})
	}
	c.background.Add(1)
	go c.keepAlive()
	return closeFrame{}, false
}

// beforeAck ends a connection that asked for an operation before
// connection_ack: 4401 (graphql-transport-ws PROTOCOL.md; on graphql-ws
// after a connection_error, as for a refused init).
func (c *conn) beforeAck() (closeFrame, bool) {
	cf := closeFrame{code: CloseUnauthorized, reason: "Unauthorized"}
	c.connectionError(cf.reason)
	return cf, true
}

// subscribe starts an operation.
func (c *conn) subscribe(m clientMessage, in inbound) (closeFrame, bool) {
	if !c.acked {
		return c.beforeAck()
	}
	c.wmu.Lock()
	c.mu.Lock()
	if old, ok := c.ops[m.id]; ok {
		if c.proto == transportWS {
			c.mu.Unlock()
			c.wmu.Unlock()
			reason := "Subscriber for " + m.id + " already exists"
			if len(reason) > maxCloseReason {
				reason = "Subscriber already exists"
			}
			return closeFrame{code: CloseSubscriberAlreadyExists, reason: reason}, true
		}
		// graphql-ws: a start with a live id replaces that operation, as
		// subscriptions-transport-ws's server does.
		old.cancel()
		delete(c.ops, m.id)
	}
	if len(c.ops) >= c.t.opts.MaxOperations {
		c.mu.Unlock()
		c.writeLocked(errorMessage(m.id, tooManyOperations()))
		c.wmu.Unlock()
		return closeFrame{}, false
	}
	ctx, cancel := context.WithCancel(c.opBase)
	op := &operation{id: m.id, cancel: cancel}
	c.ops[m.id] = op
	c.mu.Unlock()
	c.wmu.Unlock()

	c.workers.Add(1)
	c.t.operations.Add(1)
	if o := c.t.opts.Observer; o != nil {
		o.OperationStarted(c.proto.String())
	}
	m.params.ReadTime = graphql.TraceTiming{Start: in.start, End: in.end}
	m.params.Headers = c.headers
	go c.run(ctx, op, m.params)
	return closeFrame{}, false
}

// complete handles the client's complete (stop on graphql-ws): the
// operation stops and sends nothing more; its id is free again at once.
// graphql-ws then gets complete (its PROTOCOL.md: "When client
// unsubscribe, the server ... sends GQL_COMPLETE"); graphql-transport-ws
// gets nothing (PROTOCOL.md: "No further events ... should be sent
// through"). An unknown id is ignored, as PROTOCOL.md permits.
func (c *conn) complete(id string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	op, ok := c.ops[id]
	if ok {
		delete(c.ops, id)
		op.cancel()
	}
	c.mu.Unlock()
	if ok && c.proto == legacyWS {
		c.writeLocked(serverMessage{ID: id, Type: typeComplete})
	}
}

// keepAlive sends the protocol's keep-alive every KeepAliveInterval and
// checks that the peer still answers WebSocket pings (RFC 6455 section
// 5.5.2: it must answer with a pong). A peer that does not within
// PongTimeout is gone: graphql-ws's reference server terminates such a
// socket the same way, without a close frame.
func (c *conn) keepAlive() {
	defer c.background.Done()
	ticker := time.NewTicker(c.t.opts.KeepAliveInterval)
	defer ticker.Stop()
	msg := serverMessage{Type: typePing}
	if c.proto == legacyWS {
		msg = serverMessage{Type: typeKeepAlive}
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ticker.C:
		}
		if !c.write(msg) {
			return
		}
		// Not c.ctx: cancelling a ping while its frame is being written
		// would drop the connection before end sends its close frame.
		ctx, cancel := context.WithTimeout(context.Background(), c.t.opts.PongTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.DebugContext(c.ctx, "websocket peer did not answer a ping", "timeout", c.t.opts.PongTimeout)
				c.requestClose(closeFrame{abort: true})
			}
			return
		}
	}
}

// write sends a connection-level message; false when the connection is
// ending or the write failed.
func (c *conn) write(msg serverMessage) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return false
	}
	return c.writeLocked(msg)
}

// writeOp sends a message of op; false when op was completed or replaced,
// the connection is ending, or the write failed.
func (c *conn) writeOp(op *operation, msg serverMessage) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	live := !c.closing && c.ops[op.id] == op
	c.mu.Unlock()
	return live && c.writeLocked(msg)
}

// writeLocked writes msg, with wmu held, within WriteTimeout; a failed
// write ends the connection without a close frame (the peer is not
// reading, or is gone).
func (c *conn) writeLocked(msg serverMessage) bool {
	b, err := json.Marshal(msg)
	if err != nil {
		c.log.ErrorContext(c.ctx, "websocket message not encodable", "type", msg.Type, "err", err)
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.t.opts.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.requestClose(closeFrame{abort: true})
		return false
	}
	return true
}

// connectionError sends graphql-ws's connection_error; graphql-transport-ws
// has no such message (its close reason says it).
func (c *conn) connectionError(message string) {
	if c.proto != legacyWS {
		return
	}
	b, _ := json.Marshal(map[string]string{"message": message})
	c.write(serverMessage{Type: typeConnectionError, Payload: b})
}
