// Package graphqlws serves GraphQL over WebSocket as a gqlgen transport
// (graphql.Transport), on both subprotocols in use:
//
//   - graphql-transport-ws, the graphql-ws project's protocol
//     (PROTOCOL.md of github.com/enisdenjo/graphql-ws), spoken by
//     graphql-ws clients and Apollo's GraphQLWsLink;
//   - graphql-ws, the legacy protocol of Apollo's subscriptions-transport-ws
//     (its PROTOCOL.md), spoken by Apollo's WebSocketLink.
//
// It replaces gqlgen's transport.Websocket, which leaves a socket open
// after a connection_init whose payload is not an object, closes with 1002
// where PROTOCOL.md prescribes 4401, sends complete after the client's
// complete, and sends library text to clients.
//
// # Connections end, always
//
// Every way a connection ends closes the socket, stops every goroutine the
// connection started and returns from Do, so a counter around Do (the
// server's connection cap) is released: a malformed or refused
// connection_init, no connection_init within InitTimeout, a protocol
// error, a message over MaxMessageBytes, a peer that closes, vanishes
// (read error) or stops answering WebSocket pings (PongTimeout) or stops
// reading (WriteTimeout), Shutdown and CloseAll, and the end of the
// upgrade request's context (the HTTP server's base context). A peer that
// vanishes without closing TCP is noticed within KeepAliveInterval +
// PongTimeout (WriteTimeout if the server has something to send first).
// The close handshake is bounded by coder/websocket (5 s to write the
// close frame, 5 s for the peer's); resolvers get OperationStopTimeout to
// return after their context is cancelled.
//
// # Authentication
//
// The package holds no authentication code: Options.Init gets the
// connection_init payload and returns the context operations run with, or
// an error that refuses the connection (a Refusal chooses the close code
// and reason, for example 1013 while signing keys are not loaded).
//
// # Close codes
//
//	1000 Normal Closure          graphql-ws connection_terminate
//	1001 server shutting down    Shutdown; the request context ended (CloseAll sends its own)
//	1007 message is not UTF-8    a message (text or binary frame) that is not UTF-8 (RFC 6455 section 8.1), both subprotocols
//	1009 message too large       a message over MaxMessageBytes
//	4400 Invalid message ...     graphql-transport-ws: any malformed message (reason below);
//	                             both: a connection_init payload that is not an object or null
//	4401 Unauthorized            subscribe (start) before connection_ack;
//	                             graphql-ws: a refused connection_init
//	4403 Forbidden               graphql-transport-ws: a refused connection_init
//	4406 Subprotocol not acceptable  neither subprotocol was negotiated
//	4408 Connection initialisation timeout  no connection_init, or no Init answer, within InitTimeout
//	4409 Subscriber for <id> already exists  graphql-transport-ws: subscribe with a live id
//	4429 Too many initialisation requests  a second connection_init
//	(none) the peer stopped answering pings or reading: the socket is dropped
//
// A Refusal from Init may choose any code RFC 6455 allows on the wire
// instead of 4403/4401, with its own reason.
//
// # Malformed messages
//
// A client is told one fixed text per kind of fault, never the decoder's
// error, a Go type or the input: on graphql-transport-ws as the 4400
// reason "Invalid message received: <text>", on graphql-ws as a
// connection_error {"message": <text>} (the message is then ignored), or,
// for a start whose id is usable, as an error message for that id with
// extensions.code BAD_REQUEST. The texts:
//
//	message is not valid JSON
//	message is not a JSON object
//	message has no type string
//	message type is not a client message of this subprotocol
//	message id must be a non-empty string
//	connection_init payload must be an object or null
//	ping and pong payloads must be an object or null
//	operation payload must be an object
//	operation query must be a string
//	operation variables must be an object or null
//	operation operationName must be a string or null
//	operation extensions must be an object or null
//	message too large (close 1009)
//	message is not UTF-8 (close 1007)
//
// Faults of the WebSocket framing itself (RFC 6455: unmasked or
// fragmented control frames, reserved bits, bad opcodes) are answered by
// coder/websocket with 1002 and its own reason; they happen below any
// GraphQL message.
//
// # graphql-transport-ws: the rules of PROTOCOL.md, all implemented
//
//   - connection_init within InitTimeout, else 4408; a second one, even
//     while Init runs, 4429; a refused one 4403; connection_ack (without
//     payload) on success.
//   - subscribe before connection_ack, also while Init runs (graphql-ws
//     clients wait for the ack): 4401.
//   - subscribe with the id of a live operation, whatever its type: 4409.
//     An id is free again as soon as the operation completed (the server
//     removes it before sending complete or error) or the client sent
//     complete.
//   - next for each result, then complete; error (a list of GraphQL
//     errors) for an operation refused before execution (parse,
//     validation, variables, gqlgen operation context mutators) or ended
//     by a resolver through AddSubscriptionError, and no complete after
//     it.
//   - complete from the client stops the operation; nothing more is sent
//     for it, not even the result of a query still running. complete for
//     an unknown id is ignored.
//   - ping is answered with pong at once, echoing its payload; pong is
//     accepted at any time. The server sends ping every KeepAliveInterval
//     once acknowledged.
//   - a message of an unknown type, of a server-to-client type, or of a
//     known type with a malformed id or payload: 4400. (JSON in a binary
//     frame is read like a text frame, as the reference server does.)
//
// Beyond the document: liveness is checked with WebSocket ping frames, as
// graphql-ws's reference server (use/ws.ts) does, and a peer that does not
// answer is dropped without a close frame; more than MaxOperations live
// operations get an error message (TOO_MANY_OPERATIONS) for the extra one.
//
// # graphql-ws: its PROTOCOL.md, and where we differ
//
// Implemented as its document prescribes: connection_ack then ka after an
// accepted connection_init, and ka every KeepAliveInterval; connection_error
// for a refused connection_init; connection_error for a message that
// cannot be parsed, which is then ignored without disconnecting; data for
// each result and complete at the end; error for an operation refused
// before execution; stop ends an operation and is answered with complete;
// connection_terminate closes the connection (1000). Messages that follow
// connection_init wait until Init has answered: subscriptions-transport-ws
// clients send start right after connection_init, without waiting for
// connection_ack.
//
// Deliberate differences, each with its reason:
//   - A refused connection_init is also closed (4401 by default): the
//     connection cannot be used, and an open socket would hold a
//     connection slot (issue 11).
//   - start before connection_ack gets connection_error and 4401; the
//     reference server would run it unauthenticated, but authentication
//     happens at connection_init.
//   - A second connection_init gets connection_error and 4429: identity
//     does not change on a live connection.
//   - No connection_init within InitTimeout closes with 4408; the
//     document sets no bound, but an idle socket holds a slot.
//   - A connection_init payload that is not an object or null gets
//     connection_error and 4400.
//   - error carries a list of GraphQL errors, as on graphql-transport-ws
//     and as gqlgen sent it, where the document shows one error object;
//     subscriptions-transport-ws clients accept both. It is also sent
//     when a resolver ends a subscription through AddSubscriptionError.
//   - start with the id of a live operation replaces it (the old one ends
//     silently), as subscriptions-transport-ws's server does.
//
// # Using it with gqlgen
//
//	ws, err := graphqlws.New(graphqlws.Options{Init: authenticate})
//	srv := handler.New(schema)
//	srv.AddTransport(ws)
//	...
//	ws.Shutdown(ctx) // on SIGTERM, after http.Server.Shutdown
//
// A subscription resolver ends its operation with an error through
// AddSubscriptionError, not gqlgen's transport.AddSubscriptionError.
package graphqlws
