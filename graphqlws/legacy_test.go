package graphqlws_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/graphqlws"
)

// TestLegacyConnection: connection_init is answered with connection_ack
// then ka, and ka every KeepAliveInterval (subscriptions-transport-ws
// PROTOCOL.md); a refused one with connection_error, then close.
func TestLegacyConnection(t *testing.T) {
	s := newServer(t, graphqlws.Options{KeepAliveInterval: 100 * time.Millisecond, InitTimeout: time.Second})

	c := dial(t, s, legacyWS)
	c.send("connection_init", "", map[string]any{})
	c.expect("connection_ack", "")
	waitFor(t, 5*time.Second, "no ka right after the ack and then every 100 ms", func() bool { return c.kas.Load() >= 3 })

	const badPayload = "connection_init payload must be an object or null"
	for _, tt := range []struct {
		name    string
		payload any
		code    int
		message string // of connection_error
		reason  string // of the close frame
	}{
		{"refused", map[string]any{"authorization": "refuse"}, 4401, "Unauthorized", "Unauthorized"},
		{"refused with a reason", map[string]any{"authorization": "reason"}, 4401, "Unauthorized: invalid_token", "Unauthorized: invalid_token"},
		{"refused with 1013", map[string]any{"authorization": "later"}, 1013, "signing keys not loaded yet", "signing keys not loaded yet"},
		{"payload a string", "Bearer x", 4400, badPayload, "Invalid message received: " + badPayload},
		{"payload a number", 42, 4400, badPayload, "Invalid message received: " + badPayload},
		{"payload a list", []int{1, 2}, 4400, badPayload, "Invalid message received: " + badPayload},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s, legacyWS)
			c.send("connection_init", "", tt.payload)
			m := c.expect("connection_error", "")
			var p struct{ Message string }
			if err := json.Unmarshal(m.Payload, &p); err != nil || p.Message != tt.message {
				t.Errorf("connection_error payload %s; want message %q", m.Payload, tt.message)
			}
			if strings.Contains(string(m.Payload), "secret detail") || strings.Contains(string(m.Payload), "Bearer") {
				t.Errorf("connection_error leaks: %s", m.Payload)
			}
			c.expectClose(tt.code, tt.reason)
		})
	}

	t.Run("start right after connection_init, before the ack", func(t *testing.T) {
		// What subscriptions-transport-ws clients do: the start waits for
		// the InitFunc (200 ms here) and then runs.
		c := dial(t, s, legacyWS)
		c.send("connection_init", "", map[string]any{"authorization": "pause"})
		c.subscribe("q", query)
		c.subscribe("s", subscription)
		c.expect("connection_ack", "")
		c.expect("data", "q")
		c.expect("complete", "q")
		c.warmUp(t, s, "s")
	})
	t.Run("start before connection_init", func(t *testing.T) {
		c := dial(t, s, legacyWS)
		c.subscribe("1", query)
		c.expect("connection_error", "")
		c.expectClose(4401, "Unauthorized")
	})
	t.Run("second connection_init", func(t *testing.T) {
		c := dial(t, s, legacyWS)
		c.init("")
		c.send("connection_init", "", nil)
		c.expect("connection_error", "")
		c.expectClose(4429, "Too many initialisation requests")
	})
	t.Run("no connection_init", func(t *testing.T) {
		c := dial(t, s, legacyWS)
		c.expectClose(4408, "Connection initialisation timeout")
	})
	t.Run("connection_terminate", func(t *testing.T) {
		c := dial(t, s, legacyWS)
		c.init("")
		c.send("connection_terminate", "", nil)
		c.expectClose(1000, "Normal Closure")
	})
}

// TestLegacyMalformed: a message that cannot be parsed gets
// connection_error with a fixed text and is ignored, without disconnecting
// (its PROTOCOL.md); a start whose id is usable gets an error for it.
func TestLegacyMalformed(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	c := dial(t, s, legacyWS)
	c.init("")
	for _, tt := range []struct{ in, text string }{
		{`{"type":"start"`, "message is not valid JSON"},
		{`ECHO`, "message is not valid JSON"},
		{`[1]`, "message is not a JSON object"},
		{`{"id":"1"}`, "message has no type string"},
		{`{"type":"subscribe","id":"1","payload":{"query":"{a}"}}`, "message type is not a client message of this subprotocol"},
		{`{"type":"ping"}`, "message type is not a client message of this subprotocol"},
		{`{"type":"start","payload":{"query":"{a}"}}`, "message id must be a non-empty string"},
		{`{"type":"stop"}`, "message id must be a non-empty string"},
	} {
		c.sendRaw(tt.in)
		m := c.expect("connection_error", "")
		if string(m.Payload) != `{"message":"`+tt.text+`"}` {
			t.Errorf("%s: connection_error %s; want %q", tt.in, m.Payload, tt.text)
		}
	}
	for _, tt := range []struct{ in, text string }{
		{`{"type":"start","id":"op","payload":"{a}"}`, "operation payload must be an object"},
		{`{"type":"start","id":"op","payload":{"query":["{a}"]}}`, "operation query must be a string"},
		{`{"type":"start","id":"op","payload":{"query":"{a}","variables":1}}`, "operation variables must be an object or null"},
	} {
		c.sendRaw(tt.in)
		msg, code := errorOf(t, c.expect("error", "op"))
		if msg != tt.text || code != graphqlws.CodeBadRequest {
			t.Errorf("%s: error %q %q; want %q", tt.in, msg, code, tt.text)
		}
	}
	// Still connected and working.
	c.subscribe("q", query)
	c.expect("data", "q")
	c.expect("complete", "q")
}

// TestLegacyOperations: data then complete for a query; error for an
// operation refused before execution; stop ends a subscription and is
// answered with complete; a start with a live id replaces that
// operation; a resolver's AddSubscriptionError ends it with error.
func TestLegacyOperations(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	c := dial(t, s, legacyWS)
	c.init("reader")

	c.subscribe("q", query)
	if m := c.expect("data", "q"); !strings.Contains(string(m.Payload), `"publicMessage"`) {
		t.Errorf("data %s", m.Payload)
	}
	c.expect("complete", "q")

	c.subscribe("bad", `{ nope }`)
	if _, code := errorOf(t, c.expect("error", "bad")); code != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("code %q", code)
	}

	c.subscribe("s", subscription)
	s.waitSubscribers(t, 1)
	s.send(t, "hello")
	c.expect("data", "s")
	c.send("stop", "s", nil)
	c.expect("complete", "s")
	s.waitSubscribers(t, 0)
	s.send(t, "after stop")
	c.quiet()
	c.send("stop", "unknown", nil) // ignored
	c.quiet()

	// Replacement: one subscription per id, the newer one.
	c.subscribe("r", subscription)
	s.waitSubscribers(t, 1)
	c.subscribe("r", subscription)
	c.warmUp(t, s, "r")
	waitFor(t, 5*time.Second, "the replaced subscription still runs", func() bool { return s.Hub.Subscribers() == 1 && s.Transport.Stats().Operations == 1 })
	s.send(t, "once")
	if m := c.expect("data", "r"); !strings.Contains(string(m.Payload), "once") {
		t.Fatalf("data %s", m.Payload)
	}
	c.quiet()
	c.send("stop", "r", nil)
	c.expect("complete", "r")

	c.subscribe("f", failingSubscription)
	s.waitSubscribers(t, 1)
	s.send(t, "first")
	c.expect("data", "f")
	if _, code := errorOf(t, c.expect("error", "f")); code != "ENDED" {
		t.Errorf("code %q", code)
	}
	c.quiet()
}
