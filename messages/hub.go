package messages

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Defaults for the zero values of HubOptions.
const (
	DefaultMaxTextLength  = 1000 // characters
	DefaultBuffer         = 32   // messages queued per subscriber
	DefaultMaxSubscribers = 10000
	DefaultDeletable      = 10000 // message IDs, about 20 bytes each
)

// HubOptions are one instance's limits, the same for every bus: the Hub
// uses them alone, a RedisBus for its local fan-out. Zero values mean the
// defaults.
type HubOptions struct {
	MaxTextLength  int              // longest text, in characters
	Buffer         int              // messages queued per subscriber before it counts as too slow
	MaxSubscribers int              // live subscriptions on this instance
	Deletable      int              // latest messages sent through this instance that Bus.Delete can delete
	Now            func() time.Time // nil means time.Now
	Observer       Observer         // nil means none
}

// Validate reports every negative limit; zero means the default.
func (o HubOptions) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxTextLength", o.MaxTextLength}, {"Buffer", o.Buffer}, {"MaxSubscribers", o.MaxSubscribers}, {"Deletable", o.Deletable}} {
		if f.v < 0 {
			errs = append(errs, errors.New("messages: "+f.name+" must not be negative, got "+strconv.Itoa(f.v)))
		}
	}
	return errors.Join(errs...)
}

func (o HubOptions) withDefaults() HubOptions {
	if o.MaxTextLength <= 0 {
		o.MaxTextLength = DefaultMaxTextLength
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.MaxSubscribers <= 0 {
		o.MaxSubscribers = DefaultMaxSubscribers
	}
	if o.Deletable <= 0 {
		o.Deletable = DefaultDeletable
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	return o
}

// Hub is the in-process Bus: it delivers every message sent to every live
// subscriber of this instance, in the order sent. Sending never blocks: a
// subscriber whose queue is full is ended with a SLOW_SUBSCRIBER error
// instead of slowing senders or growing memory.
type Hub struct {
	opts HubOptions
	fan  *fanout
	sent *sentLog

	mu     sync.Mutex // held from numbering a message to queueing it, so numbers follow delivery order
	nextID uint64
}

var _ Bus = (*Hub)(nil)

// NewHub returns an empty hub. Negative limits mean the defaults; use
// HubOptions.Validate to refuse them instead.
func NewHub(opts HubOptions) *Hub {
	opts = opts.withDefaults()
	return &Hub{opts: opts, fan: newFanout(opts.Buffer, opts.MaxSubscribers, opts.Observer), sent: newSentLog(opts.Deletable)}
}

// Send validates text and delivers it to every subscriber. The hub does no
// I/O, so ctx is unused.
func (h *Hub) Send(_ context.Context, author, text string) (Message, error) {
	if err := checkText(text, h.opts.MaxTextLength); err != nil {
		return Message{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := Message{ID: strconv.FormatUint(h.nextID+1, 10), Text: text, Author: author, SentAt: h.opts.Now().UTC()}
	if !h.fan.deliver(m) {
		return Message{}, errClosed()
	}
	h.nextID++
	h.sent.add(m.ID)
	h.opts.Observer.Published()
	return m, nil
}

// CheckText returns Send's refusal of text, if any (see Bus.CheckText).
func (h *Hub) CheckText(text string) error { return checkText(text, h.opts.MaxTextLength) }

// Delete deletes a message sent through the hub (see Bus.Delete). The hub
// does no I/O, so ctx is unused; it fails only once the hub is closed.
func (h *Hub) Delete(_ context.Context, id string) (bool, error) {
	if h.fan.isClosed() {
		return false, errClosed()
	}
	return h.sent.remove(id), nil
}

// Subscribe starts a subscription. Call Close when done.
func (h *Hub) Subscribe() (*Subscription, error) { return h.fan.subscribe() }

// Subscribers counts live subscriptions.
func (h *Hub) Subscribers() int { return h.fan.count() }

// Close ends every live subscription without an error; later sends and
// subscriptions are refused with CodeUnavailable.
func (h *Hub) Close() error {
	h.fan.close()
	return nil
}
