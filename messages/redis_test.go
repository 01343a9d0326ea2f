package messages_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgql/server/messages"
	"github.com/authgql/server/messages/redistest"
)

// TestRedisTwoInstancesOneOrder: two buses (two instances, two clients)
// sharing one redis-server; senders on both race; every subscriber on
// either receives every message, in one order, which is the stream's.
func TestRedisTwoInstancesOneOrder(t *testing.T) {
	srv := redistest.Start(t)
	o := messages.RedisOptions{Stream: "messages", Hub: messages.HubOptions{Buffer: 200}}
	a, b := newRedisBus(t, srv, o), newRedisBus(t, srv, o)
	subs := append(subscribe(t, a, 2), subscribe(t, b, 2)...)
	const perSender = 25
	var wg sync.WaitGroup
	for i, bus := range []messages.Bus{a, b, a, b} {
		wg.Go(func() {
			for j := range perSender {
				if _, err := bus.Send(context.Background(), "u", fmt.Sprint(i, "-", j)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var first []string
	for i, s := range subs {
		var got []string
		for _, m := range receive(t, s, 4*perSender) {
			got = append(got, m.ID)
		}
		if i == 0 {
			first = got
		} else if !slices.Equal(got, first) {
			t.Fatalf("subscriber %d saw another order:\n%v\nwant\n%v", i, got, first)
		}
	}
	entries, err := srv.Client().XRange(context.Background(), "messages", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var stream []string
	for _, e := range entries {
		stream = append(stream, e.ID)
	}
	if !slices.Equal(first, stream) {
		t.Errorf("delivery order is not the stream's:\n%v\nstream:\n%v", first, stream)
	}
}

// TestRedisMessageIDIsStreamEntryID: Send returns the entry's ID, and the
// entry holds the message.
func TestRedisMessageIDIsStreamEntryID(t *testing.T) {
	srv := redistest.Start(t)
	bus := newRedisBus(t, srv, messages.RedisOptions{Stream: "messages"})
	m, err := bus.Send(context.Background(), "auth0|alice", "hello")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := srv.Client().XRange(context.Background(), "messages", m.ID, m.ID).Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("XRANGE %s: %v, %v", m.ID, entries, err)
	}
	if v := entries[0].Values; v["text"] != "hello" || v["author"] != "auth0|alice" || v["sent_at"] != m.SentAt.Format(time.RFC3339Nano) {
		t.Errorf("entry %s = %v; want the message %+v", m.ID, v, m)
	}
}

// TestRedisReplaysAfterConnectionKill: the instance's connections are
// killed (CLIENT KILL) again and again while another instance sends; its
// subscriber still receives every message once, in order.
func TestRedisReplaysAfterConnectionKill(t *testing.T) {
	srv := redistest.Start(t)
	obs := &recorder{}
	a := newRedisBus(t, srv, messages.RedisOptions{Stream: "messages", ClientName: "instance-a",
		Hub: messages.HubOptions{Buffer: 500, Observer: obs}})
	b := newRedisBus(t, srv, messages.RedisOptions{Stream: "messages", ClientName: "instance-b"})
	sub := subscribe(t, a, 1)[0]
	var want []string
	for round := range 5 {
		eventually(t, "instance-a reconnects", a.Connected)
		if n := srv.KillClients("instance-a"); n == 0 {
			t.Fatalf("round %d: no connection of instance-a to kill", round)
		}
		for i := range 10 {
			want = append(want, send(t, b, fmt.Sprint(round, "-", i)).ID)
		}
	}
	var got []string
	for _, m := range receive(t, sub, len(want)) {
		got = append(got, m.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("received\n%v\nwant\n%v", got, want)
	}
	if obs.errors(messages.OpRead) == 0 {
		t.Errorf("the reader never noticed its connection killed; the test proved nothing")
	}
	select {
	case m, ok := <-sub.C:
		t.Errorf("unexpected extra delivery %+v (open %v)", m, ok)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestRedisReplaysWhileLockedOut: the instance is kept away from Redis
// (its user disabled, its connections killed) while another instance
// sends; once let back in it delivers everything sent meanwhile, in order.
func TestRedisReplaysWhileLockedOut(t *testing.T) {
	srv := redistest.Start(t)
	url := addUser(t, srv, "instance-a")
	a := newRedisBus(t, srv, messages.RedisOptions{URL: url, Stream: "messages", ClientName: "instance-a",
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Hub: messages.HubOptions{Buffer: 8}})
	b := newRedisBus(t, srv, messages.RedisOptions{Stream: "messages"})
	sub := subscribe(t, a, 1)[0]
	before := send(t, b, "before")
	if got := receive(t, sub, 1)[0].ID; got != before.ID {
		t.Fatalf("got %s; want %s", got, before.ID)
	}

	lockOut(t, srv, "instance-a", a)
	// More than the subscriber's queue: the catch-up burst must wait for
	// it (SlowSubscriberWait) rather than end it.
	var want []string
	for i := range 40 {
		want = append(want, send(t, b, fmt.Sprint("while away ", i)).ID)
	}
	if _, err := a.Send(context.Background(), "u", "from a while away"); code(err) != messages.CodeUnavailable {
		t.Errorf("Send on the locked-out instance: %v; want SERVICE_UNAVAILABLE", err)
	}
	letIn(t, srv, "instance-a")

	var got []string
	for _, m := range receive(t, sub, len(want)) {
		got = append(got, m.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the disconnect received\n%v\nwant\n%v", got, want)
	}
	eventually(t, "Connected() again", a.Connected)
}

// TestRedisOutageAndRestart: redis-server stops (its AOF keeps the stream)
// and starts again. Meanwhile Send fails at once with SERVICE_UNAVAILABLE,
// subscriptions stay open, and once it is back the instances reconnect by
// themselves and subscribers receive, in order, everything sent since.
func TestRedisOutageAndRestart(t *testing.T) {
	srv := redistest.Start(t)
	obs := &recorder{}
	o := messages.RedisOptions{Stream: "messages", MinBackoff: 300 * time.Millisecond, MaxBackoff: time.Second}
	oa := o
	oa.Hub.Observer = obs
	a, b := newRedisBus(t, srv, oa), newRedisBus(t, srv, o)
	subA, subB := subscribe(t, a, 1)[0], subscribe(t, b, 1)[0]
	var want []string
	for i := range 5 {
		want = append(want, send(t, a, fmt.Sprint("before ", i)).ID)
	}

	srv.Stop()
	start := time.Now()
	_, err := a.Send(context.Background(), "u", "while down")
	if code(err) != messages.CodeUnavailable {
		t.Fatalf("Send while Redis is down: %v; want SERVICE_UNAVAILABLE", err)
	}
	if d := time.Since(start); d > messages.DefaultSendTimeout+3*time.Second {
		t.Errorf("Send while Redis is down took %s", d)
	}
	if obs.errors(messages.OpSend) == 0 {
		t.Errorf("the observer was not told of the failed send")
	}
	eventually(t, "Connected() false while Redis is down", func() bool { return !a.Connected() && !b.Connected() })

	srv.Restart()
	// Sent through b as soon as Redis answers, while a may still be
	// waiting to reconnect.
	for i := range 10 {
		want = append(want, sendEventually(t, b, fmt.Sprint("after ", i)).ID)
	}
	want = append(want, sendEventually(t, a, "from a again").ID)
	for name, s := range map[string]*messages.Subscription{"a": subA, "b": subB} {
		var got []string
		for _, m := range receive(t, s, len(want)) {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("subscriber on %s received\n%v\nwant\n%v", name, got, want)
		}
	}
	// A reader may still meet one connection that died with the server
	// (go-redis finds it dead on use) and go round once more: recovery is
	// by itself, not necessarily on the first try.
	eventually(t, "Connected() after recovery", func() bool { return a.Connected() && b.Connected() })
}

// TestRedisSendTimesOutWhenRedisHangs: a server that accepts but never
// answers (paused) makes Send fail with SERVICE_UNAVAILABLE after
// SendTimeout, not hang, and the error says the message may still be
// delivered: the XADD went out on a pooled connection and may run once
// the server resumes. Once it answers again Send works, and what the
// subscriber receives next is that send, after the unconfirmed one if
// Redis ran it.
func TestRedisSendTimesOutWhenRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	bus := newRedisBus(t, srv, messages.RedisOptions{SendTimeout: 300 * time.Millisecond})
	sub := subscribe(t, bus, 1)[0]
	// A send first, so that the next one goes out at once on a pooled
	// connection instead of waiting to connect.
	before := send(t, bus, "before")
	if got := receive(t, sub, 1)[0]; got.ID != before.ID {
		t.Fatalf("received %s; want %s", got.ID, before.ID)
	}
	srv.Pause()
	start := time.Now()
	_, err := bus.Send(context.Background(), "u", "into the void")
	d := time.Since(start)
	srv.Resume()
	if code(err) != messages.CodeUnavailable {
		t.Fatalf("Send to a hung Redis: %v; want SERVICE_UNAVAILABLE", err)
	}
	if msg := clientMessage(err); !strings.Contains(msg, "may still be delivered") {
		t.Errorf("Send to a hung Redis: %q; want it to say the message may still be delivered", msg)
	}
	if d > 5*time.Second {
		t.Errorf("Send to a hung Redis took %s; SendTimeout is 300ms", d)
	}
	m := sendEventually(t, bus, "after")
	got := receive(t, sub, 1)[0]
	if got.Text == "into the void" { // delivered after all, and first
		got = receive(t, sub, 1)[0]
	}
	if got.ID != m.ID {
		t.Errorf("received %s %q; want %s", got.ID, got.Text, m.ID)
	}
}

// TestRedisSendRefusedSaysNothingWasSent: when no connection to Redis can
// be made (nothing listens), Send fails with SERVICE_UNAVAILABLE whose
// message says to try again, not that the message may still be
// delivered: the XADD never left the process.
func TestRedisSendRefusedSaysNothingWasSent(t *testing.T) {
	srv := redistest.Start(t)
	bus := newRedisBus(t, srv, messages.RedisOptions{SendTimeout: time.Second})
	srv.Stop()
	// Before any send, so that no pooled connection to the stopped
	// server is left for Send to write on.
	_, err := bus.Send(context.Background(), "u", "nowhere")
	if code(err) != messages.CodeUnavailable {
		t.Fatalf("Send with nothing listening: %v; want SERVICE_UNAVAILABLE", err)
	}
	if msg := clientMessage(err); strings.Contains(msg, "may still be delivered") || !strings.Contains(msg, "try again") {
		t.Errorf("Send with nothing listening: %q; want it to say to try again", msg)
	}
}

// clientMessage is the text of err that a client sees ("" if err is not
// a *messages.Error).
func clientMessage(err error) string {
	var msgErr *messages.Error
	if !errors.As(err, &msgErr) {
		return ""
	}
	return msgErr.Message
}

// TestRedisGapEndsWithMessagesLost: while an instance is away, entries
// after the last one it delivered disappear: trimmed by StreamMaxLen, or
// the stream deleted and written anew (as after a Redis restart without
// persistence). It cannot replay the gap, so it ends its subscriptions
// with MESSAGES_LOST instead of skipping silently; new subscriptions then
// work.
func TestRedisGapEndsWithMessagesLost(t *testing.T) {
	tests := []struct {
		name      string
		whileAway func(t *testing.T, srv *redistest.Server, b messages.Bus)
	}{
		{"trimmed", func(t *testing.T, srv *redistest.Server, b messages.Bus) {
			for i := range 30 {
				send(t, b, fmt.Sprint("while away ", i))
			}
			if n, _ := srv.Client().XLen(context.Background(), "messages").Result(); n >= 30 {
				t.Fatalf("the stream holds %d entries; StreamMaxLen 5 did not trim it", n)
			}
		}},
		{"deleted and rewritten", func(t *testing.T, srv *redistest.Server, b messages.Bus) {
			if err := srv.Client().Del(context.Background(), "messages").Err(); err != nil {
				t.Fatal(err)
			}
			send(t, b, "into a new stream")
		}},
		{"deleted", func(t *testing.T, srv *redistest.Server, b messages.Bus) {
			if err := srv.Client().Del(context.Background(), "messages").Err(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Small stream nodes, so that approximate trimming (MAXLEN ~) trims.
			srv := redistest.Start(t, "--stream-node-max-entries", "2")
			url := addUser(t, srv, "instance-a")
			a := newRedisBus(t, srv, messages.RedisOptions{URL: url, Stream: "messages", ClientName: "instance-a",
				MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
			b := newRedisBus(t, srv, messages.RedisOptions{Stream: "messages", StreamMaxLen: 5})
			sub := subscribe(t, a, 1)[0]
			first := send(t, b, "first")
			if got := receive(t, sub, 1)[0].ID; got != first.ID {
				t.Fatalf("got %s; want %s", got, first.ID)
			}

			lockOut(t, srv, "instance-a", a)
			tt.whileAway(t, srv, b)
			letIn(t, srv, "instance-a")

			select {
			case m, ok := <-sub.C:
				if ok {
					t.Fatalf("received %+v across a gap; want the subscription ended", m)
				}
			case <-time.After(waitFor):
				t.Fatalf("subscription not ended within %s", waitFor)
			}
			if code(sub.Err()) != messages.CodeMessagesLost {
				t.Fatalf("Err() = %v; want MESSAGES_LOST", sub.Err())
			}

			again := subscribe(t, a, 1)[0]
			m := send(t, b, "after")
			if got := receive(t, again, 1)[0].ID; got != m.ID {
				t.Errorf("new subscription got %s; want %s", got, m.ID)
			}
		})
	}
}

// TestRedisOptionsValidate: every problem is reported at once, clearly, and
// never with the URL's password.
func TestRedisOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    messages.RedisOptions
		want []string // each a part of the error
	}{
		{"no URL", messages.RedisOptions{}, []string{"Redis URL is required"}},
		{"scheme", messages.RedisOptions{URL: "http://:hunter2@localhost"}, []string{`redis:// or rediss://, not "http:"`}},
		{"unix", messages.RedisOptions{URL: "unix:///run/redis.sock"}, []string{"redis:// or rediss://", "must name a host"}},
		{"no host", messages.RedisOptions{URL: "redis://"}, []string{"must name a host"}},
		{"bad port", messages.RedisOptions{URL: "redis://:hunter2@localhost:99999"}, []string{`port must be 1 to 65535, not "99999"`}},
		{"not a port", messages.RedisOptions{URL: "redis://:hunter2@localhost:six"}, []string{"malformed"}},
		{"query", messages.RedisOptions{URL: "redis://localhost?dial_timeout=1s"}, []string{"must not have query parameters"}},
		{"database", messages.RedisOptions{URL: "rediss://:hunter2@localhost/zero"}, []string{`database number`, `"/zero"`}},
		{"everything wrong", messages.RedisOptions{
			URL: "redis://localhost", StreamMaxLen: -1, DialTimeout: -1, ReadTimeout: -1, WriteTimeout: -1,
			SendTimeout: -1, SendRetries: -1, ReadBlock: time.Microsecond, ReadBatch: -1, SlowSubscriberWait: -1,
			MinBackoff: 10 * time.Second, MaxBackoff: time.Second, PoolSize: 1, Hub: messages.HubOptions{Buffer: -1},
		}, []string{
			"StreamMaxLen must not be negative", "DialTimeout", "ReadTimeout", "WriteTimeout", "SendTimeout",
			"SendRetries", "ReadBlock must be at least 1ms", "ReadBatch", "SlowSubscriberWait",
			"MinBackoff (10s) must not exceed MaxBackoff (1s)", "PoolSize must be at least 2", "Buffer must not be negative",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q; want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate() = %q repeats the password", err)
			}
			if _, err := messages.NewRedisBus(tt.o); err == nil {
				t.Errorf("NewRedisBus accepted what Validate refused")
			}
		})
	}
	for _, url := range []string{"redis://localhost", "rediss://user:pw@redis.example:6380/2", "redis://[::1]:6379/0", "redis://:pw@10.0.0.1"} {
		if err := (messages.RedisOptions{URL: url}).Validate(); err != nil {
			t.Errorf("Validate(%s) = %v; want nil", url, err)
		}
	}
}

// sendEventually sends through a bus that is recovering: it retries while
// Send answers SERVICE_UNAVAILABLE, within waitFor.
func sendEventually(t *testing.T, bus messages.Bus, text string) messages.Message {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		m, err := bus.Send(context.Background(), "u", text)
		if err == nil {
			return m
		}
		if code(err) != messages.CodeUnavailable || time.Now().After(deadline) {
			t.Fatalf("Send(%q): %v", text, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addUser creates a Redis user (ACL) named name and returns a URL that
// logs in as it; lockOut and letIn turn it off and on.
func addUser(t *testing.T, srv *redistest.Server, name string) string {
	t.Helper()
	if err := srv.Client().Do(context.Background(), "ACL", "SETUSER", name, "on", ">secret", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	return "redis://" + name + ":secret@" + srv.Addr
}

// lockOut disables the user name, kills its connections and waits until
// bus has noticed, so that what is sent next is sent while it is away.
func lockOut(t *testing.T, srv *redistest.Server, name string, bus *messages.RedisBus) {
	t.Helper()
	if err := srv.Client().Do(context.Background(), "ACL", "SETUSER", name, "off").Err(); err != nil {
		t.Fatalf("ACL SETUSER off: %v", err)
	}
	if n := srv.KillClients(name); n == 0 {
		t.Fatalf("no connection named %s to kill", name)
	}
	eventually(t, "Connected() false after the kill", func() bool { return !bus.Connected() })
}

func letIn(t *testing.T, srv *redistest.Server, name string) {
	t.Helper()
	if err := srv.Client().Do(context.Background(), "ACL", "SETUSER", name, "on").Err(); err != nil {
		t.Fatalf("ACL SETUSER on: %v", err)
	}
}
