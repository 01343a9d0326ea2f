// Package graph is the GraphQL adapter: the gqlgen handler with its
// transports (POST, GET, WebSocket) and limits, the WebSocket
// authentication (websocket.go: connection_init's credential goes through
// auth.Validator.Authenticate, as HTTP requests' do), errors.go, where
// every GraphQL error body is written, and the resolvers.
//
// generated.go and model/models_gen.go are generated from schema.graphqls
// by `go generate ./...` and never edited. resolver.go (the dependencies)
// and the rest of the hand-written files stay apart from them;
// schema.resolvers.go holds only thin resolver bodies, which gqlgen keeps
// when it regenerates.
//
// Access control is not decided here but by package authz, from the
// schema's access directives (@public, @auth, @authenticated, @hasScope,
// @requiresScopes on fields, object types and interfaces); authz.go wires
// it in: the directives, and the operation pass that decides every field
// of an operation before any resolver runs. NewHandler refuses a schema
// that breaks default deny. The demo's users and audit entries come from
// package demo.
package graph
