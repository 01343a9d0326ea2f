package authz

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/authgql/server/auth"
)

// This file is where a single resource is decided for a request: Require
// for a REST route, the directive implementations for a GraphQL field. Both
// call Decide; the operation pass (operation.go) calls it too, before any
// of these run.

// Require decides whether the caller of ctx (auth.FromContext; anonymous
// without claims) meets r now, with Decide: nil, or the *auth.Error to
// answer. REST routes use it, behind auth.Middleware.
func Require(ctx context.Context, r Requirement) error {
	claims, _ := auth.FromContext(ctx)
	return Decide(r, claims, time.Now())
}

// DirectiveFunc is the signature gqlgen gives a directive without
// arguments (a field of its generated DirectiveRoot).
type DirectiveFunc = func(ctx context.Context, obj any, next graphql.Resolver) (any, error)

// Directives are the implementations of the five access directives, for
// gqlgen's generated DirectiveRoot. They are one function: each decides the
// effective requirement of the field it runs on (Policy.FieldRequirement
// of the FieldContext's Object and Field.Name) with Decide, and calls next
// only when it holds; its own arguments do not matter, since the
// requirement already folds in every directive of the field, its type and
// its interfaces.
//
// That is what makes gqlgen's handling of type directives harmless: gqlgen
// v0.17 runs an OBJECT or INTERFACE directive around every field whose
// result is the type (Query.users runs User's @authenticated), and never
// around the type's own fields. Deciding the current field's own
// requirement turns the first into a repeat of the field's own check; the
// second is why these directives are only a second line: the operation pass
// (Engine) decides every field, type directives included, before anything
// runs, and a denied field never reaches its directive.
//
// The decision uses the operation's start time (gqlgen's
// OperationContext.Stats.OperationStart), the instant the operation pass
// decided at, so the two never disagree about an expiring token and a
// mutation allowed as a whole cannot lose a nested field mid-way. A
// subscription is thus decided at its start; the subscription itself ends
// when its token expires (package graph).
type Directives struct {
	Public, Auth, Authenticated DirectiveFunc
	HasScope                    func(ctx context.Context, obj any, next graphql.Resolver, scope string) (any, error)
	RequiresScopes              func(ctx context.Context, obj any, next graphql.Resolver, scopes [][]string) (any, error)
}

// Directives returns p's implementations of the access directives.
func (p *Policy) Directives() Directives {
	return Directives{
		Public:        p.directive,
		Auth:          p.directive,
		Authenticated: p.directive,
		HasScope: func(ctx context.Context, obj any, next graphql.Resolver, _ string) (any, error) {
			return p.directive(ctx, obj, next)
		},
		RequiresScopes: func(ctx context.Context, obj any, next graphql.Resolver, _ [][]string) (any, error) {
			return p.directive(ctx, obj, next)
		},
	}
}

// directive is the one access directive. A field it cannot name (no field
// context) or that the policy does not know is denied: a directive runs
// only on a field of the schema p was built from, so either means a wiring
// mistake, and failing closed shows it.
func (p *Policy) directive(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	var r Requirement
	ok := false
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		r, ok = p.FieldRequirement(fc.Object, fc.Field.Name)
	}
	if !ok {
		r = RequiresScopes(nil) // nobody
	}
	if r.kind == KindPublic {
		return next(ctx) // what Decide says, without looking up claims and time
	}
	claims, _ := auth.FromContext(ctx)
	// The operation started at or before now: a token still valid now was
	// valid then, so the operation's start time (a lookup in ctx) is
	// needed only for a token that has expired since.
	now := time.Now()
	if claims != nil && !now.Before(claims.ValidUntil) {
		now = OperationTime(ctx)
	}
	if err := Decide(r, claims, now); err != nil {
		return nil, err
	}
	return next(ctx)
}

// OperationTime is the instant the GraphQL operation of ctx started
// (gqlgen's OperationContext.Stats.OperationStart), or now outside an
// operation or when the transport did not record it.
func OperationTime(ctx context.Context) time.Time {
	if graphql.HasOperationContext(ctx) {
		if t := graphql.GetOperationContext(ctx).Stats.OperationStart; !t.IsZero() {
			return t
		}
	}
	return time.Now()
}
