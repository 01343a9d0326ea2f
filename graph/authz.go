package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
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
	return authorization{engine: e}, nil
}

// authorization runs the operation pass (authz.Engine) once per operation,
// as the executor's OperationCheck: after validation and the limits,
// before any resolver, on every transport. It enforces its Result:
//
//   - nothing denied (the usual case): nothing to do, at the cost of a
//     cached plan's lookup and one decision per distinct requirement, with
//     no allocation;
//   - a mutation or a subscription with a denied field anywhere in its
//     selection: it refuses the operation, so no resolver runs, with one
//     error per denied response path: over HTTP a response with "data":
//     null (200), over WebSocket the protocol's error message;
//   - a query with denied fields: it wraps this operation's field
//     middleware (OperationContext.ResolverMiddleware, which gqlgen calls
//     around every field but __typename, plain struct fields included) so
//     that a denied field returns its error instead of running its
//     resolver; gqlgen then nulls it, reports the error at its path and
//     propagates the null as GraphQL prescribes.
type authorization struct {
	engine *authz.Engine
}

func (a authorization) check(ctx context.Context, oc *graphql.OperationContext) gqlerror.List {
	claims, _ := auth.FromContext(ctx)
	now := oc.Stats.OperationStart
	if now.IsZero() {
		now = time.Now()
	}
	res := a.engine.Authorize(oc.Doc, oc.Operation, oc.Variables, claims, now)
	if res.AllowsAll() {
		return nil
	}
	if denials := res.Denials(); len(denials) > 0 {
		return refusal(denials)
	}
	fields := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if err := res.Field(fc.Object, fc.Field.Name); err != nil {
			return nil, err
		}
		return fields(ctx, next)
	}
	return nil
}

// refusal is a mutation or a subscription refused as a whole: one error
// per denied path, each wrapping its *auth.Error, which the error
// presenter turns into the client's error like every other.
func refusal(denials []authz.Denial) gqlerror.List {
	errs := make(gqlerror.List, 0, len(denials))
	for _, d := range denials {
		e := &gqlerror.Error{Message: d.Err.Error(), Path: d.Path, Err: d.Err}
		if d.Position != nil {
			e.Locations = []gqlerror.Location{{Line: d.Position.Line, Column: d.Position.Column}}
		}
		errs = append(errs, e)
	}
	return errs
}
