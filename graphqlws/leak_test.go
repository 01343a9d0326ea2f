package graphqlws_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authgql/server/graphqlws"
	"github.com/authgql/server/messages"
)

// Tests here count the process's descriptors and goroutines: they must not
// run beside other tests (none in this package calls t.Parallel).

// TestEveryEndReleases (issue 11 item 1): every way a connection ends
// closes its socket, stops its goroutines and returns from Do. Proven by
// what the process holds, not by close frames: after many connections
// ending each way, the counter around Do (the server's connection cap) is
// back to zero, and so are the transport's live connections and
// operations, the hub's subscriptions, and, once the clients are closed
// too, the open descriptors and the goroutines.
func TestEveryEndReleases(t *testing.T) {
	// Timings short enough for a quick test, long enough for a loaded
	// machine to answer pings and send connection_init in time.
	s := newServer(t, graphqlws.Options{
		InitTimeout:       time.Second,
		KeepAliveInterval: 500 * time.Millisecond,
		PongTimeout:       time.Second,
		MaxMessageBytes:   4096,
	})
	type scenario struct {
		name  string
		proto string
		mute  bool // the client never reads: no pongs, no close handshake
		run   func(c *client)
	}
	var scenarios []scenario
	for _, proto := range []string{transportWS, legacyWS} {
		for _, payload := range []string{`"Bearer x"`, `42`, `[1,2]`} {
			scenarios = append(scenarios, scenario{"init payload " + payload, proto, false, func(c *client) {
				c.sendRaw(`{"type":"connection_init","payload":` + payload + `}`)
				c.expectClose(4400, "Invalid message received: connection_init payload must be an object or null", "connection_error")
			}})
			// The attacker of issue 11: sends it, then is gone.
			scenarios = append(scenarios, scenario{"init payload " + payload + ", client gone", proto, true, func(c *client) {
				c.sendRaw(`{"type":"connection_init","payload":` + payload + `}`)
				c.conn.CloseNow()
			}})
		}
		scenarios = append(scenarios,
			scenario{"refused init", proto, false, func(c *client) {
				c.send("connection_init", "", map[string]any{"authorization": "refuse"})
				c.expectClose(map[string]int{transportWS: 4403, legacyWS: 4401}[proto], map[string]string{transportWS: "Forbidden", legacyWS: "Unauthorized"}[proto], "connection_error")
			}},
			scenario{"init timeout", proto, false, func(c *client) {
				c.expectClose(4408, "Connection initialisation timeout")
			}},
			scenario{"Init never answers", proto, false, func(c *client) {
				c.send("connection_init", "", map[string]any{"authorization": "slow"})
				c.expectClose(4408, "Connection initialisation timeout")
			}},
			scenario{"operation before ack", proto, false, func(c *client) {
				c.subscribe("1", subscription)
				c.expectClose(4401, "Unauthorized", "connection_error")
			}},
			scenario{"message too large", proto, false, func(c *client) {
				c.init("reader")
				c.subscribe("1", subscription)
				c.sendRaw(fmt.Sprintf(`{"type":"connection_init","payload":{"x":"%0*d"}}`, 5000, 0))
				c.expectClose(1009, "message too large", "next", "data")
			}},
			scenario{"client vanishes mid-subscription", proto, false, func(c *client) {
				c.init("reader")
				c.subscribe("1", subscription)
				c.conn.CloseNow() // TCP close, no close frame
			}},
			scenario{"client stops reading and answering pings", proto, true, func(c *client) {
				c.send("connection_init", "", map[string]any{"authorization": "reader"})
				if proto == legacyWS { // it may start before the ack it cannot read
					c.subscribe("1", subscription)
				}
			}},
			scenario{"client closes normally", proto, false, func(c *client) {
				c.init("reader")
				c.subscribe("1", subscription)
				c.conn.Close(websocket.StatusNormalClosure, "")
			}},
			scenario{"second init", proto, false, func(c *client) {
				c.init("")
				c.send("connection_init", "", nil)
				c.expectClose(4429, "Too many initialisation requests", "connection_error")
			}},
		)
	}
	scenarios = append(scenarios,
		scenario{"invalid JSON", transportWS, false, func(c *client) {
			c.init("")
			c.sendRaw(`{"type":`)
			c.expectClose(4400, "Invalid message received: message is not valid JSON")
		}},
		scenario{"4409", transportWS, false, func(c *client) {
			c.init("reader")
			c.subscribe("1", subscription)
			c.subscribe("1", subscription)
			c.expectClose(4409, "Subscriber for 1 already exists")
		}},
		scenario{"connection_terminate", legacyWS, false, func(c *client) {
			c.init("reader")
			c.subscribe("1", subscription)
			c.send("connection_terminate", "", nil)
			c.expectClose(1000, "Normal Closure", "data")
		}},
	)

	fds, goroutines := openFDs(t), runtime.NumGoroutine()
	const rounds = 2
	var clients []*client
	for range rounds {
		for _, sc := range scenarios {
			c, err := dialErr(t, s.URL, sc.proto, sc.mute)
			if err != nil {
				t.Fatalf("%s %s: %v", sc.proto, sc.name, err)
			}
			sc.run(c)
			clients = append(clients, c)
		}
	}
	n := int64(rounds * len(scenarios))
	// A mute client never answers the close handshake: coder/websocket
	// waits 5 s for it, so allow for that and a loaded machine.
	waitFor(t, 30*time.Second, "connections still served", func() bool {
		return s.open.Load() == 0 && s.Transport.Stats() == graphqlws.Stats{} && s.Obs.closed.Load() == n
	})
	if got := s.Obs.opened.Load(); got != n {
		t.Errorf("observer saw %d connections opened; want %d", got, n)
	}
	if s.Obs.started.Load() != s.Obs.ended.Load() {
		t.Errorf("operations started %d, ended %d", s.Obs.started.Load(), s.Obs.ended.Load())
	}
	s.waitSubscribers(t, 0)
	for _, c := range clients {
		c.conn.CloseNow()
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("open descriptors %d; %d before %d connections", openFDs(t), fds, n), func() bool {
		return openFDs(t) <= fds+2
	})
	waitFor(t, 10*time.Second, fmt.Sprintf("goroutines %d; %d before", runtime.NumGoroutine(), goroutines), func() bool {
		return runtime.NumGoroutine() <= goroutines+2
	})
}

// TestBadInitUnderCap replays issue 11 item 1: with the connection cap at
// 5, 60 connections sending a connection_init payload that is not an
// object, on each subprotocol, are all served one after another (each
// releases its place), and while clients that never read keep their end
// open, the server has already closed its own: the process holds one
// descriptor per connection (the client's), not two.
func TestBadInitUnderCap(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	s.cap = 5
	payloads := []string{`"Bearer x"`, `42`, `[1,2]`}
	for _, proto := range []string{transportWS, legacyWS} {
		for i := range 60 {
			c, err := dialErr(t, s.URL, proto, false)
			if err != nil {
				t.Fatalf("%s connection %d refused (cap of 5 not released): %v", proto, i, err)
			}
			c.sendRaw(`{"type":"connection_init","payload":` + payloads[i%3] + `}`)
			c.expectClose(4400, "Invalid message received: connection_init payload must be an object or null", "connection_error")
		}
	}
	waitFor(t, 10*time.Second, "connections still counted", func() bool { return s.open.Load() == 0 })

	// Clients that send the bad payload and never read, never close.
	s.cap = 0
	fds, goroutines := openFDs(t), runtime.NumGoroutine()
	const n = 20
	var clients []*client
	for i := range n {
		c, err := dialErr(t, s.URL, []string{transportWS, legacyWS}[i%2], true)
		if err != nil {
			t.Fatal(err)
		}
		c.sendRaw(`{"type":"connection_init","payload":"Bearer x"}`)
		clients = append(clients, c)
	}
	// The server waits 5 s for each peer's close frame (coder/websocket's
	// close handshake), all at once, then lets go.
	waitFor(t, 20*time.Second, "server still holds connections of clients that do not read", func() bool {
		return s.open.Load() == 0 && s.Transport.Stats().Connections == 0
	})
	waitFor(t, 10*time.Second, fmt.Sprintf("open descriptors %d; want at most %d (%d before, +1 per live client)", openFDs(t), fds+n+2, fds), func() bool {
		return openFDs(t) <= fds+n+2
	})
	for _, c := range clients {
		c.conn.CloseNow()
	}
	waitFor(t, 10*time.Second, "descriptors after the clients closed", func() bool { return openFDs(t) <= fds+2 })
	waitFor(t, 10*time.Second, "goroutines after the clients closed", func() bool { return runtime.NumGoroutine() <= goroutines+2 })
}

// TestWriteTimeoutReleases: a client that subscribes and stops reading is
// dropped once a write has waited WriteTimeout (here the socket buffers
// fill with 50 KB events; pings are far apart so they cannot end it
// first), and everything it held is released.
func TestWriteTimeoutReleases(t *testing.T) {
	s := newServerWith(t, graphqlws.Options{WriteTimeout: 300 * time.Millisecond, KeepAliveInterval: time.Hour},
		serverConfig{hub: messages.HubOptions{MaxTextLength: 50_000, Buffer: 10_000}})
	goroutines := runtime.NumGoroutine()
	// graphql-ws: start may follow connection_init without waiting for
	// the ack, which this client cannot read.
	c, err := dialErr(t, s.URL, legacyWS, true)
	if err != nil {
		t.Fatal(err)
	}
	c.send("connection_init", "", map[string]any{"authorization": "reader"})
	c.subscribe("s", subscription)
	s.waitSubscribers(t, 1)
	text := strings.Repeat("x", 50_000)
	for i := 0; s.Transport.Stats().Connections == 1; i++ {
		if i == 2000 { // 100 MB: far more than any socket buffer
			t.Fatal("a client that does not read is still connected")
		}
		s.send(t, text)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, 10*time.Second, "connection still counted", func() bool { return s.open.Load() == 0 })
	if codes := s.Obs.closeCodes(); len(codes) != 1 || codes[0] != 1006 {
		t.Errorf("close codes %v; want [1006] (dropped, no close frame)", codes)
	}
	s.waitSubscribers(t, 0)
	c.conn.CloseNow()
	waitFor(t, 10*time.Second, "goroutines after the drop", func() bool { return runtime.NumGoroutine() <= goroutines+2 })
}

// TestShutdownReleases: Shutdown ends many live subscriptions on both
// subprotocols; it returns when every Do has, and the process is back to
// its descriptors and goroutines.
func TestShutdownReleases(t *testing.T) {
	s := newServer(t, graphqlws.Options{})
	fds, goroutines := openFDs(t), runtime.NumGoroutine()
	var clients []*client
	for i := range 30 {
		c := dial(t, s, []string{transportWS, legacyWS}[i%2])
		c.init("reader")
		c.subscribe("s", subscription)
		clients = append(clients, c)
	}
	s.waitSubscribers(t, 30)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Transport.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Transport.Stats(); st != (graphqlws.Stats{}) {
		t.Fatalf("after Shutdown: %+v", st)
	}
	waitFor(t, time.Second, "Do has not returned", func() bool { return s.open.Load() == 0 })
	for _, c := range clients {
		c.expectClose(1001, "server shutting down")
	}
	s.waitSubscribers(t, 0)
	waitFor(t, 10*time.Second, "descriptors after shutdown", func() bool { return openFDs(t) <= fds+2 })
	waitFor(t, 10*time.Second, "goroutines after shutdown", func() bool { return runtime.NumGoroutine() <= goroutines+2 })
	// New upgrades are refused while draining.
	if _, err := dialErr(t, s.URL, transportWS, false); err == nil {
		t.Error("upgrade accepted after Shutdown")
	}
}
