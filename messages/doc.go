// Package messages is the domain the API serves: the fixed texts of the
// samples this server re-implements, and the messages clients send each
// other (sendMessage) and receive (messageSent).
//
// A Bus carries sent messages to subscribers. It has two implementations:
//
//   - Hub, in process: every message reaches the subscribers of this
//     instance only. It needs nothing, so `go run .` works alone.
//   - RedisBus, through a Redis stream: every instance sharing one Redis
//     delivers every message to its own subscribers in one global order,
//     and replays what it missed during a brief disconnect (SPEC.md,
//     "Operating several instances").
//
// Both deliver through the same per-instance fan-out: a bounded queue per
// subscriber, a subscriber that cannot keep up ended with SLOW_SUBSCRIBER,
// and at most MaxSubscribers live subscriptions. Refusals are *Error
// values whose Code the GraphQL layer shows as extensions.code.
package messages
