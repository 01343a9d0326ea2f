package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authgql/server/auth/authtest"
)

const subscriptionQuery = `subscription { messageSent { id text author sentAt } }`

// TestSubscriptionDelivery: messages sent over HTTP reach live subscribers
// on both subprotocols, in order, with id, author and sentAt.
func TestSubscriptionDelivery(t *testing.T) {
	ts := startServer(t, nil)
	subs := []subscriber{subscribe(t, ts, "graphql-transport-ws", false), subscribe(t, ts, "graphql-ws", true)}
	waitLive(t, ts, subs...)
	for i := range 5 {
		sendMessage(t, ts, fmt.Sprintf("message %d", i))
	}
	for _, c := range subs {
		for i := range 5 {
			m, err := c.next(t, 5*time.Second)
			if err != nil {
				t.Fatalf("legacy=%v: message %d: %v", c.legacy, i, err)
			}
			var p struct {
				Data struct {
					MessageSent struct{ ID, Text, Author, SentAt string }
				}
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil || m.ID != "s" {
				t.Fatalf("legacy=%v: %+v %v", c.legacy, m, err)
			}
			got := p.Data.MessageSent
			if got.Text != fmt.Sprintf("message %d", i) || got.Author != authtest.DefaultSubject || got.ID == "" {
				t.Errorf("legacy=%v: message %d = %+v", c.legacy, i, got)
			}
			if _, err := time.Parse(time.RFC3339, got.SentAt); err != nil {
				t.Errorf("sentAt %q is not RFC 3339", got.SentAt)
			}
		}
	}
}

// TestWebSocketAuth covers how connection_init tokens are read and refused.
func TestWebSocketAuth(t *testing.T) {
	ts := startServer(t, nil)
	good := ts.Issuer.Token(t, authtest.Scope("read:messages"))
	expired := ts.Issuer.Token(t, authtest.ExpiresIn(-time.Hour))

	for _, tt := range []struct {
		name    string
		legacy  bool
		payload map[string]any
		close   int // 0 means accepted
	}{
		{"Bearer in authorization", false, map[string]any{"authorization": bearer(good)}, 0},
		{"Bearer in Authorization", false, map[string]any{"Authorization": bearer(good)}, 0},
		{"bare token", false, map[string]any{"authorization": good}, 0},
		{"no token is anonymous", false, map[string]any{}, 0},
		{"invalid token, graphql-transport-ws", false, map[string]any{"authorization": bearer("not.a.jwt")}, 4403},
		{"expired token, graphql-transport-ws", false, map[string]any{"authorization": bearer(expired)}, 4403},
		{"malformed header, graphql-transport-ws", false, map[string]any{"authorization": "Bearer a b"}, 4403},
		{"authorization not a string", false, map[string]any{"authorization": 42}, 4403},
		{"invalid token, graphql-ws", true, map[string]any{"authorization": bearer("not.a.jwt")}, 4401},
		{"expired token, graphql-ws", true, map[string]any{"authorization": expired}, 4401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := dialWS(t, ts, tt.legacy, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.init(t, tt.payload)
			if tt.close == 0 {
				if err != nil || m.Type != "connection_ack" {
					t.Fatalf("init = %+v, %v; want connection_ack", m, err)
				}
				return
			}
			if tt.legacy && err == nil {
				// graphql-ws announces the refusal before closing.
				if m.Type != "connection_error" {
					t.Fatalf("got %+v; want connection_error", m)
				}
				_, err = c.next(t, 5*time.Second)
			}
			if got := closeStatus(err); got != tt.close {
				t.Fatalf("close = %d (%v); want %d", got, err, tt.close)
			}
			if !strings.Contains(err.Error(), "Unauthorized: ") {
				t.Errorf("close reason %q does not say why", err)
			}
		})
	}

	t.Run("anonymous subscription fails like an HTTP field", func(t *testing.T) {
		c, _, _ := dialWS(t, ts, false, nil)
		if _, err := c.init(t, nil); err != nil {
			t.Fatal(err)
		}
		c.subscribe(t, "1", subscriptionQuery)
		m, err := c.next(t, 5*time.Second)
		wantOperationError(t, m, err, "UNAUTHENTICATED")
	})
	t.Run("missing scope is FORBIDDEN", func(t *testing.T) {
		c, _, _ := dialWS(t, ts, false, nil)
		if _, err := c.init(t, map[string]any{"authorization": bearer(ts.Issuer.Token(t, authtest.Scope("write:messages")))}); err != nil {
			t.Fatal(err)
		}
		c.subscribe(t, "1", subscriptionQuery)
		m, err := c.next(t, 5*time.Second)
		wantOperationError(t, m, err, "FORBIDDEN")
	})
}

// TestWebSocketCredentialPolicy covers every combination of a credential
// on the upgrade request (the Authorization header) and in
// connection_init: connection_init's is the credential; a valid header
// stands in when connection_init has none; an invalid header is refused
// with 401 before the upgrade; two different tokens are refused at
// connection_init, the same token twice is fine.
func TestWebSocketCredentialPolicy(t *testing.T) {
	ts := startServer(t, nil)
	scoped := ts.Issuer.Token(t, authtest.Scope("read:messages")) // reads scopedMessage
	plain := ts.Issuer.Token(t, authtest.Subject("other"))        // reads privateMessage only
	expired := ts.Issuer.Token(t, authtest.ExpiresIn(-time.Hour))
	const query = `{ privateMessage { text } scopedMessage { text } }`

	for _, tt := range []struct {
		name   string
		header string         // the upgrade request's Authorization, "" for none
		init   map[string]any // the connection_init payload
		// want is "401" (refused before the upgrade), "close" (refused at
		// connection_init), or the codes the query's two fields get:
		// "UNAUTHENTICATED UNAUTHENTICATED" anonymous, "- FORBIDDEN" with
		// plain, "- -" with scoped.
		want   string
		reason string // with "close": what the close reason says
	}{
		{"neither: anonymous", "", map[string]any{}, "UNAUTHENTICATED UNAUTHENTICATED", ""},
		{"connection_init only", "", map[string]any{"authorization": bearer(plain)}, "- FORBIDDEN", ""},
		{"valid header only: it authenticates", bearer(scoped), map[string]any{}, "- -", ""},
		{"blank header only: anonymous", "  ", map[string]any{}, "UNAUTHENTICATED UNAUTHENTICATED", ""},
		{"valid header, blank connection_init entry", bearer(scoped), map[string]any{"authorization": ""}, "- -", ""},
		{"same token in both", bearer(scoped), map[string]any{"authorization": bearer(scoped)}, "- -", ""},
		{"same token in both, spelled differently", "bearer " + scoped, map[string]any{"Authorization": scoped}, "- -", ""},
		{"different tokens", bearer(scoped), map[string]any{"authorization": bearer(plain)}, "close", "conflicting credentials"},
		{"different tokens, the header's with fewer scopes", bearer(plain), map[string]any{"authorization": bearer(scoped)}, "close", "conflicting credentials"},
		{"valid header, invalid connection_init token", bearer(scoped), map[string]any{"authorization": bearer("not.a.jwt")}, "close", "invalid_token"},
		{"valid header, malformed connection_init entry", bearer(scoped), map[string]any{"authorization": 42}, "close", "invalid_header"},
		{"invalid header, no connection_init token", bearer("not.a.jwt"), map[string]any{}, "401", ""},
		{"expired header, valid connection_init token", bearer(expired), map[string]any{"authorization": bearer(scoped)}, "401", ""},
		{"malformed header", "Basic dXNlcjpwYXNz", map[string]any{"authorization": bearer(scoped)}, "401", ""},
		{"both spellings in connection_init, same token", "", map[string]any{"authorization": bearer(scoped), "Authorization": scoped}, "- -", ""},
		{"both spellings in connection_init, different tokens", "", map[string]any{"authorization": bearer(plain), "Authorization": bearer(scoped)}, "close", "conflicting credentials"},
		{"both spellings, a bad one beside a valid one", "", map[string]any{"authorization": bearer("garbage"), "Authorization": bearer(scoped)}, "close", "conflicting credentials"},
	} {
		for _, legacy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/legacy=%v", tt.name, legacy), func(t *testing.T) {
				h := http.Header{}
				if tt.header != "" {
					h.Set("Authorization", tt.header)
				}
				c, resp, err := dialWS(t, ts, legacy, h)
				if tt.want == "401" {
					if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
						t.Fatalf("upgrade = %v, %+v; want 401 with WWW-Authenticate before the upgrade", err, resp)
					}
					return
				}
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				m, err := c.init(t, tt.init)
				if tt.want == "close" {
					wantClose := 4403
					if legacy {
						wantClose = 4401
						if err == nil && m.Type == "connection_error" {
							_, err = c.next(t, 5*time.Second)
						}
					}
					if got := closeStatus(err); got != wantClose || !strings.Contains(err.Error(), "Unauthorized: "+tt.reason) {
						t.Fatalf("init = %+v, %v; want close %d saying %q", m, err, wantClose, tt.reason)
					}
					return
				}
				if err != nil || m.Type != "connection_ack" {
					t.Fatalf("init = %+v, %v; want connection_ack", m, err)
				}
				c.subscribe(t, "q", query)
				m, err = c.next(t, 5*time.Second)
				if err != nil || (m.Type != "next" && m.Type != "data") {
					t.Fatalf("query: %+v, %v", m, err)
				}
				codes := fieldCodes(t, m.Payload)
				if got := codes["privateMessage"] + " " + codes["scopedMessage"]; got != tt.want {
					t.Errorf("field codes = %q; want %q (%s)", got, tt.want, m.Payload)
				}
			})
		}
	}
}

// TestSubscriptionEndsWithToken: a subscription does not outlive its token;
// it ends with UNAUTHENTICATED / token_expired, and the connection refuses
// new guarded operations.
func TestSubscriptionEndsWithToken(t *testing.T) {
	ts := startServer(t, nil)
	// Valid for 58 s of the 60 s skew already spent: it expires in ~2 s.
	tok := ts.Issuer.Token(t, authtest.Scope("read:messages"), authtest.ExpiresIn(-58*time.Second))
	for _, legacy := range []bool{false, true} {
		c, _, err := dialWS(t, ts, legacy, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := c.init(t, map[string]any{"authorization": bearer(tok)}); err != nil || m.Type != "connection_ack" {
			t.Fatalf("init: %+v %v", m, err)
		}
		c.subscribe(t, "live", subscriptionQuery)
		defer func(c *wsClient) {
			m, err := c.next(t, 10*time.Second)
			if err != nil || m.Type != "error" || m.ID != "live" || !strings.Contains(string(m.Payload), `"token_expired"`) {
				t.Fatalf("legacy=%v: got %+v %v; want the subscription ended with token_expired", c.legacy, m, err)
			}
			c.subscribe(t, "again", subscriptionQuery)
			m, err = c.next(t, 5*time.Second)
			wantOperationError(t, m, err, `"token_expired"`)
		}(c)
	}
}

// TestWebSocketOrigin: cross-site WebSocket hijacking is refused.
func TestWebSocketOrigin(t *testing.T) {
	ts := startServer(t, map[string]string{"CLIENT_ORIGIN_URL": "http://localhost:4040,https://app.example.com"})
	for origin, ok := range map[string]bool{
		"":                                     true,
		"http://localhost:4040":                true,
		"https://app.example.com":              true,
		strings.TrimSuffix(ts.URL, "/"):        true,
		"https://evil.example":                 false,
		"http://app.example.com":               false,
		"https://app.example.com.evil.example": false,
	} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		_, resp, err := dialWS(t, ts, false, h)
		switch {
		case ok && err != nil:
			t.Errorf("Origin %q refused: %v", origin, err)
		case !ok && (err == nil || resp == nil || resp.StatusCode != http.StatusForbidden):
			t.Errorf("Origin %q accepted (err %v)", origin, err)
		}
	}
}

// TestWebSocketTimers: keep-alives are sent, and a client that never sends
// connection_init is disconnected.
func TestWebSocketTimers(t *testing.T) {
	ts := startServer(t, map[string]string{"WS_KEEPALIVE_INTERVAL": "500ms", "WS_INIT_TIMEOUT": "300ms"})
	for _, legacy := range []bool{false, true} {
		c, _, err := dialWS(t, ts, legacy, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.init(t, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.pings:
		case <-time.After(5 * time.Second):
			t.Errorf("legacy=%v: no keep-alive within 5 s at a 500 ms interval", legacy)
		}
	}
	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.next(t, 3*time.Second); err == nil || err == errNoMessage {
		t.Errorf("connection without connection_init still open after 3 s (%v)", err)
	}
}

// TestWebSocketLimitSettings: WS_MAX_OPERATIONS bounds the operations of
// one connection, and WS_PONG_TIMEOUT drops a peer that stopped answering
// pings (here: a client that never reads), giving its connection slot
// (WS_MAX_CONNECTIONS) back.
func TestWebSocketLimitSettings(t *testing.T) {
	ts := startServer(t, map[string]string{"WS_MAX_OPERATIONS": "1", "WS_KEEPALIVE_INTERVAL": "200ms",
		"WS_PONG_TIMEOUT": "300ms", "WS_MAX_CONNECTIONS": "1"})
	reader := bearer(ts.Issuer.Token(t, tokenScope("read:messages")...))

	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.init(t, map[string]any{"authorization": reader}); err != nil {
		t.Fatal(err)
	}
	c.subscribe(t, "1", `subscription { messageSent { text } }`)
	c.subscribe(t, "2", `subscription { messageSent { text } }`)
	for {
		m, err := c.next(t, 5*time.Second)
		if err != nil {
			t.Fatalf("no refusal of the second operation: %v", err)
		}
		if m.Type == "error" {
			if m.ID != "2" || !strings.Contains(string(m.Payload), "TOO_MANY_OPERATIONS") {
				t.Fatalf("error %s; want TOO_MANY_OPERATIONS for operation 2", wsString(m))
			}
			break
		}
	}
	c.conn.CloseNow()

	// A client that never reads never answers the server's pings.
	deaf := func() (*websocket.Conn, *http.Response, error) { return dialGraphQL(ts.URL, false, nil) }
	var conn *websocket.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) { // the first connection's slot comes back
		if conn, _, err = deaf(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed connection's slot did not come back: %v", err)
		}
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	// Dropped after a keep-alive interval and a pong timeout: the slot is
	// free again well within 10 s.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		other, _, err := deaf()
		if err == nil {
			other.CloseNow()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a client that answers no ping still holds its slot after 10 s: %v", err)
		}
	}
}

// TestSendMessageLimits: text length is a setting with a clear error.
func TestSendMessageLimits(t *testing.T) {
	ts := startServer(t, map[string]string{"MESSAGE_MAX_LENGTH": "10"})
	for text, wantErr := range map[string]bool{"ten chars!": false, "eleven chars": true, "   ": true, "ünïcödé ok": false} {
		got := sendMessage(t, ts, text)
		errs, _ := got["errors"].([]any)
		if wantErr != (len(errs) == 1) {
			t.Errorf("sendMessage(%q) = %v", text, got)
			continue
		}
		if wantErr && !strings.Contains(fmt.Sprint(errs[0]), "BAD_USER_INPUT") {
			t.Errorf("sendMessage(%q) error = %v; want BAD_USER_INPUT", text, errs[0])
		}
	}
}

// TestMutationWithBadInputSendsNothing: a mutation one of whose root
// fields has a text sendMessage refuses is refused as a whole before any
// field runs (SPEC.md: a mutation never half-runs): data null, one
// BAD_USER_INPUT error per bad field at its path, and a subscriber
// receives none of its texts, not even those before the bad field. The
// fields checked are the ones that would run: through fragments, and not
// those @skip leaves out; over WebSocket as over HTTP. A caller who may
// not send at all learns only that (FORBIDDEN), nothing about the texts.
func TestMutationWithBadInputSendsNothing(t *testing.T) {
	ts := startServer(t, map[string]string{"MESSAGE_MAX_LENGTH": "10"})
	sub := subscribe(t, ts, "subscriber", false)
	waitLive(t, ts, sub)
	writer := bearer(ts.Issuer.Token(t, tokenScope("write:messages")...))
	post := func(query string, vars map[string]any, authorization string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		r := do(t, http.MethodPost, ts.URL+"graphql", string(body), map[string]string{"Authorization": authorization})
		wantStatus(t, r, http.StatusOK)
		return r.json(t)
	}
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		want        map[string]string // response path: code
	}{
		{"a bad field after a good one",
			`mutation { a: sendMessage(text: "refused 1") { id } b: sendMessage(text: "") { id } }`, nil,
			map[string]string{"b": "BAD_USER_INPUT"}},
		{"two bad fields, one from a variable",
			`mutation($long: String!) { a: sendMessage(text: "   ") { id } b: sendMessage(text: "refused 2") { id } c: sendMessage(text: $long) { id } }`,
			map[string]any{"long": "eleven chars"},
			map[string]string{"a": "BAD_USER_INPUT", "c": "BAD_USER_INPUT"}},
		{"a bad field in a fragment",
			`mutation { sendMessage(text: "refused 3") { id } ...F } fragment F on Mutation { later: sendMessage(text: "far too long") { id } }`, nil,
			map[string]string{"later": "BAD_USER_INPUT"}},
		{"a bad field in an inline fragment that @include keeps",
			`mutation($yes: Boolean!) { sendMessage(text: "refused 4") { id } ... on Mutation @include(if: $yes) { b: sendMessage(text: "") { id } } }`,
			map[string]any{"yes": true},
			map[string]string{"b": "BAD_USER_INPUT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := post(tc.query, tc.vars, writer)
			if data, ok := got["data"]; !ok || data != nil {
				t.Errorf("data = %v; want null: %v", got["data"], got)
			}
			wantFieldErrors(t, got, tc.want)
		})
	}
	t.Run("a caller who may not send", func(t *testing.T) {
		got := post(`mutation { sendMessage(text: "") { id } }`, nil, bearer(ts.Issuer.Token(t, tokenScope("read:messages")...)))
		wantFieldErrors(t, got, map[string]string{"sendMessage": "FORBIDDEN"})
	})
	t.Run("over WebSocket", func(t *testing.T) {
		c, _, err := dialWS(t, ts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.conn.CloseNow()
		if ack, err := c.init(t, map[string]any{"authorization": writer}); err != nil || ack.Type != "connection_ack" {
			t.Fatalf("init: %+v %v", ack, err)
		}
		c.subscribe(t, "m", `mutation { a: sendMessage(text: "refused 5") { id } b: sendMessage(text: "") { id } }`)
		m, err := c.next(t, 5*time.Second)
		wantOperationError(t, m, err, "BAD_USER_INPUT")
		if m.Type != "error" {
			t.Errorf("got %s %s; want the protocol's error message: refused before it ran", m.Type, m.Payload)
		}
	})
	// A bad field that @skip or @include leaves out does not stop the
	// others; a number for the String variable is read as its digits, as
	// the resolver reads it.
	got := post(`mutation($n: String!, $no: Boolean!) { a: sendMessage(text: $n) { text } b: sendMessage(text: "") @include(if: $no) { id } c: sendMessage(text: "") @skip(if: true) { id } }`,
		map[string]any{"n": 5, "no": false}, writer)
	if fmt.Sprint(got["data"]) != "map[a:map[text:5]]" || got["errors"] != nil {
		t.Fatalf("with the bad fields left out: %v; want a sent", got)
	}
	// The subscriber's next message is that one: none of the refused
	// mutations' texts were sent.
	if m := sub.receive(t, 1)[0]; m.Text != "5" {
		t.Errorf("the subscriber received %q first; want \"5\" (a refused mutation sent something)", m.Text)
	}
}

// TestSubscriptionOutlivesHTTPTimeouts: READ_TIMEOUT and WRITE_TIMEOUT bound
// HTTP requests, not WebSocket connections.
func TestSubscriptionOutlivesHTTPTimeouts(t *testing.T) {
	ts := startServer(t, map[string]string{"READ_TIMEOUT": "500ms", "WRITE_TIMEOUT": "500ms", "WS_KEEPALIVE_INTERVAL": "10m"})
	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.init(t, map[string]any{"authorization": bearer(ts.Issuer.Token(t, authtest.Scope("read:messages")))}); err != nil {
		t.Fatal(err)
	}
	c.subscribe(t, "1", subscriptionQuery)
	waitLive(t, ts, subscriber{c, "subscriber"})
	time.Sleep(1500 * time.Millisecond) // three times the HTTP timeouts
	sendMessage(t, ts, "still here")
	m, err := c.next(t, 5*time.Second)
	if err != nil || !strings.Contains(string(m.Payload), "still here") {
		t.Fatalf("after 3x the HTTP timeouts: %+v %v", m, err)
	}
}

// TestWebSocketConnectionLimit: WS_MAX_CONNECTIONS bounds open sockets; a
// closed one frees its place.
func TestWebSocketConnectionLimit(t *testing.T) {
	ts := startServer(t, map[string]string{"WS_MAX_CONNECTIONS": "2"})
	var open []*wsClient
	for range 2 {
		c, _, err := dialWS(t, ts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.init(t, nil); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	_, resp, err := dialWS(t, ts, false, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third connection: %v %+v; want 503 with Retry-After", err, resp)
	}
	open[0].conn.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _, err := dialWS(t, ts, false, nil)
		if err == nil {
			if _, err := c.init(t, nil); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place freed after a close: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSlowSubscriberIsEnded: a subscriber that stops reading is ended with
// SLOW_SUBSCRIBER once its queue (SUBSCRIBER_BUFFER) is full, and the
// sender is never refused or held up by it.
func TestSlowSubscriberIsEnded(t *testing.T) {
	ts := startServer(t, map[string]string{"SUBSCRIBER_BUFFER": "4", "MESSAGE_MAX_LENGTH": "60000"})
	read := bearer(ts.Issuer.Token(t, authtest.Scope("read:messages")))
	slow, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.init(t, map[string]any{"authorization": read}); err != nil {
		t.Fatal(err)
	}
	slow.subscribe(t, "slow", subscriptionQuery)
	waitLive(t, ts, subscriber{slow, "slow"})

	// slow's reader stops taking frames off the socket once 64 wait
	// unread; then the socket buffers fill, then the hub's queue of 4.
	writer := bearer(ts.Issuer.Token(t, authtest.Scope("write:messages")))
	text := strings.Repeat("x", 50000)
	body, _ := json.Marshal(map[string]any{"query": `mutation($t: String!) { sendMessage(text: $t) { id } }`, "variables": map[string]any{"t": text}})
	for i := range 600 { // 30 MB: far more than socket buffers hold
		r := do(t, http.MethodPost, ts.URL+"graphql", string(body), map[string]string{"Authorization": writer})
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), `"errors"`) {
			t.Fatalf("send %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Drain slow: after the messages it had room for comes the error.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m, err := slow.next(t, 5*time.Second)
		if err != nil {
			t.Fatalf("no SLOW_SUBSCRIBER error: %v", err)
		}
		if m.Type == "error" {
			if !strings.Contains(string(m.Payload), `"SLOW_SUBSCRIBER"`) {
				t.Fatalf("ended with %s; want SLOW_SUBSCRIBER", m.Payload)
			}
			return
		}
	}
	t.Fatal("slow subscriber was never ended")
}
