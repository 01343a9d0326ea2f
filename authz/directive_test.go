package authz_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// fieldCtx is what gqlgen's generated code gives a directive: the field
// context of field on typ, inside an operation that started at start.
func fieldCtx(claims *auth.Claims, start time.Time, typ, field string) context.Context {
	ctx := context.Background()
	if claims != nil {
		ctx = auth.NewContext(ctx, claims)
	}
	oc := &graphql.OperationContext{}
	oc.Stats.OperationStart = start
	ctx = graphql.WithOperationContext(ctx, oc)
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: typ, Field: graphql.CollectedField{Field: &ast.Field{Name: field}}})
}

// TestDirectives calls the five directive implementations as gqlgen does,
// with a next that records whether the resolver ran. Whatever directive
// runs and whatever its arguments say, it decides the effective
// requirement of the field it runs on.
func TestDirectives(t *testing.T) {
	d := mustPolicy(t, loadSchema(t, trapFiles)).Directives()
	calls := map[string]func(ctx context.Context, next graphql.Resolver) (any, error){
		"@public":         func(ctx context.Context, n graphql.Resolver) (any, error) { return d.Public(ctx, nil, n) },
		"@auth":           func(ctx context.Context, n graphql.Resolver) (any, error) { return d.Auth(ctx, nil, n) },
		"@authenticated":  func(ctx context.Context, n graphql.Resolver) (any, error) { return d.Authenticated(ctx, nil, n) },
		"@hasScope":       func(ctx context.Context, n graphql.Resolver) (any, error) { return d.HasScope(ctx, nil, n, "ignored") },
		"@requiresScopes": func(ctx context.Context, n graphql.Resolver) (any, error) { return d.RequiresScopes(ctx, nil, n, nil) },
	}
	tests := []struct {
		name       string
		claims     *auth.Claims
		typ, field string
		want       auth.Reason // "" means allowed
	}{
		{"public field, anonymous", nil, "Query", "publicMessage", ""},
		{"authenticated, anonymous", nil, "Query", "me", auth.ReasonMissing},
		{"authenticated, token", token(), "Query", "me", ""},
		{"scope exact", token("read:messages"), "Query", "scopedMessage", ""},
		{"scope superstring", token("read:messages_all"), "Query", "scopedMessage", auth.ReasonInsufficientScope},
		{"scope substring", token("read"), "Query", "scopedMessage", auth.ReasonInsufficientScope},
		{"OR of ANDs, one of two", token("read:audit"), "AuditEntry", "action", auth.ReasonInsufficientScope},
		{"OR of ANDs, both", token("read:users", "read:audit"), "AuditEntry", "id", ""},
		// gqlgen runs User's @authenticated around Message.sender: it
		// decides Message.sender, which is public.
		{"type directive around a field returning the type", nil, "Message", "sender", ""},
		{"interface field directive", token("secret"), "Vault", "level", auth.ReasonInsufficientScope},
		{"expired at the operation's start", &auth.Claims{Subject: "u", ValidUntil: testNow}, "Query", "me", auth.ReasonTokenExpired},
		{"unknown field fails closed", token("admin"), "Query", "nope", auth.ReasonInsufficientScope},
	}
	for _, tt := range tests {
		for name, call := range calls {
			t.Run(tt.name+" "+name, func(t *testing.T) {
				called := false
				next := func(context.Context) (any, error) { called = true; return "ok", nil }
				_, err := call(fieldCtx(tt.claims, testNow, tt.typ, tt.field), next)
				var e *auth.Error
				switch {
				case tt.want == "" && (err != nil || !called):
					t.Errorf("err = %v, resolver called = %v; want allowed", err, called)
				case tt.want != "" && (called || !errors.As(err, &e) || e.Reason != tt.want):
					t.Errorf("err = %v, resolver called = %v; want %s and no call", err, called, tt.want)
				}
			})
		}
	}
	t.Run("no field context fails closed", func(t *testing.T) {
		called := false
		_, err := d.Public(context.Background(), nil, func(context.Context) (any, error) { called = true; return nil, nil })
		if err == nil || called {
			t.Errorf("err = %v, called = %v; want refused", err, called)
		}
	})
}

// TestDirectiveUsesOperationStart: the directive decides at the instant
// the operation pass did, so a token expiring mid-operation cannot deny a
// nested field of a mutation that was allowed as a whole.
func TestDirectiveUsesOperationStart(t *testing.T) {
	d := mustPolicy(t, loadSchema(t, demoFiles)).Directives()
	claims := &auth.Claims{Subject: "u", ValidUntil: testNow.Add(time.Second)}
	next := func(context.Context) (any, error) { return "ok", nil }
	if _, err := d.Auth(fieldCtx(claims, testNow, "Query", "me"), nil, next); err != nil {
		t.Errorf("operation started before expiry: %v", err)
	}
	if _, err := d.Auth(fieldCtx(claims, testNow.Add(time.Second), "Query", "me"), nil, next); err == nil {
		t.Error("operation started at expiry: allowed")
	}
}

func TestRequire(t *testing.T) {
	ctx := context.Background()
	if err := authz.Require(ctx, authz.Public()); err != nil {
		t.Errorf("Require(public), anonymous = %v", err)
	}
	err := authz.Require(ctx, authz.Authenticated())
	if e, ok := errors.AsType[*auth.Error](err); !ok || e.Reason != auth.ReasonMissing {
		t.Errorf("Require(authenticated), anonymous = %v; want %s", err, auth.ReasonMissing)
	}
	withToken := auth.NewContext(ctx, &auth.Claims{Subject: "u", Scopes: []string{"read:x"}, ValidUntil: time.Now().Add(time.Hour)})
	if err := authz.Require(withToken, authz.HasScope("read:x")); err != nil {
		t.Errorf("Require(read:x) with it = %v", err)
	}
	err = authz.Require(withToken, authz.HasScope("read:y"))
	if e, ok := errors.AsType[*auth.Error](err); !ok || e.Reason != auth.ReasonInsufficientScope || e.Scope() != "read:y" {
		t.Errorf("Require(read:y) without it = %v; want insufficient_scope for read:y", err)
	}
}

func TestPolicyScopes(t *testing.T) {
	got := mustPolicy(t, loadSchema(t, demoFiles)).Scopes()
	want := []string{"admin", "delete:messages", "read:audit", "read:messages", "read:users", "write:messages"}
	if !slices.Equal(got, want) {
		t.Errorf("Scopes() = %v; want %v", got, want)
	}
}
