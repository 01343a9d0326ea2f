package messages

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults for the zero values of HubOptions.
const (
	DefaultMaxTextLength  = 1000 // characters
	DefaultBuffer         = 32   // messages queued per subscriber
	DefaultMaxSubscribers = 10000
)

// Codes of the errors the hub returns, for clients (extensions.code).
const (
	CodeBadInput           = "BAD_USER_INPUT"
	CodeSlowSubscriber     = "SLOW_SUBSCRIBER"
	CodeTooManySubscribers = "TOO_MANY_SUBSCRIBERS"
)

// Error is a refusal whose Message is meant for the client.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "messages: " + e.Message }

// Message is a message sent through the hub.
type Message struct {
	ID     string
	Text   string
	Author string // the sender's token subject
	SentAt time.Time
}

// HubOptions configures a Hub. Zero values mean the defaults.
type HubOptions struct {
	MaxTextLength  int              // longest text, in characters
	Buffer         int              // messages queued per subscriber before it counts as too slow
	MaxSubscribers int              // live subscriptions on this instance
	Now            func() time.Time // nil means time.Now
}

// Hub delivers every message sent to every live subscriber of this
// instance, in the order sent. Sending never blocks: a subscriber whose
// queue is full is ended with a SLOW_SUBSCRIBER error instead of slowing
// senders or growing memory.
type Hub struct {
	opts HubOptions

	mu     sync.Mutex
	nextID uint64
	subs   map[*Subscription]struct{}
}

// NewHub returns an empty hub.
func NewHub(opts HubOptions) *Hub {
	if opts.MaxTextLength <= 0 {
		opts.MaxTextLength = DefaultMaxTextLength
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.MaxSubscribers <= 0 {
		opts.MaxSubscribers = DefaultMaxSubscribers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Hub{opts: opts, subs: map[*Subscription]struct{}{}}
}

// Send validates text and delivers it to every subscriber.
func (h *Hub) Send(author, text string) (Message, error) {
	if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
		return Message{}, &Error{CodeBadInput, "text must be non-empty UTF-8"}
	}
	if n := utf8.RuneCountInString(text); n > h.opts.MaxTextLength {
		return Message{}, &Error{CodeBadInput, "text is " + strconv.Itoa(n) + " characters long; the limit is " + strconv.Itoa(h.opts.MaxTextLength)}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Holding the lock while queueing is what gives every subscriber the
	// same order; queueing never blocks, so the lock is held briefly.
	h.nextID++
	m := Message{ID: strconv.FormatUint(h.nextID, 10), Text: text, Author: author, SentAt: h.opts.Now().UTC()}
	for s := range h.subs {
		select {
		case s.ch <- m:
		default:
			h.dropLocked(s, &Error{CodeSlowSubscriber, "subscription ended: the client did not keep up with " + strconv.Itoa(h.opts.Buffer) + " queued messages"})
		}
	}
	return m, nil
}

// Subscription receives messages on C until it is closed or ended; Err says
// why it was ended, if the hub ended it.
type Subscription struct {
	C   <-chan Message
	ch  chan Message
	hub *Hub
	err error // set before ch is closed
}

// Subscribe starts a subscription. Call Close when done.
func (h *Hub) Subscribe() (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.opts.MaxSubscribers {
		return nil, &Error{CodeTooManySubscribers, "too many live subscriptions on this server; try again later"}
	}
	ch := make(chan Message, h.opts.Buffer)
	s := &Subscription{C: ch, ch: ch, hub: h}
	h.subs[s] = struct{}{}
	return s, nil
}

// Subscribers counts live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.dropLocked(s, nil)
}

// Err returns why the hub ended the subscription, once C is closed.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

func (h *Hub) dropLocked(s *Subscription, err error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.err = err
	close(s.ch)
}
