package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authgql/server/auth/authtest"
)

// wsClient speaks graphql-transport-ws (or, with legacy, graphql-ws) to the
// real server, as Apollo's links do.
type wsClient struct {
	conn   *websocket.Conn
	legacy bool
	msgs   chan wsMessage // closed after err is set
	err    error          // why reading stopped
	pings  chan struct{}  // a keep-alive arrived
}

// errNoMessage means nothing arrived within the timeout; the connection is
// still open (cancelling a read would close it, so a goroutine reads).
var errNoMessage = errors.New("no message within the timeout")

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS opens a connection; header may carry Origin.
func dialWS(t *testing.T, ts *testServer, legacy bool, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	proto := "graphql-transport-ws"
	if legacy {
		proto = "graphql-ws"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"graphql",
		&websocket.DialOptions{Subprotocols: []string{proto}, HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(1 << 20)
	c := &wsClient{conn: conn, legacy: legacy, msgs: make(chan wsMessage, 64), pings: make(chan struct{}, 64)}
	go c.read()
	return c, resp, nil
}

func (c *wsClient) read() {
	defer close(c.msgs)
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.err = fmt.Errorf("ws message %s: %w", b, err)
			return
		}
		switch m.Type {
		case "ping":
			b, _ := json.Marshal(wsMessage{Type: "pong"})
			_ = c.conn.Write(context.Background(), websocket.MessageText, b)
			fallthrough
		case "ka": // the server's keep-alives, on either protocol
			select {
			case c.pings <- struct{}{}:
			default:
			}
			continue
		case "pong":
			continue
		}
		c.msgs <- m
	}
}

func (c *wsClient) send(t *testing.T, m wsMessage) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatalf("ws write: %v", err)
	}
}

// next reads the next message that is not a keep-alive; a closed connection
// is returned as the error.
func (c *wsClient) next(t *testing.T, timeout time.Duration) (wsMessage, error) {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return wsMessage{}, c.err
		}
		return m, nil
	case <-time.After(timeout):
		return wsMessage{}, errNoMessage
	}
}

// init sends connection_init with payload and returns the reply.
func (c *wsClient) init(t *testing.T, payload map[string]any) (wsMessage, error) {
	t.Helper()
	b, _ := json.Marshal(payload)
	c.send(t, wsMessage{Type: "connection_init", Payload: b})
	return c.next(t, 5*time.Second)
}

// subscribe starts an operation with id.
func (c *wsClient) subscribe(t *testing.T, id, query string) {
	t.Helper()
	typ := "subscribe"
	if c.legacy {
		typ = "start"
	}
	b, _ := json.Marshal(map[string]string{"query": query})
	c.send(t, wsMessage{Type: typ, ID: id, Payload: b})
}

// closeStatus returns the close code of err, or -1.
func closeStatus(err error) int {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// executeSubscription runs a subscription field over WebSocket for the
// schema-driven test: it subscribes, waits until the server has accepted or
// refused the operation, and, once accepted, sends a message so that an
// event arrives.
func (ts *testServer) executeSubscription(t *testing.T, op, field, authorization string) fieldResult {
	t.Helper()
	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	payload := map[string]any{}
	if authorization != "" {
		payload["authorization"] = authorization
	}
	ack, err := c.init(t, payload)
	if err != nil {
		// The connection was refused: what an HTTP request gets as a 401.
		if closeStatus(err) == 4403 || closeStatus(err) == 4401 {
			return fieldResult{status: http.StatusUnauthorized, raw: err.Error()}
		}
		t.Fatalf("connection_init: %v", err)
	}
	if ack.Type != "connection_ack" {
		t.Fatalf("connection_init answered %+v", ack)
	}
	c.subscribe(t, "1", op)
	// Give the server time to run the directive before the event is sent;
	// a refused subscription answers at once with an error instead.
	if m, err := c.next(t, 300*time.Millisecond); err != errNoMessage {
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		return wsResult(field, m)
	}
	sendMessage(t, ts, "schema test event")
	m, err := c.next(t, 5*time.Second)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	return wsResult(field, m)
}

func wsResult(field string, m wsMessage) fieldResult {
	switch m.Type {
	case "next", "data":
		return parseResult(http.StatusOK, m.Payload, field)
	case "error":
		// An operation refused before it started: errors only.
		return parseResult(http.StatusOK, []byte(`{"errors":`+string(m.Payload)+`}`), field)
	}
	return fieldResult{status: -1, raw: m.Type + " " + string(m.Payload)}
}

// sendMessage calls the mutation with a token that may.
func sendMessage(t *testing.T, ts *testServer, text string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `mutation($t: String!) { sendMessage(text: $t) { id text author sentAt } }`, "variables": map[string]any{"t": text}})
	r := do(t, http.MethodPost, ts.URL+"graphql", string(body), map[string]string{"Authorization": bearer(ts.Issuer.Token(t, tokenScope("write:messages")...))})
	wantStatus(t, r, http.StatusOK)
	return r.json(t)
}

func tokenScope(scopes ...string) []authtest.Option {
	return []authtest.Option{authtest.Scope(scopes...)}
}
