// Package graph is the GraphQL adapter: the endpoint NewHandler returns,
// with its transports (http.go: GraphQL over HTTP, POST and GET, our own;
// websocket.go: the graphqlws transport and the WebSocket authentication,
// where connection_init's credential goes through
// auth.Validator.Authenticate as HTTP requests' do), the one executor every
// transport uses (executor.go: sanitized and bounded errors, the
// operation limits once per operation, the CheckOperation hook), errors.go,
// where every GraphQL error body is written, shutdown.go, where WebSockets
// are closed with 1001 when the server stops (Handler.Shutdown), and the
// resolvers. Options.Metrics counts what happens here: refused
// connection_inits, denied fields, open WebSockets, live subscriptions.
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
// that breaks default deny. After it, inputs.go checks a mutation's
// inputs, so that a bad one refuses the whole mutation before any field
// runs. The demo's users and audit entries come from package demo.
package graph
