package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authgql/server/auth"
)

// TestDirectives calls the directive funcs as gqlgen does, with a next that
// records whether the resolver ran.
func TestDirectives(t *testing.T) {
	claims := &auth.Claims{Subject: "u", Scopes: []string{"read:x", "openid"}}
	authed := auth.NewContext(context.Background(), claims)
	anon := context.Background()
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		call   func(ctx context.Context, next func(context.Context) (any, error)) (any, error)
		reason auth.Reason // "" means allowed
	}{
		{"public anonymous", anon, func(ctx context.Context, n func(context.Context) (any, error)) (any, error) {
			return auth.Public(ctx, nil, n)
		}, ""},
		{"auth anonymous", anon, func(ctx context.Context, n func(context.Context) (any, error)) (any, error) {
			return auth.Authenticated(ctx, nil, n)
		}, auth.ReasonMissing},
		{"auth with token", authed, func(ctx context.Context, n func(context.Context) (any, error)) (any, error) {
			return auth.Authenticated(ctx, nil, n)
		}, ""},
		{"scope anonymous", anon, scopeCall("read:x"), auth.ReasonMissing},
		{"scope exact", authed, scopeCall("read:x"), ""},
		{"scope superstring", authed, scopeCall("read:xy"), auth.ReasonInsufficientScope},
		{"scope substring", authed, scopeCall("read"), auth.ReasonInsufficientScope},
		{"scope empty", authed, scopeCall(""), auth.ReasonInsufficientScope},
	} {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := tt.call(tt.ctx, func(context.Context) (any, error) { called = true; return "ok", nil })
			var e *auth.Error
			switch {
			case tt.reason == "" && (err != nil || !called):
				t.Errorf("err = %v, resolver called = %v; want allowed", err, called)
			case tt.reason != "" && (called || !errors.As(err, &e) || e.Reason != tt.reason):
				t.Errorf("err = %v, resolver called = %v; want %s and no call", err, called, tt.reason)
			}
		})
	}
}

func scopeCall(scope string) func(ctx context.Context, next func(context.Context) (any, error)) (any, error) {
	return func(ctx context.Context, n func(context.Context) (any, error)) (any, error) {
		return auth.HasScope(ctx, nil, n, scope)
	}
}
