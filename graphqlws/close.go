package graphqlws

import (
	"errors"
	"unicode/utf8"
)

// Close codes this package sends. 1000 to 1013 are RFC 6455 section 7.4.1
// and the IANA WebSocket registry; 4400 to 4429 are the graphql-ws
// project's PROTOCOL.md (its CloseCode enum), used on both subprotocols.
const (
	CloseNormal                  = 1000 // connection_terminate (graphql-ws)
	CloseGoingAway               = 1001 // Shutdown, or the server's context ended
	CloseInvalidPayload          = 1007 // a message that is not UTF-8 (RFC 6455 section 8.1)
	CloseMessageTooBig           = 1009 // a message longer than Options.MaxMessageBytes
	CloseTryAgainLater           = 1013 // for an InitFunc's Refusal: the server is not ready
	CloseBadRequest              = 4400 // an invalid message (graphql-transport-ws), a bad connection_init payload (both)
	CloseUnauthorized            = 4401 // an operation before connection_ack; a refused init on graphql-ws
	CloseForbidden               = 4403 // a refused connection_init (graphql-transport-ws)
	CloseSubprotocolNotAccepted  = 4406 // no subprotocol this package speaks was negotiated
	CloseInitTimeout             = 4408 // no connection_init (or no InitFunc answer) within Options.InitTimeout
	CloseSubscriberAlreadyExists = 4409 // subscribe with the id of a live operation (graphql-transport-ws)
	CloseTooManyInitRequests     = 4429 // a second connection_init
)

// maxCloseReason is the longest close reason: a close frame's payload is at
// most 125 bytes, two of them the code (RFC 6455 section 5.5).
const maxCloseReason = 123

// Refusal is an error an InitFunc may return to choose how the connection
// is refused instead of the protocol's default (4403 "Forbidden" on
// graphql-transport-ws, 4401 "Unauthorized" on graphql-ws). CloseReason is
// sent to the client (as the close reason, and on graphql-ws also as the
// connection_error message), so it must be text meant for clients; it is
// cut to 123 bytes. A CloseCode of 0, or one RFC 6455 does not allow on
// the wire, keeps the protocol's default code.
type Refusal interface {
	error
	CloseCode() int
	CloseReason() string
}

// RefusalError is a ready Refusal: for example
// &RefusalError{Code: CloseTryAgainLater, Reason: "signing keys not loaded yet", Err: err}.
type RefusalError struct {
	Code   int    // 0 means the protocol's default
	Reason string // "" means the protocol's default
	Err    error  // the cause, for logs; never sent
}

func (e *RefusalError) Error() string {
	if e.Err != nil {
		return "graphqlws: connection refused: " + e.Err.Error()
	}
	return "graphqlws: connection refused"
}

func (e *RefusalError) Unwrap() error       { return e.Err }
func (e *RefusalError) CloseCode() int      { return e.Code }
func (e *RefusalError) CloseReason() string { return e.Reason }

// closeFrame is how a connection ends: the code and reason sent, or, with
// abort, no close frame at all (the peer is presumed gone).
type closeFrame struct {
	code   int
	reason string
	abort  bool
}

// refusal is the close frame for an InitFunc error on protocol p.
func refusal(p subprotocol, err error) closeFrame {
	cf := closeFrame{code: CloseForbidden, reason: "Forbidden"}
	if p == legacyWS {
		cf = closeFrame{code: CloseUnauthorized, reason: "Unauthorized"}
	}
	var r Refusal
	if errors.As(err, &r) {
		if validCloseCode(r.CloseCode()) {
			cf.code = r.CloseCode()
		}
		if s := r.CloseReason(); s != "" {
			cf.reason = truncateReason(s)
		}
	}
	return cf
}

// validCloseCode reports whether an application may send code in a close
// frame (RFC 6455 section 7.4: 1000-1014 less the reserved 1004-1006,
// and 3000-4999).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1014:
		return code < 1004 || code > 1006
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// truncateReason cuts s to a close reason's 123 bytes without splitting a
// UTF-8 sequence (RFC 6455 requires the reason to be valid UTF-8).
func truncateReason(s string) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	if len(s) <= maxCloseReason {
		return s
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
