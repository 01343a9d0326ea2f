package graphqlws

import (
	"bytes"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
)

// The subprotocols, as negotiated in Sec-WebSocket-Protocol (RFC 6455
// section 1.9).
const (
	// SubprotocolTransportWS is the graphql-ws project's protocol
	// (PROTOCOL.md of enisdenjo/graphql-ws), spoken by graphql-ws clients
	// and Apollo's GraphQLWsLink.
	SubprotocolTransportWS = "graphql-transport-ws"
	// SubprotocolGraphQLWS is the legacy protocol of Apollo's
	// subscriptions-transport-ws (its PROTOCOL.md), spoken by WebSocketLink.
	SubprotocolGraphQLWS = "graphql-ws"
)

// subprotocol is the negotiated protocol of one connection.
type subprotocol int

const (
	transportWS subprotocol = iota // graphql-transport-ws
	legacyWS                       // graphql-ws
)

func (p subprotocol) String() string {
	if p == legacyWS {
		return SubprotocolGraphQLWS
	}
	return SubprotocolTransportWS
}

// Message types of both protocols; the protocol documents name them.
const (
	typeConnectionInit      = "connection_init"      // both, client to server
	typeConnectionAck       = "connection_ack"       // both, server to client
	typePing                = "ping"                 // graphql-transport-ws, both directions
	typePong                = "pong"                 // graphql-transport-ws, both directions
	typeSubscribe           = "subscribe"            // graphql-transport-ws, client to server
	typeNext                = "next"                 // graphql-transport-ws, server to client
	typeError               = "error"                // both, server to client
	typeComplete            = "complete"             // both; client to server only on graphql-transport-ws
	typeConnectionError     = "connection_error"     // graphql-ws, server to client
	typeKeepAlive           = "ka"                   // graphql-ws, server to client
	typeStart               = "start"                // graphql-ws, client to server
	typeData                = "data"                 // graphql-ws, server to client
	typeStop                = "stop"                 // graphql-ws, client to server
	typeConnectionTerminate = "connection_terminate" // graphql-ws, client to server
)

// kind is what a client message asks for, the same on both protocols.
type kind int

const (
	kindInit      kind = iota + 1 // connection_init
	kindPing                      // ping (graphql-transport-ws)
	kindPong                      // pong (graphql-transport-ws)
	kindSubscribe                 // subscribe, or start on graphql-ws
	kindComplete                  // complete, or stop on graphql-ws
	kindTerminate                 // connection_terminate (graphql-ws)
)

// clientKind maps each protocol's client-to-server message types to what
// they ask for; server-to-client types sent by a client are not among
// them.
func clientKind(p subprotocol, typ string) (kind, bool) {
	if p == legacyWS {
		switch typ {
		case typeConnectionInit:
			return kindInit, true
		case typeStart:
			return kindSubscribe, true
		case typeStop:
			return kindComplete, true
		case typeConnectionTerminate:
			return kindTerminate, true
		}
		return 0, false
	}
	switch typ {
	case typeConnectionInit:
		return kindInit, true
	case typePing:
		return kindPing, true
	case typePong:
		return kindPong, true
	case typeSubscribe:
		return kindSubscribe, true
	case typeComplete:
		return kindComplete, true
	}
	return 0, false
}

// clientMessage is a decoded, well-formed client message.
type clientMessage struct {
	kind kind
	// id names the operation of kindSubscribe and kindComplete; on a
	// problem it is set when the message had a valid id, so that a
	// graphql-ws error can name the operation.
	id string
	// init is the connection_init payload: never nil, empty when the
	// payload was absent or null.
	init map[string]any
	// ping is the ping or pong payload, nil when absent or null.
	ping json.RawMessage
	// params is the operation of kindSubscribe.
	params *graphql.RawParams
}

// problem is why a client message is malformed. Each has one fixed text
// (see text), which is all a client is told: never the decoder's error,
// never the input.
type problem int

const (
	problemNotJSON       problem = iota + 1 // not valid JSON (RFC 8259)
	problemNotObject                        // valid JSON, not an object
	problemNoType                           // "type" absent or not a string
	problemUnknownType                      // not a client message type of the subprotocol
	problemBadID                            // "id" absent, empty or not a string
	problemInitPayload                      // connection_init payload neither an object nor null
	problemPingPayload                      // ping or pong payload neither an object nor null
	problemOperation                        // subscribe/start payload not an object
	problemQuery                            // its query absent or not a string
	problemVariables                        // its variables neither an object nor null
	problemOperationName                    // its operationName neither a string nor null
	problemExtensions                       // its extensions neither an object nor null
	problemTooLarge                         // longer than Options.MaxMessageBytes
)

// text is the client-visible description of p, fixed and documented in
// the package comment.
func (p problem) text() string {
	switch p {
	case problemNotJSON:
		return "message is not valid JSON"
	case problemNotObject:
		return "message is not a JSON object"
	case problemNoType:
		return "message has no type string"
	case problemUnknownType:
		return "message type is not a client message of this subprotocol"
	case problemBadID:
		return "message id must be a non-empty string"
	case problemInitPayload:
		return "connection_init payload must be an object or null"
	case problemPingPayload:
		return "ping and pong payloads must be an object or null"
	case problemOperation:
		return "operation payload must be an object"
	case problemQuery:
		return "operation query must be a string"
	case problemVariables:
		return "operation variables must be an object or null"
	case problemOperationName:
		return "operation operationName must be a string or null"
	case problemExtensions:
		return "operation extensions must be an object or null"
	case problemTooLarge:
		return "message too large"
	}
	return "invalid message"
}

// decode parses one client message of protocol p. It never panics, and it
// returns either a message with a kind of p, or a problem (with the
// message's id, when it had a valid one). Member names are matched exactly,
// as JSON is case-sensitive (encoding/json's struct decoding is not);
// members a message type does not use are ignored.
func decode(p subprotocol, data []byte) (clientMessage, problem) {
	if !json.Valid(data) {
		return clientMessage{}, problemNotJSON
	}
	if b := bytes.TrimLeft(data, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return clientMessage{}, problemNotObject
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return clientMessage{}, problemNotObject
	}
	var typ string
	if !decodeString(fields["type"], &typ) || typ == "" {
		return clientMessage{}, problemNoType
	}
	k, ok := clientKind(p, typ)
	if !ok {
		return clientMessage{}, problemUnknownType
	}
	m := clientMessage{kind: k}
	switch k {
	case kindInit:
		if !decodeObject(fields["payload"], &m.init) {
			return m, problemInitPayload
		}
		if m.init == nil {
			m.init = map[string]any{}
		}
	case kindPing, kindPong:
		var payload map[string]any
		if !decodeObject(fields["payload"], &payload) {
			return m, problemPingPayload
		}
		if payload != nil {
			m.ping = fields["payload"]
		}
	case kindSubscribe:
		if !decodeString(fields["id"], &m.id) || m.id == "" {
			return clientMessage{kind: k}, problemBadID
		}
		params, prob := decodeOperation(fields["payload"])
		if prob != 0 {
			return m, prob
		}
		m.params = params
	case kindComplete:
		if !decodeString(fields["id"], &m.id) || m.id == "" {
			return clientMessage{kind: k}, problemBadID
		}
	}
	return m, 0
}

// decodeOperation checks each member of a subscribe (start) payload for
// the type the protocol documents give it.
func decodeOperation(raw json.RawMessage) (*graphql.RawParams, problem) {
	var fields map[string]json.RawMessage
	if !decodeObject(raw, &fields) || fields == nil {
		return nil, problemOperation
	}
	params := &graphql.RawParams{}
	if q := fields["query"]; q == nil || isNull(q) || !decodeString(q, &params.Query) {
		return nil, problemQuery
	}
	if !decodeObject(fields["variables"], &params.Variables) {
		return nil, problemVariables
	}
	if !decodeString(fields["operationName"], &params.OperationName) {
		return nil, problemOperationName
	}
	if !decodeObject(fields["extensions"], &params.Extensions) {
		return nil, problemExtensions
	}
	return params, 0
}

// decodeString decodes a JSON string into s. Absent (nil) and null leave
// s empty and count as decoded; the caller decides whether they may be.
func decodeString(raw json.RawMessage, s *string) bool {
	if raw == nil || isNull(raw) {
		return true
	}
	if raw[0] != '"' {
		return false
	}
	return json.Unmarshal(raw, s) == nil
}

// decodeObject decodes a JSON object into v, numbers as json.Number so
// that GraphQL Int and Float coercion sees them exactly (as gqlgen's HTTP
// transports do). Absent and null leave v nil and count as decoded.
func decodeObject[T any](raw json.RawMessage, v *map[string]T) bool {
	if raw == nil || isNull(raw) {
		return true
	}
	if raw[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v) == nil
}

func isNull(raw json.RawMessage) bool {
	return string(raw) == "null"
}

// serverMessage is a message to the client. Payload is omitted when empty,
// as both protocols allow for connection_ack, ping, pong, ka and complete.
type serverMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}
