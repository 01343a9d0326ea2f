package prototype

import (
	"context"
	"errors"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// Authorization is the gqlgen extension that runs the operation pass once
// per operation, after validation and before any resolver:
//
//   - nothing denied: it only calls next;
//   - a mutation or a subscription with denials: it never calls next, and
//     answers one error per denied path (HTTP: 200, "data": null; WebSocket:
//     the protocol's error message, through AddSubscriptionError);
//   - a query with denials: it wraps this operation's field middleware
//     (OperationContext.ResolverMiddleware, which gqlgen's ResolveField
//     calls around every field, plain struct fields included) so a denied
//     field returns its error instead of running its resolver.
type Authorization struct {
	Engine  *authz.Engine
	Present graphql.ErrorPresenterFunc
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = Authorization{}

func (Authorization) ExtensionName() string                   { return "Authorization" }
func (Authorization) Validate(graphql.ExecutableSchema) error { return nil }

func (a Authorization) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	claims, _ := auth.FromContext(ctx)
	res := a.Engine.Authorize(oc.Doc, oc.Operation, oc.Variables, claims, time.Now())
	if res.AllowsAll() {
		return next(ctx)
	}
	if denials := res.Denials(); len(denials) > 0 {
		errs := make(gqlerror.List, 0, len(denials))
		for _, d := range denials {
			e := a.Present(ctx, d.Err)
			e.Path = d.Path
			if d.Position != nil {
				e.Locations = []gqlerror.Location{{Line: d.Position.Line, Column: d.Position.Column}}
			}
			errs = append(errs, e)
		}
		// The WebSocket transport passes on the upgrade request's headers.
		if oc.Headers.Get("Upgrade") != "" {
			for _, e := range errs {
				transport.AddSubscriptionError(ctx, e)
			}
			return func(context.Context) *graphql.Response { return nil }
		}
		return graphql.OneShot(&graphql.Response{Errors: errs})
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

// Directives implements every access directive with the same decision: the
// effective requirement of the field the directive runs on. gqlgen also
// runs a type's OBJECT/INTERFACE directive around each field that returns
// the type; deciding the current field's own requirement keeps that
// harmless.
func Directives(p *authz.Policy) DirectiveRoot {
	decide := func(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		r, _ := p.FieldRequirement(fc.Object, fc.Field.Name)
		claims, _ := auth.FromContext(ctx)
		if err := authz.Decide(r, claims, time.Now()); err != nil {
			return nil, err
		}
		return next(ctx)
	}
	return DirectiveRoot{
		Public:        decide,
		Auth:          decide,
		Authenticated: decide,
		HasScope: func(ctx context.Context, obj any, next graphql.Resolver, _ string) (any, error) {
			return decide(ctx, obj, next)
		},
		RequiresScopes: func(ctx context.Context, obj any, next graphql.Resolver, _ [][]string) (any, error) {
			return decide(ctx, obj, next)
		},
	}
}

// PresentError shows an authorization error as the contract says:
// extensions.code, and requiredScopes on FORBIDDEN.
func PresentError(ctx context.Context, err error) *gqlerror.Error {
	out := &gqlerror.Error{Path: graphql.GetPath(ctx)}
	if ge, ok := errors.AsType[*gqlerror.Error](err); ok {
		if ge.Path != nil {
			out.Path = ge.Path
		}
		out.Locations = ge.Locations
	}
	var e *authz.Error
	if !errors.As(err, &e) {
		out.Message = "internal server error"
		return out
	}
	r := auth.Describe(err)
	out.Message = r.Description
	out.Extensions = map[string]any{"code": r.GraphQLCode}
	if e.Reason() == auth.ReasonInsufficientScope {
		out.Extensions["requiredScopes"] = e.RequiredScopes()
	}
	return out
}
