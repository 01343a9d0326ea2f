// Package authz decides who may read which GraphQL field, from access
// directives in the schema, once per operation and before anything runs.
//
// # Model
//
// A field's Requirement is public, authenticated (any valid token), or
// scopes as an OR of ANDs. The directives are ours and Apollo Router's
// ("Authorization in the GraphOS Router", apollographql/router
// docs/source/routing/security/authorization.mdx):
//
//	@public                              anyone
//	@auth, @authenticated                any valid token
//	@hasScope(scope: "s")                same as @requiresScopes(scopes: [["s"]])
//	@requiresScopes(scopes: [[a, b], [c]])  a valid token granting (a AND b) OR c
//
// They may sit on fields, object types and interfaces. The requirement of
// field f of object type O is f's own directives AND O's AND, for every
// interface I that O implements, I's AND those of I.f. Conjunctions are
// distributed back into an OR of ANDs and simplified as Apollo's
// composition does: a scope set that contains another one is dropped, so
// (a AND b) OR b is b. The requirement is thus a function of (concrete
// type, field name) only, whichever path reaches the field: a list, a
// union, an interface, a fragment, an inline fragment or an alias.
// __typename and introspection are always readable.
//
// A directive on a type guards the fields of the type, as SPEC.md says; the
// fields returning the type carry their own. Apollo Router reads a type's
// directive the other way round, as guarding every field whose result is
// the type. gqlgen's generated code does the same as Apollo (it runs an
// OBJECT or INTERFACE directive around the fields returning the type, and
// for a type reached through a union not at all), so the rules must be
// decided with this package, not with gqlgen's directive wiring alone.
//
// # Pieces
//
// Decide is the one rule: a Requirement against the caller's claims and
// the clock gives nil or an *auth.Error (UNAUTHENTICATED without a token
// or with an expired one, FORBIDDEN with RequiredScopes, the scope sets
// that would grant it). Everything that says yes or no calls it: the
// operation pass, the directives and Require for REST routes
// (directive.go).
//
// NewPolicy checks a schema (CheckSchema: default deny on root fields, well
// formed scopes, no directive on root types; every problem at once) and
// compiles the requirement of every field into interned ids with an O(1)
// lookup. Policy.Matrix lists them for review (AUTHZ.md, server
// -print-authz) and for the playground; Policy.Scopes lists every scope
// the schema uses.
//
// Engine runs the operation pass. Its Plan of an operation (cached per
// parsed document) holds the distinct requirements the operation can
// reach, whatever the variables; per request, Plan.Authorize decides each
// of them once. When all hold, the Result allows everything and costs no
// allocation. Otherwise a query gets Result.Field, an O(1) per-field
// decision for a field middleware to null denied fields without running
// their resolvers; a mutation or a subscription gets Result.Denials, one
// per denied response path with the variables' @skip and @include applied,
// so that it is refused as a whole before any resolver runs.
//
// # Wiring into gqlgen
//
// Package graph (graph/authz.go) does it. One OperationInterceptor
// extension calls Engine.Authorize with the OperationContext's Doc,
// Operation and Variables: it calls next when Result.AllowsAll; answers
// the Denials without calling next for a mutation or a subscription (HTTP:
// a graphql.OneShot response, so 200 with "data": null; WebSocket: the
// protocol's error message); and for a query wraps the OperationContext's
// ResolverMiddleware, which gqlgen's generated code calls around every
// field but __typename, plain struct fields included, with Result.Field.
// The access directives (Policy.Directives), which gqlgen also runs around
// the fields returning a directive's type, decide the effective
// requirement of the field they run on, which makes that harmless, and
// decide at the operation's start time, as the pass does.
package authz
