package messages

import (
	"strconv"
	"sync"
	"time"
)

// fullQueuePoll is how often deliverPaced looks again at full queues.
const fullQueuePoll = 2 * time.Millisecond

// fanout is one instance's set of subscribers: both buses deliver through
// it. Queueing never blocks while its lock is held, so the lock is held
// briefly and every subscriber is queued the same messages in the same
// order.
type fanout struct {
	buffer   int // queue length per subscriber
	max      int // live subscriptions at most
	observer Observer

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

func newFanout(buffer, max int, observer Observer) *fanout {
	return &fanout{buffer: buffer, max: max, observer: observer, subs: map[*Subscription]struct{}{}}
}

// Subscription receives messages on C until it is closed or ended; Err says
// why the bus ended it, if it did.
type Subscription struct {
	C   <-chan Message
	ch  chan Message
	f   *fanout
	err error // set before ch is closed
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.dropLocked(s, nil) {
		s.f.observer.Subscriptions(len(s.f.subs))
	}
}

// Err returns why the bus ended the subscription, once C is closed: an
// *Error with CodeSlowSubscriber or CodeMessagesLost, or nil when it was
// closed by Close (the subscription's or the bus's).
func (s *Subscription) Err() error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.err
}

func (f *fanout) subscribe() (*Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errClosed()
	}
	if len(f.subs) >= f.max {
		return nil, &Error{Code: CodeTooManySubscribers, Message: "too many live subscriptions on this server; try again later"}
	}
	ch := make(chan Message, f.buffer)
	s := &Subscription{C: ch, ch: ch, f: f}
	f.subs[s] = struct{}{}
	f.observer.Subscriptions(len(f.subs))
	return s, nil
}

func (f *fanout) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func (f *fanout) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// deliver queues m to every subscriber and ends, with SLOW_SUBSCRIBER,
// those whose queue is full. It reports false, delivering nothing, once
// the fan-out is closed.
func (f *fanout) deliver(m Message) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.deliverLocked(m)
	return true
}

// deliverPaced is deliver for a single goroutine that may wait: while a
// subscriber's queue is full it waits, up to wait, for the queue to drain,
// then ends the subscribers still full. A reader catching up after an
// outage hands over a burst at once; waiting spares subscribers that are
// merely behind by more than their queue, at the cost of delaying everyone
// by at most wait for each stuck subscriber. It returns early, delivering
// nothing, when stop is closed.
//
// Only one goroutine may call it, and nothing else may deliver to this
// fan-out: a queue it found with room stays so, since only readers drain.
func (f *fanout) deliverPaced(m Message, wait time.Duration, stop <-chan struct{}) {
	deadline := time.Now().Add(wait)
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return
		}
		if !f.anyFullLocked() || !time.Now().Before(deadline) {
			f.deliverLocked(m)
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		select {
		case <-stop:
			return
		case <-time.After(fullQueuePoll):
		}
	}
}

func (f *fanout) anyFullLocked() bool {
	for s := range f.subs {
		if len(s.ch) == cap(s.ch) {
			return true
		}
	}
	return false
}

func (f *fanout) deliverLocked(m Message) {
	n, dropped := 0, false
	for s := range f.subs {
		select {
		case s.ch <- m:
			n++
		default:
			f.dropLocked(s, &Error{Code: CodeSlowSubscriber, Message: "subscription ended: the client did not keep up with " + strconv.Itoa(f.buffer) + " queued messages"})
			dropped = true
		}
	}
	f.observer.Delivered(n)
	if dropped {
		f.observer.Subscriptions(len(f.subs))
	}
}

// endAll ends every live subscription with err (nil: they complete).
func (f *fanout) endAll(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endAllLocked(err)
}

// close ends every live subscription without an error and refuses new
// ones and new messages from then on.
func (f *fanout) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.endAllLocked(nil)
}

func (f *fanout) endAllLocked(err error) {
	if len(f.subs) == 0 {
		return
	}
	for s := range f.subs {
		f.dropLocked(s, err)
	}
	f.observer.Subscriptions(0)
}

// dropLocked ends s with err and reports whether it was still live.
func (f *fanout) dropLocked(s *Subscription, err error) bool {
	if _, ok := f.subs[s]; !ok {
		return false
	}
	delete(f.subs, s)
	s.err = err
	close(s.ch)
	return true
}
