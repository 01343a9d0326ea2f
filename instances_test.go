package main

// Several instances sharing one real redis-server (Debian's, through
// messages/redistest): SPEC.md, "Operating several instances".

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/messages"
	"github.com/authgql/server/messages/redistest"
)

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
	waitLive(t, ins[0], subs...)

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

// TestSubscriptionsMissNothingWhenRedisDrops: SPEC.md, "a subscriber whose
// instance briefly loses Redis misses no message once it is back", through
// the server. The readers' Redis connections (those blocked in XREAD) are
// killed again and again while messages are sent through the other
// instance; the subscribers on both subprotocols still receive every
// message once, in order.
func TestSubscriptionsMissNothingWhenRedisDrops(t *testing.T) {
	rs := redistest.Start(t)
	ins := startInstances(t, 2, map[string]string{"REDIS_URL": rs.URL})
	subs := []subscriber{subscribe(t, ins[1], "graphql-transport-ws", false), subscribe(t, ins[1], "graphql-ws", true)}
	waitLive(t, ins[0], subs...)
	var want []string
	for round := range 3 {
		deadline := time.Now().Add(10 * time.Second)
		for rs.KillClientsWhere("cmd", "xread") == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no reader connected to Redis to kill", round)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for i := range 5 {
			text := fmt.Sprintf("round %d, message %d", round, i)
			sendMessage(t, ins[0], text)
			want = append(want, text)
		}
	}
	for _, s := range subs {
		var got []string
		for _, m := range s.receive(t, len(want)) {
			got = append(got, m.Text)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s received\n%q\nwant\n%q", s.name, got, want)
		}
		if m, err := s.next(t, 300*time.Millisecond); err != errNoMessage {
			t.Errorf("%s: then %s, %v; want nothing more", s.name, wsString(m), err)
		}
	}
	if !strings.Contains(ins[1].Stderr.String(), "cannot read from Redis") {
		t.Errorf("the subscribers' instance never lost its reader's connection; the test proved nothing. stderr:\n%s", ins[1].Stderr)
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
	waitLive(t, ts, sub)
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
