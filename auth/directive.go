package auth

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// This file is where access is decided: Require, and the directives that
// call it. Nothing else in the server says yes or no to a guarded field or
// route.

// The directive names this package implements.
const (
	DirectivePublic   = "public"
	DirectiveAuth     = "auth"
	DirectiveHasScope = "hasScope"
)

// Require decides access to a resource guarded by a token (scope == "") or by
// a scope. It returns nil, or an *Error with ReasonMissing,
// ReasonTokenExpired or ReasonInsufficientScope. Field directives and REST
// routes both use it, so they cannot disagree. Expiry is checked again
// because claims can outlive the request that validated them: a WebSocket
// connection authenticates once, at connection_init.
func Require(ctx context.Context, scope string) error {
	c, ok := FromContext(ctx)
	if !ok {
		return &Error{Reason: ReasonMissing}
	}
	if !c.ValidUntil.IsZero() && !time.Now().Before(c.ValidUntil) {
		return &Error{Reason: ReasonTokenExpired}
	}
	if scope != "" && !c.HasScope(scope) {
		return &Error{Reason: ReasonInsufficientScope, Scope: scope}
	}
	return nil
}

// Public implements @public: anyone may read the field.
func Public(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// Authenticated implements @auth: the field needs a valid token. Without one
// the resolver is not called and the field is null with an UNAUTHENTICATED
// error.
func Authenticated(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if err := Require(ctx, ""); err != nil {
		return nil, err
	}
	return next(ctx)
}

// HasScope implements @hasScope(scope:): the field needs a valid token that
// grants scope (FORBIDDEN otherwise, UNAUTHENTICATED without a token).
func HasScope(ctx context.Context, _ any, next graphql.Resolver, scope string) (any, error) {
	if scope == "" {
		// Require("") would mean "any token"; an empty scope is a schema
		// mistake (CheckSchema refuses it), so deny rather than widen.
		return nil, &Error{Reason: ReasonInsufficientScope}
	}
	if err := Require(ctx, scope); err != nil {
		return nil, err
	}
	return next(ctx)
}
