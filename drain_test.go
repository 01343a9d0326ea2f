package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authgql/server/auth/authtest"
)

// TestGracefulDrain follows the shutdown sequence over real sockets
// (SPEC.md, "Operating several instances"): when run's context ends (what
// SIGTERM does), /readyz answers 503 at once; for SHUTDOWN_DRAIN_DELAY the
// server still accepts and serves new requests, and subscriptions still
// receive; then it stops accepting, lets a request in flight finish while
// subscriptions stay open, then closes them with 1001 "server shutting
// down" on both subprotocols; run returns nil.
func TestGracefulDrain(t *testing.T) {
	// Long enough that the checks made during it finish in time on a
	// loaded machine (they take milliseconds on an idle one).
	const drain = 6 * time.Second
	is := authtest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts, done := startRun(t, ctx, testEnv(is, map[string]string{"SHUTDOWN_DRAIN_DELAY": drain.String()}))
	ts.Issuer = is
	ts.waitReady(t)
	subs := []subscriber{subscribe(t, ts, "graphql-transport-ws", false), subscribe(t, ts, "graphql-ws", true)}
	waitLive(t, ts, subs...)

	// A request in flight: its headers and half its body are sent.
	u, _ := url.Parse(ts.URL)
	slow, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	req := rawPost(u.Host, "", `{"query":"{ publicMessage { text } }"}`)
	split := len(req) - 10
	if _, err := io.WriteString(slow, req[:split]); err != nil {
		t.Fatal(err)
	}

	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	get := func(path string) (int, error) {
		resp, err := fresh.Get(ts.URL + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	stopped := time.Now()
	cancel()
	for {
		status, err := get("readyz")
		if err != nil {
			t.Fatalf("/readyz during the drain: %v", err)
		}
		if status == http.StatusServiceUnavailable {
			break
		}
		if time.Since(stopped) > drain {
			t.Fatalf("/readyz still %d after the drain delay", status)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Still serving, on new connections, within the delay.
	if status, err := get("api/public"); err != nil || status != http.StatusOK {
		t.Fatalf("a request during the drain delay: %d %v", status, err)
	}
	sendMessage(t, ts, "during the drain")
	for _, s := range subs {
		if got := s.receive(t, 1); got[0].Text != "during the drain" {
			t.Fatalf("%s received %+v during the drain", s.name, got)
		}
	}
	if elapsed := time.Since(stopped); elapsed >= drain {
		t.Fatalf("the checks above took %s, longer than the drain delay: the machine is too slow for this test", elapsed)
	}

	// After the delay, the listener closes.
	deadline := time.Now().Add(drain + 10*time.Second)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections long after the drain delay")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if time.Since(stopped) < drain {
		t.Fatalf("stopped accepting after %s, before the drain delay (%s)", time.Since(stopped), drain)
	}
	// Requests in flight come before WebSockets: the subscriptions are
	// still open while the slow request is.
	for _, s := range subs {
		if m, err := s.next(t, 200*time.Millisecond); err != errNoMessage {
			t.Fatalf("%s: %+v %v while a request was still in flight; want the subscription open", s.name, m, err)
		}
	}
	if _, err := io.WriteString(slow, req[split:]); err != nil {
		t.Fatalf("finishing the request in flight: %v", err)
	}
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatalf("the request in flight got no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "publicMessage") {
		t.Fatalf("the request in flight: %d %s", resp.StatusCode, body)
	}

	// The close frame is the first thing they get: a complete before it
	// would tell a graphql-ws client not to subscribe again.
	for _, s := range subs {
		m, err := s.next(t, 10*time.Second)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
			t.Errorf("%s: got %+v %v; want close 1001 \"server shutting down\"", s.name, m, err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v; want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
	}
}
