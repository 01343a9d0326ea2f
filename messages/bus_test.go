package messages_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/messages"
	"github.com/authgql/server/messages/redistest"
)

// waitFor bounds every wait in these tests: generous, for a loaded machine.
const waitFor = 15 * time.Second

// implementations are the buses the contract holds for. Each builds a new,
// empty bus with the given local limits, closed at the test's cleanup.
var implementations = []struct {
	name   string
	newBus func(t *testing.T, o messages.HubOptions) messages.Bus
}{
	{"hub", func(t *testing.T, o messages.HubOptions) messages.Bus {
		h := messages.NewHub(o)
		t.Cleanup(func() { _ = h.Close() })
		return h
	}},
	{"redis", func(t *testing.T, o messages.HubOptions) messages.Bus {
		return newRedisBus(t, redistest.Start(t), messages.RedisOptions{Hub: o})
	}},
}

// TestBusContract is what the GraphQL layer relies on, for every Bus.
func TestBusContract(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			t.Run("OneOrderForConcurrentSenders", func(t *testing.T) { testOneOrder(t, impl.newBus) })
			t.Run("FanOutToManySubscribers", func(t *testing.T) { testFanOut(t, impl.newBus) })
			t.Run("SlowSubscriberEnded", func(t *testing.T) { testSlowSubscriber(t, impl.newBus) })
			t.Run("MaxSubscribers", func(t *testing.T) { testMaxSubscribers(t, impl.newBus) })
			t.Run("TextValidation", func(t *testing.T) { testTextValidation(t, impl.newBus) })
			t.Run("Close", func(t *testing.T) { testClose(t, impl.newBus) })
			t.Run("Delete", func(t *testing.T) { testDelete(t, impl.newBus) })
			t.Run("SubscribeAndCloseWhileSending", func(t *testing.T) { testChurn(t, impl.newBus) })
		})
	}
}

type newBusFunc = func(t *testing.T, o messages.HubOptions) messages.Bus

// testOneOrder: senders race each other; every subscriber still receives
// every message once, all in one order, as Send returned them, and a
// message sent after another's Send returned comes after it.
func testOneOrder(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{Buffer: 200})
	subs := subscribe(t, bus, 3)
	const senders, each = 8, 10
	sent := make([][]messages.Message, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				m, err := bus.Send(context.Background(), fmt.Sprint("user", i), fmt.Sprint("m", i, "-", j))
				if err != nil {
					t.Error(err)
					return
				}
				sent[i] = append(sent[i], m)
			}
		})
	}
	wg.Wait()
	var first []messages.Message
	for i, s := range subs {
		got := receive(t, s, senders*each)
		if i == 0 {
			first = got
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("subscriber %d saw another order (-first +got):\n%s", i, diff)
		}
	}
	position := map[string]int{}
	for i, m := range first {
		if _, dup := position[m.ID]; dup {
			t.Fatalf("ID %s delivered twice", m.ID)
		}
		position[m.ID] = i
	}
	for i, ms := range sent {
		for j, m := range ms {
			k, ok := position[m.ID]
			if !ok {
				t.Fatalf("sent %+v, never delivered", m)
			}
			if diff := cmp.Diff(m, first[k]); diff != "" {
				t.Errorf("delivered message differs from what Send returned (-sent +delivered):\n%s", diff)
			}
			if j > 0 && k < position[ms[j-1].ID] {
				t.Errorf("sender %d: message %d delivered before message %d", i, j, j-1)
			}
		}
	}
}

// testFanOut: many subscribers each receive every message, in order, and
// the observer counts what happened.
func testFanOut(t *testing.T, newBus newBusFunc) {
	obs := &recorder{}
	bus := newBus(t, messages.HubOptions{Observer: obs})
	const n, msgs = 200, 20
	subs := subscribe(t, bus, n)
	if got := bus.Subscribers(); got != n {
		t.Fatalf("Subscribers() = %d; want %d", got, n)
	}
	var want []string
	for i := range msgs {
		want = append(want, send(t, bus, fmt.Sprint("m", i)).ID)
	}
	for i, s := range subs {
		var got []string
		for _, m := range receive(t, s, msgs) {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("subscriber %d got %v; want %v", i, got, want)
		}
	}
	for _, s := range subs {
		s.Close()
	}
	eventually(t, "observer counts", func() bool {
		p, d, live := obs.counts()
		return p == msgs && d == msgs*n && live == 0
	})
}

// testSlowSubscriber: a subscriber that stops reading is ended with
// SLOW_SUBSCRIBER once its queue is full, after exactly the queued
// messages; the others keep receiving.
func testSlowSubscriber(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{Buffer: 2})
	subs := subscribe(t, bus, 2)
	slow, fast := subs[0], subs[1]
	for i := range 5 {
		m := send(t, bus, fmt.Sprint("m", i))
		if got := receive(t, fast, 1); got[0].ID != m.ID {
			t.Fatalf("fast subscriber got %s; want %s", got[0].ID, m.ID)
		}
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != 2 || code(slow.Err()) != messages.CodeSlowSubscriber {
		t.Errorf("slow subscriber got %d messages, then %v; want 2, then SLOW_SUBSCRIBER", n, slow.Err())
	}
	if got := bus.Subscribers(); got != 1 {
		t.Errorf("Subscribers() = %d; want 1 after ending the slow one", got)
	}
}

// testMaxSubscribers: the limit refuses one more, and a closed
// subscription frees its place (Close being idempotent).
func testMaxSubscribers(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{MaxSubscribers: 2})
	subs := subscribe(t, bus, 2)
	if _, err := bus.Subscribe(); code(err) != messages.CodeTooManySubscribers {
		t.Fatalf("third Subscribe: %v; want TOO_MANY_SUBSCRIBERS", err)
	}
	subs[0].Close()
	subs[0].Close()
	if got := bus.Subscribers(); got != 1 {
		t.Errorf("Subscribers() = %d; want 1", got)
	}
	s, err := bus.Subscribe()
	if err != nil {
		t.Fatalf("Subscribe after a Close: %v", err)
	}
	s.Close()
}

// testTextValidation: refused texts get BAD_USER_INPUT and reach nobody.
func testTextValidation(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{MaxTextLength: 5})
	sub := subscribe(t, bus, 1)[0]
	for _, text := range []string{"", " \n\t", "\xff", "hello!", "héllo!"} {
		if _, err := bus.Send(context.Background(), "u", text); code(err) != messages.CodeBadInput {
			t.Errorf("Send(%q) = %v; want BAD_USER_INPUT", text, err)
		}
	}
	for _, text := range []string{"hello", "héllo", "日本語です"} {
		send(t, bus, text)
		if got := receive(t, sub, 1)[0].Text; got != text {
			t.Errorf("received %q; want %q (a refused text was delivered?)", got, text)
		}
	}
}

// testClose: Close completes live subscriptions without an error, refuses
// later sends and subscriptions with SERVICE_UNAVAILABLE, and may be
// called again.
func testClose(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{})
	sub := subscribe(t, bus, 1)[0]
	send(t, bus, "before")
	if err := bus.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range sub.C { // what was queued may still be read; then C is closed
	}
	if err := sub.Err(); err != nil {
		t.Errorf("Err() after the bus closed = %v; want nil", err)
	}
	if _, err := bus.Send(context.Background(), "u", "after"); code(err) != messages.CodeUnavailable {
		t.Errorf("Send after Close: %v; want SERVICE_UNAVAILABLE", err)
	}
	if _, err := bus.Subscribe(); code(err) != messages.CodeUnavailable {
		t.Errorf("Subscribe after Close: %v; want SERVICE_UNAVAILABLE", err)
	}
	if _, err := bus.Delete(context.Background(), "1"); code(err) != messages.CodeUnavailable {
		t.Errorf("Delete after Close: %v; want SERVICE_UNAVAILABLE", err)
	}
	if got := bus.Subscribers(); got != 0 {
		t.Errorf("Subscribers() after Close = %d; want 0", got)
	}
	if err := bus.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	sub.Close()
}

// testDelete: a message sent through the bus is deleted once; unknown IDs,
// and IDs beyond the latest Deletable, are not.
func testDelete(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{Deletable: 2})
	ctx := context.Background()
	var ids []string
	for _, text := range []string{"one", "two", "three"} {
		m, err := bus.Send(ctx, "u", text)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{ids[0], false}, // forgotten: only the latest two are deletable
		{ids[2], true},
		{ids[2], false}, // already deleted
		{ids[1], true},
		{"", false},
		{"no-such-message", false},
	} {
		got, err := bus.Delete(ctx, tt.id)
		if err != nil || got != tt.want {
			t.Errorf("Delete(%q) = %v, %v; want %v", tt.id, got, err, tt.want)
		}
	}
	// The record keeps working once it has wrapped around.
	m, err := bus.Send(ctx, "u", "four")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := bus.Delete(ctx, m.ID); !got || err != nil {
		t.Errorf("Delete(%q) after wrapping = %v, %v; want true", m.ID, got, err)
	}
}

// testChurn: subscriptions start and end while messages are sent; nothing
// races (go test -race) and every subscription is accounted for.
func testChurn(t *testing.T, newBus newBusFunc) {
	bus := newBus(t, messages.HubOptions{Buffer: 4})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := bus.Subscribe()
				if err != nil {
					t.Error(err)
					return
				}
				select {
				case <-s.C:
				case <-time.After(time.Millisecond):
				}
				s.Close()
			}
		})
	}
	for i := range 50 {
		send(t, bus, fmt.Sprint("m", i))
	}
	close(stop)
	wg.Wait()
	if got := bus.Subscribers(); got != 0 {
		t.Errorf("Subscribers() = %d after every subscription closed; want 0", got)
	}
}

func subscribe(t *testing.T, bus messages.Bus, n int) []*messages.Subscription {
	t.Helper()
	subs := make([]*messages.Subscription, n)
	for i := range subs {
		s, err := bus.Subscribe()
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		t.Cleanup(s.Close)
		subs[i] = s
	}
	return subs
}

func send(t *testing.T, bus messages.Bus, text string) messages.Message {
	t.Helper()
	m, err := bus.Send(context.Background(), "user", text)
	if err != nil {
		t.Fatalf("Send(%q): %v", text, err)
	}
	return m
}

// receive reads n messages from s, failing if it ends or they take too long.
func receive(t *testing.T, s *messages.Subscription, n int) []messages.Message {
	t.Helper()
	timeout := time.After(waitFor)
	var got []messages.Message
	for len(got) < n {
		select {
		case m, ok := <-s.C:
			if !ok {
				t.Fatalf("subscription ended after %d of %d messages: %v", len(got), n, s.Err())
			}
			got = append(got, m)
		case <-timeout:
			t.Fatalf("received %d of %d messages within %s", len(got), n, waitFor)
		}
	}
	return got
}

// eventually waits, within waitFor, until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, waitFor)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func code(err error) string {
	var e *messages.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprintf("not a *messages.Error: %v", err)
}

// recorder is an Observer that counts.
type recorder struct {
	mu                   sync.Mutex
	published, delivered int
	live                 int
	redisErrors          map[string]int
}

func (r *recorder) Published() { r.mu.Lock(); r.published++; r.mu.Unlock() }
func (r *recorder) Delivered(n int) {
	r.mu.Lock()
	r.delivered += n
	r.mu.Unlock()
}
func (r *recorder) Subscriptions(n int) { r.mu.Lock(); r.live = n; r.mu.Unlock() }
func (r *recorder) RedisError(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.redisErrors == nil {
		r.redisErrors = map[string]int{}
	}
	r.redisErrors[op]++
}

func (r *recorder) counts() (published, delivered, live int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published, r.delivered, r.live
}

func (r *recorder) errors(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.redisErrors[op]
}

// newRedisBus starts a RedisBus on srv (o.URL and o.Stream default to the
// server and a stream named after the test), closed at cleanup, and waits
// until its reader has reached Redis: only messages sent after that reach
// its subscribers.
func newRedisBus(t *testing.T, srv *redistest.Server, o messages.RedisOptions) *messages.RedisBus {
	t.Helper()
	if o.URL == "" {
		o.URL = srv.URL
	}
	if o.Stream == "" {
		o.Stream = "test:" + t.Name()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := messages.NewRedisBus(o)
	if err != nil {
		t.Fatalf("NewRedisBus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	eventually(t, "the reader reaches Redis", b.Connected)
	return b
}
