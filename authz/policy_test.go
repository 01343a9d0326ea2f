package authz_test

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/authz"
)

func TestFieldRequirement(t *testing.T) {
	p := mustPolicy(t, loadSchema(t, trapFiles))
	tests := []struct {
		typ, field string
		want       string
	}{
		{"Query", "publicMessage", "public"},
		{"Query", "privateMessage", "authenticated"},
		{"Query", "scopedMessage", "scopes: read:messages"},
		{"Query", "me", "authenticated"},
		{"Query", "users", "scopes: read:users"},
		{"Query", "node", "public"},
		{"Query", "auditLog", "authenticated"},
		{"Mutation", "deleteMessage", "scopes: delete:messages OR admin"},
		{"Subscription", "messageSent", "scopes: read:messages"},
		// A type's directive guards the fields of the type, not the fields
		// returning it.
		{"Message", "sender", "public"},
		{"User", "id", "authenticated"},
		{"User", "name", "authenticated"},
		{"User", "email", "scopes: read:users OR admin"},
		{"AuditEntry", "id", "scopes: read:audit AND read:users"},
		{"AuditEntry", "action", "scopes: read:audit AND read:users"},
		{"Node", "id", "public"},
		// An interface's directive guards every field of every implementing
		// type, and an interface field's directive the same field of every
		// implementation.
		{"Secret", "code", "scopes: secret"},
		{"Secret", "level", "scopes: secret AND level2"},
		{"Vault", "code", "scopes: secret"},
		{"Vault", "level", "scopes: secret AND level2"},
		{"Vault", "label", "scopes: secret"},
		{"Vault", "id", "scopes: secret"},
		// Always readable.
		{"User", "__typename", "public"},
		{"__Type", "fields", "public"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"."+tt.field, func(t *testing.T) {
			r, ok := p.FieldRequirement(tt.typ, tt.field)
			if !ok {
				t.Fatalf("FieldRequirement(%q, %q) not found", tt.typ, tt.field)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("FieldRequirement(%q, %q) = %q; want %q", tt.typ, tt.field, got, tt.want)
			}
		})
	}
	if _, ok := p.FieldRequirement("User", "nope"); ok {
		t.Error("FieldRequirement of an unknown field: ok = true")
	}
}

// TestFieldLookup checks the hot-path lookup: concrete types only, one id
// per distinct requirement.
func TestFieldLookup(t *testing.T) {
	p := mustPolicy(t, loadSchema(t, demoFiles))
	userID, ok := p.Field("User", "id")
	if !ok {
		t.Fatal(`Field("User", "id") not found`)
	}
	me, _ := p.Field("Query", "me")
	if userID != me {
		t.Errorf("User.id and Query.me are both authenticated but have ids %d and %d", userID, me)
	}
	if got := p.Requirement(userID).String(); got != "authenticated" {
		t.Errorf("Requirement(%d) = %q", userID, got)
	}
	pub, _ := p.Field("Query", "publicMessage")
	if pub != 0 {
		t.Errorf("the public requirement has id %d; want 0", pub)
	}
	for _, pair := range [][2]string{{"Node", "id"}, {"User", "__typename"}, {"__Type", "name"}, {"Query", "__schema"}} {
		if _, ok := p.Field(pair[0], pair[1]); ok {
			t.Errorf("Field(%q, %q) found; the hot path knows concrete types' own fields only", pair[0], pair[1])
		}
	}
	// public, authenticated, read:messages, read:users, admin OR read:users,
	// read:audit AND read:users, write:messages, admin OR delete:messages.
	if got := p.NumRequirements(); got != 8 {
		t.Errorf("NumRequirements() = %d; want 8", got)
	}
}

func TestCheckSchema(t *testing.T) {
	const directives = `
directive @public on FIELD_DEFINITION | OBJECT | UNION | INPUT_FIELD_DEFINITION
directive @auth on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | INPUT_FIELD_DEFINITION
directive @hasScope(scope: String!) on FIELD_DEFINITION | OBJECT | INTERFACE
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE
directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE
`
	tests := []struct {
		name string
		sdl  string
		want []string // one line each, in order
	}{
		{"valid", `type Query { a: String @public b: String @requiresScopes(scopes: [["x", "y"], ["z"]]) }`, nil},
		{"root field without directive",
			`type Query { a: String }  type Mutation { m: String }  type Subscription { s: String }`,
			[]string{
				"schema: Mutation.m has no access directive: add exactly one of @public, @auth, @authenticated, @hasScope(scope:), @requiresScopes(scopes:)",
				"schema: Query.a has no access directive: add exactly one of @public, @auth, @authenticated, @hasScope(scope:), @requiresScopes(scopes:)",
				"schema: Subscription.s has no access directive: add exactly one of @public, @auth, @authenticated, @hasScope(scope:), @requiresScopes(scopes:)",
			}},
		{"root field with two directives",
			`type Query { a: String @auth @hasScope(scope: "x") }`,
			[]string{"schema: Query.a has 2 access directives (@auth, @hasScope): keep exactly one"}},
		{"directive on a root type",
			`type Query @authenticated { a: String @public }`,
			[]string{"schema: type Query has @authenticated: access directives on a root operation type are refused; put one on each of its fields"}},
		{"empty outer list",
			`type Query { a: String @requiresScopes(scopes: []) }`,
			[]string{"schema: Query.a has @requiresScopes(scopes:) whose outer list is empty (no token could ever be granted)"}},
		{"empty inner list",
			`type Query { a: String @requiresScopes(scopes: [["x"], []]) }`,
			[]string{"schema: Query.a has @requiresScopes(scopes:) whose inner list 2 is empty"}},
		{"single list shorthand",
			`type Query { a: String @requiresScopes(scopes: ["x", "y"]) }`,
			[]string{`schema: Query.a has @requiresScopes(scopes:) whose item 1 is not a list (write [["a", "b"]] for a AND b, [["a"], ["b"]] for a OR b)`}},
		{"space in a scope",
			`type Query { a: String @requiresScopes(scopes: [["read users"]]) }`,
			[]string{`schema: Query.a has @requiresScopes(scopes:) whose inner list 1 has a value that "read users" is not an RFC 6749 scope-token (printable ASCII, no space, '"' or '\')`}},
		{"bad hasScope",
			`type Query { a: String @hasScope(scope: "") b: String @hasScope(scope: "é") }`,
			[]string{
				`schema: Query.a has @hasScope(scope:) whose value "" is not an RFC 6749 scope-token (printable ASCII, no space, '"' or '\')`,
				`schema: Query.b has @hasScope(scope:) whose value "é" is not an RFC 6749 scope-token (printable ASCII, no space, '"' or '\')`,
			}},
		{"bad scope on a type and on a nested field",
			`type Query { t: T @public }  type T @hasScope(scope: "a\"b") { f: String @requiresScopes(scopes: [[""]]) }`,
			[]string{
				`schema: type T has @hasScope(scope:) whose value "a\"b" is not an RFC 6749 scope-token (printable ASCII, no space, '"' or '\')`,
				`schema: T.f has @requiresScopes(scopes:) whose inner list 1 has a value that "" is not an RFC 6749 scope-token (printable ASCII, no space, '"' or '\')`,
			}},
		{"public with another directive",
			`type Query { t: T @public }  type T { f: String @public @auth }`,
			[]string{"schema: T.f has @public with @public, @auth: @public means anyone; keep one"}},
		{"public on a type",
			`type Query { t: T @public }  type T @public { f: String }`,
			[]string{"schema: type T has @public: a type cannot loosen its fields; put @public on fields"}},
		{"directive on a union",
			`type Query { u: U @public }  type T { f: String }  union U @auth = T`,
			[]string{"schema: union U has @auth: access directives apply to fields, object types and interfaces only"}},
		{"directive on an input field",
			`type Query { a(i: I): String @public }  input I { x: String @auth }`,
			[]string{"schema: I.x has @auth: input fields are not read, so they carry no access directive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := gqlparser.LoadSchema(&ast.Source{Input: directives + tt.sdl})
			if err != nil {
				t.Fatalf("LoadSchema: %v", err)
			}
			err = authz.CheckSchema(s)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("CheckSchema:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if _, perr := authz.NewPolicy(s); (perr == nil) != (tt.want == nil) {
				t.Errorf("NewPolicy error = %v; want one exactly when CheckSchema has one", perr)
			}
		})
	}
}

// TestCheckSchemaDemo checks that the schemas of SPEC.md pass.
func TestCheckSchemaDemo(t *testing.T) {
	for _, files := range [][]string{demoFiles, trapFiles} {
		if err := authz.CheckSchema(loadSchema(t, files)); err != nil {
			t.Errorf("CheckSchema(%v): %v", files, err)
		}
	}
}
