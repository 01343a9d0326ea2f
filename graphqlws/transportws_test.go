package graphqlws_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authgql/server/graphqlws"
)

// TestTransportWSCloseCodes: every close code graphql-transport-ws's
// PROTOCOL.md prescribes, each from a real socket, with its reason.
func TestTransportWSCloseCodes(t *testing.T) {
	// InitTimeout leaves a loaded machine time to send connection_init
	// where a row does not test the timeout.
	s := newServer(t, graphqlws.Options{InitTimeout: time.Second, MaxMessageBytes: 4096})
	for _, tt := range []struct {
		name   string
		steps  func(c *client)
		code   int
		reason string
	}{
		{"4408 no connection_init in time", func(c *client) {}, 4408, "Connection initialisation timeout"},
		{"4408 Init does not answer in time", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "slow"})
		}, 4408, "Connection initialisation timeout"},
		{"4401 subscribe before connection_init", func(c *client) {
			c.subscribe("1", query)
		}, 4401, "Unauthorized"},
		{"4401 subscribe while Init runs", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "slow"})
			c.subscribe("1", query)
		}, 4401, "Unauthorized"},
		{"4403 refused connection_init", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "refuse"})
		}, 4403, "Forbidden"},
		{"4403 with the Refusal's reason", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "reason"})
		}, 4403, "Unauthorized: invalid_token"},
		{"1013 chosen by a Refusal", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "later"})
		}, 1013, "signing keys not loaded yet"},
		{"4403 Init panicked", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "panic"})
		}, 4403, "Forbidden"},
		{"4429 second connection_init", func(c *client) {
			c.init("")
			c.send("connection_init", "", nil)
		}, 4429, "Too many initialisation requests"},
		{"4429 second connection_init while Init runs", func(c *client) {
			c.send("connection_init", "", map[string]any{"authorization": "slow"})
			c.send("connection_init", "", nil)
		}, 4429, "Too many initialisation requests"},
		{"4409 subscribe with a live id", func(c *client) {
			c.init("reader")
			c.subscribe("s1", subscription)
			s.waitSubscribers(t, 1)
			c.subscribe("s1", subscription)
		}, 4409, "Subscriber for s1 already exists"},
		{"4409 with an id too long for the reason", func(c *client) {
			c.init("reader")
			id := strings.Repeat("i", 200)
			c.subscribe(id, subscription)
			s.waitSubscribers(t, 1)
			c.subscribe(id, subscription)
		}, 4409, "Subscriber already exists"},
		{"1009 message too large", func(c *client) {
			c.init("")
			c.subscribe("1", "{ publicMessage { text } }"+strings.Repeat(" ", 5000))
		}, 1009, "message too large"},
		{"1007 a message that is not UTF-8", func(c *client) {
			c.init("")
			c.sendRaw("{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"{ publicMessage { text } }\",\"variables\":{\"x\":\"\xff\"}}}")
		}, 1007, "message is not UTF-8"},
		{"4400 from the client: a server message type", func(c *client) {
			c.init("")
			c.sendRaw(`{"id":"1","type":"next","payload":{}}`)
		}, 4400, "Invalid message received: message type is not a client message of this subprotocol"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s, transportWS)
			tt.steps(c)
			c.expectClose(tt.code, tt.reason)
		})
		s.waitSubscribers(t, 0)
	}
}

// TestTransportWSInvalidMessages: every kind of malformed message closes
// with 4400 and its fixed text, before and after connection_ack; the text
// never echoes the input.
func TestTransportWSInvalidMessages(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	for _, tt := range []struct{ in, text string }{
		{`{"type":"connection_init"`, "message is not valid JSON"},
		{`not json at all, echo me`, "message is not valid JSON"},
		{`[{"type":"connection_init"}]`, "message is not a JSON object"},
		{`"Bearer x"`, "message is not a JSON object"},
		{`{"payload":{}}`, "message has no type string"},
		{`{"TYPE":"connection_init"}`, "message has no type string"},
		{`{"type":"start","id":"1","payload":{"query":"{a}"}}`, "message type is not a client message of this subprotocol"},
		{`{"type":"ka"}`, "message type is not a client message of this subprotocol"},
		{`{"type":"connection_init","payload":"Bearer x"}`, "connection_init payload must be an object or null"},
		{`{"type":"connection_init","payload":42}`, "connection_init payload must be an object or null"},
		{`{"type":"connection_init","payload":[1,2]}`, "connection_init payload must be an object or null"},
		{`{"type":"ping","payload":"x"}`, "ping and pong payloads must be an object or null"},
		{`{"type":"pong","payload":[1]}`, "ping and pong payloads must be an object or null"},
		{`{"type":"subscribe","payload":{"query":"{a}"}}`, "message id must be a non-empty string"},
		{`{"type":"subscribe","id":"","payload":{"query":"{a}"}}`, "message id must be a non-empty string"},
		{`{"type":"subscribe","id":1,"payload":{"query":"{a}"}}`, "message id must be a non-empty string"},
		{`{"type":"complete","id":null}`, "message id must be a non-empty string"},
		{`{"type":"subscribe","id":"1","payload":"query"}`, "operation payload must be an object"},
		{`{"type":"subscribe","id":"1"}`, "operation payload must be an object"},
		{`{"type":"subscribe","id":"1","payload":{"query":1}}`, "operation query must be a string"},
		{`{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":"x"}}`, "operation variables must be an object or null"},
		{`{"type":"subscribe","id":"1","payload":{"query":"{a}","operationName":{}}}`, "operation operationName must be a string or null"},
		{`{"type":"subscribe","id":"1","payload":{"query":"{a}","extensions":[]}}`, "operation extensions must be an object or null"},
	} {
		for _, acked := range []bool{false, true} {
			c := dial(t, s, transportWS)
			if acked && !strings.Contains(tt.in, "connection_init") {
				c.init("")
			}
			c.sendRaw(tt.in)
			c.expectClose(4400, "Invalid message received: "+tt.text)
		}
	}
}

// TestTransportWSSubprotocol: without a subprotocol this package speaks,
// 4406 (graphql-ws's reference server does the same).
func TestTransportWSSubprotocol(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	for _, proto := range []string{"", "graphql-sse"} {
		c, err := dialErr(t, s.URL, proto, false)
		if err != nil {
			t.Fatal(err)
		}
		c.expectClose(4406, "Subprotocol not acceptable")
	}
	// When a client offers both, graphql-transport-ws is chosen.
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, s.URL, &websocket.DialOptions{Subprotocols: []string{legacyWS, transportWS}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != transportWS {
		t.Errorf("negotiated %q; want %q", conn.Subprotocol(), transportWS)
	}
}

// TestTransportWSOperations: next then complete for a query; error (a
// list of GraphQL errors) and no complete for an operation refused before
// execution; results for a subscription; ids reusable once completed by
// either side.
func TestTransportWSOperations(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	c := dial(t, s, transportWS)
	c.init("reader")

	// Query: one next, then complete.
	c.subscribe("q1", query)
	m := c.expect("next", "q1")
	if !strings.HasPrefix(string(m.Payload), `{"data":{"publicMessage":{"text":"Hello from a public endpoint!`) {
		t.Errorf("next payload %s", m.Payload)
	}
	c.expect("complete", "q1")

	// The server completed q1, so its id is free again.
	c.subscribe("q1", query)
	c.expect("next", "q1")
	c.expect("complete", "q1")

	// Validation error: error, then nothing for that id.
	c.subscribe("bad", `{ nope }`)
	m = c.expect("error", "bad")
	if msg, code := errorOf(t, m); code != "GRAPHQL_VALIDATION_FAILED" || !strings.Contains(msg, "nope") {
		t.Errorf("validation error %s", m.Payload)
	}
	c.quiet()

	// Parse error and variables of the wrong type, the same way.
	c.subscribe("syntax", `{`)
	if _, code := errorOf(t, c.expect("error", "syntax")); code != "GRAPHQL_PARSE_FAILED" {
		t.Errorf("parse error code %q", code)
	}
	c.send("subscribe", "vars", map[string]any{"query": `query($n: Int!) { publicMessage { text } }`, "variables": map[string]any{"n": "x"}})
	c.expect("error", "vars")
	c.quiet()

	// A subscription delivers events in order until the client completes it.
	c.subscribe("s1", subscription)
	s.waitSubscribers(t, 1)
	for _, text := range []string{"one", "two", "three"} {
		s.send(t, text)
	}
	for _, text := range []string{"one", "two", "three"} {
		m := c.expect("next", "s1")
		if !strings.Contains(string(m.Payload), `"text":"`+text+`"`) {
			t.Fatalf("got %s; want %s", m.Payload, text)
		}
	}
	c.send("complete", "s1", nil)
	s.waitSubscribers(t, 0) // the resolver stopped
	s.send(t, "after complete")
	c.quiet() // no next, and no complete, after the client's complete

	// The client completed s1: its id is free again at once.
	c.subscribe("s1", subscription)
	s.waitSubscribers(t, 1)
	s.send(t, "again")
	if m := c.expect("next", "s1"); !strings.Contains(string(m.Payload), "again") {
		t.Fatalf("got %s", m.Payload)
	}

	// complete for an unknown or finished id is ignored.
	c.send("complete", "never-started", nil)
	c.send("complete", "q1", nil)
	c.quiet()

	// Directive refusals are results, as over HTTP.
	anon := dial(t, s, transportWS)
	anon.init("")
	anon.subscribe("1", subscription)
	m = anon.expect("next", "1")
	if !strings.Contains(string(m.Payload), `"path":["messageSent"]`) || !strings.Contains(string(m.Payload), `"data":null`) {
		t.Errorf("anonymous subscription: %s", m.Payload)
	}
	anon.expect("complete", "1")
}

// TestTransportWSQueryCompletedEarly: an operation the client completes
// sends nothing more (PROTOCOL.md: "No further events ... should be sent
// through"; a query's result "should not be sent through once it
// resolves"). Racing 50 subscribe/complete pairs, what may arrive for each
// is what was in flight: nothing, next, or next then complete; never a
// complete without its result, which is what a server sends when it
// answers the client's complete (gqlgen's transport does).
func TestTransportWSQueryCompletedEarly(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	c := dial(t, s, transportWS)
	c.init("reader")
	for range 50 {
		c.subscribe("q", query)
		c.send("complete", "q", nil)
	}
	c.sendRaw(`{"type":"ping"}`)
	results := false
	for {
		m, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case "pong":
			return
		case "next":
			results = true
		case "complete":
			if !results {
				t.Fatal("complete without a result, after the client's complete")
			}
			results = false
		default:
			t.Fatalf("got %s %s", m.Type, m.Payload)
		}
	}
}

// TestTransportWSSubscriptionError: a resolver ending its subscription
// through AddSubscriptionError ends the operation with error (its
// errors), and no complete follows (PROTOCOL.md).
func TestTransportWSSubscriptionError(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	c := dial(t, s, transportWS)
	c.init("reader")
	c.subscribe("f", failingSubscription)
	s.waitSubscribers(t, 1)
	s.send(t, "first")
	c.expect("next", "f")
	m := c.expect("error", "f")
	if msg, code := errorOf(t, m); code != "ENDED" || msg != "subscription ended by the server" {
		t.Errorf("error payload %s", m.Payload)
	}
	c.quiet()
	s.waitSubscribers(t, 0)
	if graphqlws.AddSubscriptionError(t.Context(), nil) {
		t.Error("AddSubscriptionError outside an operation reported true")
	}
}

// TestTransportWSPingPong: a ping is answered at once with a pong echoing
// its payload; pongs are accepted unsolicited; the server pings every
// KeepAliveInterval once acknowledged.
func TestTransportWSPingPong(t *testing.T) {
	s := newServer(t, graphqlws.Options{KeepAliveInterval: 100 * time.Millisecond})
	c := dial(t, s, transportWS)
	// Before connection_init too: "can be sent at any time within the
	// established socket".
	c.sendRaw(`{"type":"ping","payload":{"at":1,"nested":{"x":[true,null]}}}`)
	if m := c.expect("pong", ""); string(m.Payload) != `{"at":1,"nested":{"x":[true,null]}}` {
		t.Errorf("pong payload %s", m.Payload)
	}
	c.sendRaw(`{"type":"ping"}`)
	if m := c.expect("pong", ""); m.Payload != nil {
		t.Errorf("pong to a ping without payload has payload %s", m.Payload)
	}
	c.sendRaw(`{"type":"ping","payload":null}`)
	c.expect("pong", "")
	c.sendRaw(`{"type":"pong","payload":{"unsolicited":true}}`)
	if c.kas.Load() != 0 {
		t.Error("keep-alive pings before connection_ack")
	}
	c.init("")
	waitFor(t, 5*time.Second, "no server ping at a 100 ms interval", func() bool { return c.kas.Load() >= 3 })
	c.quiet()
}

// TestTransportWSOperationLimit: MaxOperations live operations at most;
// one more gets error TOO_MANY_OPERATIONS and the connection stays.
func TestTransportWSOperationLimit(t *testing.T) {
	s := newServer(t, graphqlws.Options{MaxOperations: 2})
	c := dial(t, s, transportWS)
	c.init("reader")
	c.subscribe("a", subscription)
	c.subscribe("b", subscription)
	s.waitSubscribers(t, 2)
	c.subscribe("c", subscription)
	if _, code := errorOf(t, c.expect("error", "c")); code != graphqlws.CodeTooManyOperations {
		t.Errorf("code %q", code)
	}
	c.send("complete", "a", nil)
	s.waitSubscribers(t, 1)
	c.subscribe("c", subscription)
	s.waitSubscribers(t, 2)
	if st := s.Transport.Stats(); st.Connections != 1 || st.Operations != 2 {
		t.Errorf("Stats = %+v; want 1 connection, 2 operations", st)
	}
}

// TestInitContextValues: operations run with the Init context's values but
// not its deadline: a 1 ms timeout on it does not end a subscription.
func TestInitContextValues(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	c := dial(t, s, transportWS)
	c.init("deadline")
	time.Sleep(50 * time.Millisecond)
	c.subscribe("s", subscription)
	s.waitSubscribers(t, 1)
	s.send(t, "still here")
	if m := c.expect("next", "s"); !strings.Contains(string(m.Payload), "still here") {
		t.Fatalf("got %s", m.Payload)
	}
}

// TestShutdown: Shutdown closes every connection, of both subprotocols,
// with 1001, waits for them, and refuses new upgrades with 503; CloseAll
// uses the code and reason given.
func TestShutdown(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	var clients []*client
	for _, proto := range []string{transportWS, legacyWS, transportWS} {
		c := dial(t, s, proto)
		c.init("reader")
		c.subscribe("s", subscription)
		clients = append(clients, c)
	}
	s.waitSubscribers(t, 3)

	other := dial(t, s, transportWS)
	other.init("")
	s.Transport.CloseAll(4000, "bye")
	other.expectClose(4000, "bye")
	for _, c := range clients {
		c.expectClose(4000, "bye")
	}
	s.waitSubscribers(t, 0)

	for range 3 {
		c := dial(t, s, transportWS)
		c.init("reader")
		c.subscribe("s", subscription)
		clients = append(clients[:0], c)
	}
	s.waitSubscribers(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.Transport.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown returned: every connection has ended, and Do returns.
	if st := s.Transport.Stats(); st != (graphqlws.Stats{}) {
		t.Fatalf("after Shutdown: %+v", st)
	}
	waitFor(t, time.Second, "Do has not returned", func() bool { return s.open.Load() == 0 })
	clients[0].expectClose(1001, "server shutting down")
	s.waitSubscribers(t, 0)

	resp, err := http.DefaultClient.Do(upgradeRequest(t, s.HTTPURL))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "SHUTTING_DOWN") {
		t.Errorf("upgrade after Shutdown: %d %s", resp.StatusCode, body)
	}
}

// TestRequestContextEnds: when the HTTP server's base context ends (as
// the server ends WebSockets after http.Server.Shutdown), connections
// close with 1001.
func TestRequestContextEnds(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newServerWith(t, graphqlws.Options{}, serverConfig{base: base})
	a, b := dial(t, s, transportWS), dial(t, s, legacyWS)
	a.init("reader")
	b.init("reader")
	a.subscribe("s", subscription)
	b.subscribe("s", subscription)
	s.waitSubscribers(t, 2)
	cancel()
	a.expectClose(1001, "server shutting down")
	b.expectClose(1001, "server shutting down")
	s.waitSubscribers(t, 0)
}

// TestHandshakeRefusals: an upgrade coder/websocket refuses gets a fixed
// GraphQL error body, not the library's text quoting the request.
func TestHandshakeRefusals(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	for _, tt := range []struct {
		name   string
		edit   func(r *http.Request)
		status int
		code   string
	}{
		{"no Connection: Upgrade", func(r *http.Request) { r.Header.Set("Connection", "keep-alive-ECHO") }, http.StatusUpgradeRequired, "BAD_WEBSOCKET_HANDSHAKE"},
		{"bad version", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8-ECHO") }, http.StatusBadRequest, "BAD_WEBSOCKET_HANDSHAKE"},
		{"bad key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "ECHO") }, http.StatusBadRequest, "BAD_WEBSOCKET_HANDSHAKE"},
		{"foreign origin", func(r *http.Request) { r.Header.Set("Origin", "https://ECHO.example") }, http.StatusForbidden, "FORBIDDEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := upgradeRequest(t, s.HTTPURL)
			tt.edit(r)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var parsed struct {
				Errors []struct {
					Message    string
					Extensions map[string]any
				}
			}
			if resp.StatusCode != tt.status || json.Unmarshal(body, &parsed) != nil || len(parsed.Errors) != 1 || parsed.Errors[0].Extensions["code"] != tt.code {
				t.Fatalf("%d %s; want %d with code %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if strings.Contains(strings.ToLower(string(body)), "echo") || strings.Contains(string(body), "WebSocket protocol violation") {
				t.Errorf("body leaks the request or library text: %s", body)
			}
		})
	}
}

func upgradeRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Protocol", transportWS)
	return r
}

// TestNewValidates: negative settings are refused, zero means defaults.
func TestNewValidates(t *testing.T) {
	for _, o := range []graphqlws.Options{
		{InitTimeout: -1}, {KeepAliveInterval: -1}, {PongTimeout: -1}, {WriteTimeout: -1},
		{OperationStopTimeout: -1}, {MaxMessageBytes: -1}, {MaxOperations: -1},
	} {
		if _, err := graphqlws.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	if _, err := graphqlws.New(graphqlws.Options{}); err != nil {
		t.Errorf("New with defaults: %v", err)
	}
}
