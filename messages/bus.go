package messages

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bus carries sent messages to the subscribers of this instance. The
// GraphQL layer uses it for sendMessage and messageSent; Hub and RedisBus
// implement it. All methods are safe for concurrent use.
type Bus interface {
	// Send validates text (CodeBadInput) and sends it on behalf of author
	// (the sender's token subject). It returns the message as subscribers
	// receive it. It never blocks on a slow subscriber. A bus that cannot
	// send right now (Redis unreachable, bus closed) returns an *Error
	// with CodeUnavailable, within the bus's send timeout.
	Send(ctx context.Context, author, text string) (Message, error)
	// CheckText returns the *Error (CodeBadInput) that Send would refuse
	// text with, or nil, without sending anything: a mutation checks
	// every text it would send before it sends the first (SPEC.md, a
	// mutation never half-runs).
	CheckText(text string) error
	// Delete deletes the message with id and reports whether it did: true
	// for one of the latest HubOptions.Deletable messages sent through
	// this instance, not deleted before; false for any other id. Messages
	// reach subscribers when they are sent and are stored nowhere, so what
	// Delete removes is this instance's record of the message: it cannot
	// unsend it, and deleting it twice gives false the second time. With
	// several instances (RedisBus), each remembers the messages it sent,
	// so a message is deleted through the instance that sent it; elsewhere
	// Delete reports false. A bus that cannot answer right now returns an
	// *Error with CodeUnavailable.
	Delete(ctx context.Context, id string) (bool, error)
	// Subscribe starts a subscription to the messages sent from now on.
	// It refuses with CodeTooManySubscribers beyond the limit and with
	// CodeUnavailable once the bus is closed. Call Subscription.Close
	// when done.
	Subscribe() (*Subscription, error)
	// Subscribers counts this instance's live subscriptions.
	Subscribers() int
	// Close ends every live subscription without an error (its C is
	// closed, Err is nil) and makes later Send, Subscribe and Delete
	// calls fail with CodeUnavailable. It is safe to call more than once.
	Close() error
}

// Message is a sent message as subscribers receive it.
type Message struct {
	// ID is unique within the bus and opaque to clients. The Hub numbers
	// messages 1, 2, 3...; the RedisBus uses the Redis stream entry ID
	// ("<milliseconds>-<sequence>", see XADD), so IDs grow in delivery
	// order and an operator can find a message with XRANGE.
	ID     string
	Text   string
	Author string    // the sender's token subject
	SentAt time.Time // when the sending instance accepted it, UTC
}

// Codes of the errors a Bus returns, for clients (extensions.code).
const (
	CodeBadInput           = "BAD_USER_INPUT"
	CodeSlowSubscriber     = "SLOW_SUBSCRIBER"
	CodeTooManySubscribers = "TOO_MANY_SUBSCRIBERS"
	// CodeUnavailable: the bus cannot send right now (Redis unreachable)
	// or is shut down; the client may retry later.
	CodeUnavailable = "SERVICE_UNAVAILABLE"
	// CodeMessagesLost ends subscriptions that would otherwise silently
	// miss messages: the instance was away from Redis longer than the
	// stream's bounded length covers. The client may subscribe again.
	CodeMessagesLost = "MESSAGES_LOST"
)

// Error is a refusal whose Message is meant for the client; Err, if set,
// is the cause, for logs only.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "messages: " + e.Message + ": " + e.Err.Error()
	}
	return "messages: " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errUnavailable(cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: "messages cannot be sent right now; try again shortly", Err: cause}
}

// errUnconfirmed is a send that failed after the XADD may have been
// written: Redis did not answer in time, or the connection dropped. A
// server that was slow or paused rather than gone runs the command once
// it resumes, so the message may still be delivered: the client is told
// so, since sending it again may deliver it twice.
func errUnconfirmed(cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: "the message service did not confirm the send in time; the message may still be delivered", Err: cause}
}

func errClosed() *Error {
	return &Error{Code: CodeUnavailable, Message: "the message service is shutting down; try again shortly"}
}

// Observer is told what a bus does, for metrics. Its methods are called
// synchronously, some with the fan-out's lock held: they must be fast and
// must not call back into the bus. Embed NopObserver to implement a subset.
type Observer interface {
	// Published: Send accepted one message (for RedisBus: XADD succeeded).
	Published()
	// Delivered: one message was queued to this many local subscribers.
	Delivered(subscribers int)
	// Subscriptions: the number of live local subscriptions is now live.
	Subscriptions(live int)
	// RedisError: a Redis command failed; op is OpSend or OpRead.
	RedisError(op string)
}

// Operations named in Observer.RedisError.
const (
	OpSend = "send" // XADD for Send
	OpRead = "read" // the reader's XREAD and XINFO STREAM
)

// NopObserver ignores everything; embed it to implement part of Observer.
type NopObserver struct{}

func (NopObserver) Published()        {}
func (NopObserver) Delivered(int)     {}
func (NopObserver) Subscriptions(int) {}
func (NopObserver) RedisError(string) {}

// checkText is the rule for a message text, the same for every bus:
// non-empty UTF-8, not only white space, at most maxLen characters.
func checkText(text string, maxLen int) error {
	if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
		return &Error{Code: CodeBadInput, Message: "text must be non-empty UTF-8"}
	}
	if n := utf8.RuneCountInString(text); n > maxLen {
		return &Error{Code: CodeBadInput, Message: "text is " + strconv.Itoa(n) + " characters long; the limit is " + strconv.Itoa(maxLen)}
	}
	return nil
}
