package main

// Several instances sharing one real redis-server (Debian's, through
// messages/redistest): SPEC.md, "Operating several instances".

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/messages/redistest"
)

// subscriber is a graphql-transport-ws (or graphql-ws) client with a live
// messageSent subscription on one instance.
type subscriber struct {
	*wsClient
	name string
}

func subscribe(t *testing.T, ts *testServer, name string, legacy bool) subscriber {
	t.Helper()
	c, _, err := dialWS(t, ts, legacy, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ack, err := c.init(t, map[string]any{"authorization": bearer(ts.Issuer.Token(t, authtest.Scope("read:messages")))}); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("%s: init: %+v %v", name, ack, err)
	}
	c.subscribe(t, "s", subscriptionQuery)
	return subscriber{c, name}
}

// sent is one messageSent event as a subscriber received it.
type sent struct{ ID, Text string }

// receive reads n messageSent events, failing on anything else.
func (s subscriber) receive(t *testing.T, n int) []sent {
	t.Helper()
	var out []sent
	for len(out) < n {
		m, err := s.next(t, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: after %d of %d messages: %v", s.name, len(out), n, err)
		}
		var p struct {
			Data struct{ MessageSent sent }
		}
		if (m.Type != "next" && m.Type != "data") || json.Unmarshal(m.Payload, &p) != nil || p.Data.MessageSent.ID == "" {
			t.Fatalf("%s: got %s %s; want a messageSent event", s.name, m.Type, m.Payload)
		}
		out = append(out, p.Data.MessageSent)
	}
	return out
}

// warmUp sends through ts until every subscriber has received one
// message: from then on their subscriptions are registered (a
// subscription receives what is sent after it starts). It reads the
// warm-up messages away.
func warmUp(t *testing.T, ts *testServer, subs []subscriber) {
	t.Helper()
	pending := slices.Clone(subs)
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; len(pending) > 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions not live after 15 s: %d of %d", len(subs)-len(pending), len(subs))
		}
		sendMessage(t, ts, fmt.Sprintf("warm-up %d", i))
		pending = slices.DeleteFunc(pending, func(s subscriber) bool {
			_, err := s.next(t, 200*time.Millisecond)
			return err == nil
		})
	}
	// Drain the other warm-up messages: everyone got all of them after
	// the last one that someone was still waiting for.
	for _, s := range subs {
		for {
			m, err := s.next(t, 500*time.Millisecond)
			if err != nil {
				break
			}
			if !strings.Contains(string(m.Payload), "warm-up") {
				t.Fatalf("%s: %s during warm-up", s.name, m.Payload)
			}
		}
	}
}

// TestInstancesShareMessages: two instances (run, in process) sharing one
// real redis-server; subscribers on each, on both subprotocols, receive
// every message sent through either instance, all in the same order,
// with the same IDs.
func TestInstancesShareMessages(t *testing.T) {
	rs := redistest.Start(t)
	ins := startInstances(t, 2, map[string]string{"REDIS_URL": rs.URL})
	var subs []subscriber
	for i, ts := range ins {
		for _, legacy := range []bool{false, true} {
			subs = append(subs, subscribe(t, ts, fmt.Sprintf("instance %d legacy=%v", i, legacy), legacy))
		}
	}
	warmUp(t, ins[0], subs)

	const n = 20
	var want []string
	for i := range n {
		text := fmt.Sprintf("message %d", i)
		sendMessage(t, ins[i%2], text) // alternately through each instance
		want = append(want, text)
	}
	var first []sent
	for _, s := range subs {
		got := s.receive(t, n)
		var texts []string
		for _, m := range got {
			texts = append(texts, m.Text)
		}
		if !slices.Equal(texts, want) {
			t.Errorf("%s received %v;\nwant %v", s.name, texts, want)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("%s received %v;\n%s received %v", s.name, got, subs[0].name, first)
		}
	}
}

// TestReadinessIgnoresRedis: readiness does not follow Redis (health.go
// says why). With Redis stopped, /readyz stays 200 and says Redis is
// unreachable, sendMessage fails at once with SERVICE_UNAVAILABLE, and
// everything else is served; once Redis is back, live subscriptions
// receive what is sent again.
func TestReadinessIgnoresRedis(t *testing.T) {
	rs := redistest.Start(t)
	ts := startInstances(t, 1, map[string]string{"REDIS_URL": rs.URL, "REDIS_SEND_TIMEOUT": "1s"})[0]
	sub := subscribe(t, ts, "subscriber", false)
	warmUp(t, ts, []subscriber{sub})
	readyz := func() (int, map[string]any) {
		r := do(t, http.MethodGet, ts.URL+"readyz", "", nil)
		return r.Status, r.json(t)
	}
	if status, body := readyz(); status != http.StatusOK || body["redis"] != "connected" {
		t.Fatalf("/readyz with Redis up = %d %v", status, body)
	}

	rs.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, body := readyz()
		if status != http.StatusOK {
			t.Fatalf("/readyz with Redis down = %d %v; want 200", status, body)
		}
		if strings.HasPrefix(fmt.Sprint(body["redis"]), "unreachable") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz does not report Redis unreachable after 15 s: %v", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	body := sendMessage(t, ts, "while Redis is down")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("sendMessage took %s with Redis down; want a fast failure", took)
	}
	if !strings.Contains(fmt.Sprint(body["errors"]), "SERVICE_UNAVAILABLE") {
		t.Errorf("sendMessage with Redis down = %v; want SERVICE_UNAVAILABLE", body)
	}
	checkREST(t, do(t, http.MethodGet, ts.URL+"api/public", "", nil), http.StatusOK, map[string]string{"message": messages.Public})

	rs.Restart()
	deadline = time.Now().Add(20 * time.Second)
	for {
		if _, body := readyz(); body["redis"] == "connected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz does not report Redis connected 20 s after its restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	sendMessage(t, ts, "after Redis is back")
	if got := sub.receive(t, 1); got[0].Text != "after Redis is back" {
		t.Errorf("subscription after Redis came back received %+v", got)
	}
}
