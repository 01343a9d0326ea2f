package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/graphqlws"
)

// This file wires package authz into gqlgen: the access directives, and
// the operation pass that decides every field before anything runs.

// Policy compiles the authorization policy of the server's schema
// (schema.graphqls): the effective requirement of every field of every
// object and interface type. It fails, one line per problem, when the
// schema breaks default deny or the directives' rules (authz.CheckSchema),
// which is how the server refuses to start with such a schema. It needs
// nothing else: server -print-authz prints its matrix without serving.
func Policy() (*authz.Policy, error) {
	return authz.NewPolicy(NewExecutableSchema(Config{}).Schema())
}

// Directives binds the five access directives of the generated
// DirectiveRoot to p's one implementation (authz.Policy.Directives): each
// decides the effective requirement of the field it runs on.
func Directives(p *authz.Policy) DirectiveRoot {
	d := p.Directives()
	return DirectiveRoot{
		Public:         d.Public,
		Auth:           d.Auth,
		Authenticated:  d.Authenticated,
		HasScope:       d.HasScope,
		RequiresScopes: d.RequiresScopes,
	}
}

// newAuthorization compiles es's policy (refusing a schema that breaks its
// rules) and returns the extension that enforces it.
func newAuthorization(es graphql.ExecutableSchema, opts Options) (authorization, error) {
	p, err := authz.NewPolicy(es.Schema())
	if err != nil {
		return authorization{}, err
	}
	e, err := authz.NewEngine(p, opts.Authz)
	if err != nil {
		return authorization{}, err
	}
	return authorization{engine: e, present: presentError(opts.Logger)}, nil
}

// authorization runs the operation pass (authz.Engine) once per operation,
// after validation and before any resolver, and enforces its Result:
//
//   - nothing denied (the usual case): it only calls next, at the cost of a
//     cached plan's lookup and one decision per distinct requirement, with
//     no allocation;
//   - a mutation or a subscription with a denied field anywhere in its
//     selection: it never calls next, so no resolver runs, and answers one
//     error per denied response path: over HTTP a response with "data":
//     null (200), over WebSocket the protocol's error message
//     (graphqlws.AddSubscriptionError, then the operation ends);
//   - a query with denied fields: it wraps this operation's field
//     middleware (OperationContext.ResolverMiddleware, which gqlgen calls
//     around every field but __typename, plain struct fields included) so
//     that a denied field returns its error instead of running its
//     resolver; gqlgen then nulls it, reports the error at its path and
//     propagates the null as GraphQL prescribes.
type authorization struct {
	engine  *authz.Engine
	present graphql.ErrorPresenterFunc
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = authorization{}

func (authorization) ExtensionName() string                   { return "Authorization" }
func (authorization) Validate(graphql.ExecutableSchema) error { return nil }

func (a authorization) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	claims, _ := auth.FromContext(ctx)
	res := a.engine.Authorize(oc.Doc, oc.Operation, oc.Variables, claims, authz.OperationTime(ctx))
	if res.AllowsAll() {
		return next(ctx)
	}
	if denials := res.Denials(); len(denials) > 0 {
		return a.refuse(ctx, denials)
	}
	fields := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if err := res.Field(fc.Object, fc.Field.Name); err != nil {
			return nil, err
		}
		return fields(ctx, next)
	}
	return next(ctx)
}

// refuse answers a mutation or a subscription refused as a whole: one
// error per denied path, through the presenter like every GraphQL error.
func (a authorization) refuse(ctx context.Context, denials []authz.Denial) graphql.ResponseHandler {
	errs := make(gqlerror.List, 0, len(denials))
	for _, d := range denials {
		e := a.present(ctx, d.Err)
		e.Path = d.Path
		if d.Position != nil {
			e.Locations = []gqlerror.Location{{Line: d.Position.Line, Column: d.Position.Column}}
		}
		errs = append(errs, e)
	}
	// Over our WebSocket transport the errors end the operation with the
	// protocol's error message once the response handler returns nil;
	// elsewhere AddSubscriptionError reports false.
	if graphqlws.AddSubscriptionError(ctx, errs[0]) {
		for _, e := range errs[1:] {
			graphqlws.AddSubscriptionError(ctx, e)
		}
		return func(context.Context) *graphql.Response { return nil }
	}
	return graphql.OneShot(&graphql.Response{Errors: errs})
}
