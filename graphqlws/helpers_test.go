package graphqlws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/graph/model"
	"github.com/authgql/server/graphqlws"
	"github.com/authgql/server/messages"
)

const (
	transportWS = graphqlws.SubprotocolTransportWS
	legacyWS    = graphqlws.SubprotocolGraphQLWS

	subscription = `subscription { messageSent { id text } }`
	// failingSubscription selects author, which the test schema's
	// directive turns into a subscription that ends with an error after
	// its first event (through graphqlws.AddSubscriptionError).
	failingSubscription = `subscription { messageSent { id text author } }`
	query               = `{ publicMessage { text } }`
)

// testServer is the real gqlgen handler with the project's schema and
// resolvers behind the transport under test, served over a real socket,
// with a counter around the transport like the server's connection cap.
type testServer struct {
	URL       string // ws:// URL of the endpoint
	HTTPURL   string
	Transport *graphqlws.Transport
	Hub       *messages.Hub
	Obs       *observer
	open      atomic.Int64 // requests inside the handler, i.e. live Do calls
	cap       int64        // 0: none
}

// newServer starts a server whose Init is testInit unless opts sets one.
func newServer(t *testing.T, opts graphqlws.Options) *testServer {
	t.Helper()
	return newServerWith(t, opts, serverConfig{})
}

// serverConfig sets what newServer leaves at defaults.
type serverConfig struct {
	// base is the http.Server's BaseContext (nil: the default); the real
	// server ends WebSockets by cancelling it.
	base context.Context
	hub  messages.HubOptions
}

func newServerWith(t *testing.T, opts graphqlws.Options, cfg serverConfig) *testServer {
	t.Helper()
	s := &testServer{Hub: messages.NewHub(cfg.hub), Obs: &observer{}}
	if opts.Init == nil {
		opts.Init = testInit
	}
	opts.Observer = s.Obs
	tr, err := graphqlws.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Transport = tr
	policy, err := graph.Policy()
	if err != nil {
		t.Fatal(err)
	}
	directives := graph.Directives(policy)
	hasScope := directives.HasScope
	directives.HasScope = func(ctx context.Context, obj any, next graphql.Resolver, scope string) (any, error) {
		return failAfterFirstEvent(ctx, obj, next, scope, hasScope)
	}
	es := graph.NewExecutableSchema(graph.Config{
		Resolvers:  &graph.Resolver{Hub: s.Hub},
		Directives: directives,
	})
	gql := handler.New(es)
	gql.AddTransport(tr)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := s.open.Add(1); s.cap > 0 && n > s.cap {
			s.open.Add(-1)
			http.Error(w, "too many connections", http.StatusServiceUnavailable)
			return
		}
		defer s.open.Add(-1)
		gql.ServeHTTP(w, r)
	}))
	if cfg.base != nil {
		ts.Config.BaseContext = func(net.Listener) context.Context { return cfg.base }
	}
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown at cleanup: %v", err)
		}
		ts.Close()
	})
	s.HTTPURL = ts.URL + "/graphql"
	s.URL = "ws" + strings.TrimPrefix(ts.URL, "http") + "/graphql"
	return s
}

// testInit authenticates from the payload's "authorization" entry:
// "reader" may read messages; "pause" too, after 200 ms; "refuse" is
// refused; "later" is refused with 1013; "reason" with its own reason;
// "slow" never answers (until the connection ends); "panic" panics;
// "deadline" returns a context with a 1 ms deadline; none is anonymous.
func testInit(ctx context.Context, payload map[string]any) (context.Context, error) {
	switch payload["authorization"] {
	case "reader":
		return auth.NewContext(ctx, &auth.Claims{Subject: "reader", Scopes: []string{"read:messages"}}), nil
	case "refuse":
		return nil, errors.New("token rejected: secret detail that must not reach the client")
	case "later":
		return nil, &graphqlws.RefusalError{Code: graphqlws.CloseTryAgainLater, Reason: "signing keys not loaded yet", Err: errors.New("jwks: not ready")}
	case "reason":
		return nil, &graphqlws.RefusalError{Reason: "Unauthorized: invalid_token"}
	case "pause":
		time.Sleep(200 * time.Millisecond)
		return auth.NewContext(ctx, &auth.Claims{Subject: "reader", Scopes: []string{"read:messages"}}), nil
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "panic":
		panic("init hook panicked")
	case "deadline":
		// A context with a short deadline: operations must outlive it.
		ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		_ = cancel
		return auth.NewContext(ctx, &auth.Claims{Subject: "reader", Scopes: []string{"read:messages"}}), nil
	}
	return ctx, nil
}

// failAfterFirstEvent is @hasScope, except that a messageSent subscription
// selecting author ends, after its first event, with an error reported
// through graphqlws.AddSubscriptionError (as graph's forward reports a
// slow subscriber or an expired token).
func failAfterFirstEvent(ctx context.Context, obj any, next graphql.Resolver, scope string, hasScope func(context.Context, any, graphql.Resolver, string) (any, error)) (any, error) {
	v, err := hasScope(ctx, obj, next, scope)
	ch, ok := v.(<-chan *model.Message)
	if err != nil || !ok || !selectsAuthor(ctx) {
		return v, err
	}
	out := make(chan *model.Message)
	go func() {
		defer close(out)
		select {
		case m, ok := <-ch:
			if !ok {
				return
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
		graphqlws.AddSubscriptionError(ctx, &gqlerror.Error{Message: "subscription ended by the server", Extensions: map[string]any{"code": "ENDED"}})
	}()
	return (<-chan *model.Message)(out), nil
}

func selectsAuthor(ctx context.Context) bool {
	return graphql.HasOperationContext(ctx) && strings.Contains(graphql.GetOperationContext(ctx).RawQuery, "author")
}

// observer records the transport's events.
type observer struct {
	opened, closed, started, ended atomic.Int64
	mu                             sync.Mutex
	codes                          []int
}

func (o *observer) ConnectionOpened(string) { o.opened.Add(1) }
func (o *observer) ConnectionClosed(_ string, code int) {
	o.closed.Add(1)
	o.mu.Lock()
	o.codes = append(o.codes, code)
	o.mu.Unlock()
}
func (o *observer) OperationStarted(string) { o.started.Add(1) }

func (o *observer) closeCodes() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.codes)
}
func (o *observer) OperationEnded(string) { o.ended.Add(1) }

// msg is a protocol message as a client sees it.
type msg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// errNoMessage: nothing arrived within the timeout; the connection is open.
var errNoMessage = errors.New("no message within the timeout")

// client speaks either subprotocol over a real socket with coder/websocket.
// A goroutine reads (so WebSocket pings are answered) unless the client
// was dialled with mute; it answers protocol pings with pongs unless
// noPong is set, and counts keep-alives (ping, ka) apart from the other
// messages.
type client struct {
	t      *testing.T
	conn   *websocket.Conn
	proto  string
	msgs   chan msg
	err    error // why reading stopped; set before msgs is closed
	kas    atomic.Int64
	noPong atomic.Bool
}

func dial(t *testing.T, s *testServer, proto string) *client {
	t.Helper()
	c, err := dialErr(t, s.URL, proto, false)
	if err != nil {
		t.Fatalf("dial %s: %v", proto, err)
	}
	return c
}

// dialErr dials; with mute nothing reads, so the client neither answers
// pings nor takes frames off the socket.
func dialErr(t *testing.T, url, proto string, mute bool) (*client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var protos []string
	if proto != "" {
		protos = []string{proto}
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(4 << 20)
	c := &client{t: t, conn: conn, proto: proto, msgs: make(chan msg, 256)}
	if !mute {
		go c.read()
	}
	return c, nil
}

func (c *client) read() {
	defer close(c.msgs)
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var m msg
		if err := json.Unmarshal(b, &m); err != nil {
			c.err = fmt.Errorf("server sent a message that is not JSON: %s", b)
			return
		}
		switch m.Type {
		case "ping":
			c.kas.Add(1)
			if !c.noPong.Load() {
				_ = c.conn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`))
			}
			continue
		case "ka":
			c.kas.Add(1)
			continue
		}
		c.msgs <- m
	}
}

// sendRaw writes text as one message.
func (c *client) sendRaw(text string) {
	c.t.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageText, []byte(text)); err != nil {
		c.t.Fatalf("write %s: %v", text, err)
	}
}

func (c *client) send(typ, id string, payload any) {
	c.t.Helper()
	m := map[string]any{"type": typ}
	if id != "" {
		m["id"] = id
	}
	if payload != nil {
		m["payload"] = payload
	}
	b, _ := json.Marshal(m)
	c.sendRaw(string(b))
}

// init sends connection_init with authorization (none when "") and
// expects connection_ack.
func (c *client) init(authorization string) {
	c.t.Helper()
	payload := map[string]any{}
	if authorization != "" {
		payload["authorization"] = authorization
	}
	c.send("connection_init", "", payload)
	c.expect("connection_ack", "")
}

func (c *client) subscribe(id, q string) {
	c.t.Helper()
	typ := "subscribe"
	if c.proto == legacyWS {
		typ = "start"
	}
	c.send(typ, id, map[string]any{"query": q})
}

// next returns the next message that is not a keep-alive; a closed
// connection is the error.
func (c *client) next(timeout time.Duration) (msg, error) {
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return msg{}, c.err
		}
		return m, nil
	case <-time.After(timeout):
		return msg{}, errNoMessage
	}
}

// expect reads the next message and checks its type and id.
func (c *client) expect(typ, id string) msg {
	c.t.Helper()
	m, err := c.next(5 * time.Second)
	if err != nil {
		c.t.Fatalf("waiting for %s %q: %v", typ, id, err)
	}
	if m.Type != typ || m.ID != id {
		c.t.Fatalf("got %s %q %s; want %s %q", m.Type, m.ID, m.Payload, typ, id)
	}
	return m
}

// expectClose reads until the connection closes and checks the close
// code and reason; messages before the close must be of the types listed.
func (c *client) expectClose(code int, reason string, allowed ...string) {
	c.t.Helper()
	for {
		m, err := c.next(15 * time.Second)
		if err == errNoMessage {
			c.t.Fatalf("connection still open; want close %d %q", code, reason)
		}
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				c.t.Fatalf("connection ended without a close frame (%v); want %d %q", err, code, reason)
			}
			if int(ce.Code) != code || ce.Reason != reason {
				c.t.Fatalf("close %d %q; want %d %q", ce.Code, ce.Reason, code, reason)
			}
			return
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == m.Type
		}
		if !ok {
			c.t.Fatalf("before the close: %s %q %s", m.Type, m.ID, m.Payload)
		}
	}
}

// quiet checks that nothing but keep-alives arrives: it sends a ping
// (graphql-transport-ws) and expects the pong as the very next message,
// or, on graphql-ws, waits a moment for nothing.
func (c *client) quiet() {
	c.t.Helper()
	if c.proto == transportWS {
		c.sendRaw(`{"type":"ping","payload":{"marker":true}}`)
		m := c.expect("pong", "")
		if string(m.Payload) != `{"marker":true}` {
			c.t.Fatalf("pong payload %s", m.Payload)
		}
		return
	}
	if m, err := c.next(300 * time.Millisecond); err != errNoMessage {
		c.t.Fatalf("unexpected %+v %v", m, err)
	}
}

// payloadText returns the message of the first GraphQL error in an error
// message's payload, and its extensions.code.
func errorOf(t *testing.T, m msg) (message, code string) {
	t.Helper()
	var errs []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	if err := json.Unmarshal(m.Payload, &errs); err != nil || len(errs) == 0 {
		t.Fatalf("error payload %s is not a list of GraphQL errors: %v", m.Payload, err)
	}
	code, _ = errs[0].Extensions["code"].(string)
	return errs[0].Message, code
}

// warmUp sends messages until one arrives on operation id (then its
// subscription is registered with the hub), and drains what is in flight.
func (c *client) warmUp(t *testing.T, s *testServer, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.send(t, "warm-up")
		m, err := c.next(50 * time.Millisecond)
		if err == nil {
			if m.ID != id {
				t.Fatalf("warm-up: got %s %q %s", m.Type, m.ID, m.Payload)
			}
			break
		}
		if err != errNoMessage || time.Now().After(deadline) {
			t.Fatalf("warm-up of %s: %v", id, err)
		}
	}
	for {
		if _, err := c.next(200 * time.Millisecond); err == errNoMessage {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSubscribers waits until the hub has n live subscriptions.
func (s *testServer) waitSubscribers(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("hub subscribers = %d; want %d", s.Hub.Subscribers(), n), func() bool { return s.Hub.Subscribers() == n })
}

// send publishes a message to the hub's subscribers.
func (s *testServer) send(t *testing.T, text string) {
	t.Helper()
	if _, err := s.Hub.Send(context.Background(), "sender", text); err != nil {
		t.Fatal(err)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counting descriptors needs /proc/self/fd (Linux)")
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
