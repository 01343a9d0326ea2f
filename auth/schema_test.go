package auth_test

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
)

const directives = `
directive @public on FIELD_DEFINITION
directive @auth on FIELD_DEFINITION
directive @hasScope(scope: String!) on FIELD_DEFINITION
type M { text: String! }
`

func TestCheckSchema(t *testing.T) {
	for _, tt := range []struct {
		name, schema string
		want         []string // one line per offending field; none means accepted
	}{
		{"all guarded", `type Query { a: M @public b: M @auth c: M @hasScope(scope: "read:x") }
			type Mutation { m: M @hasScope(scope: "write:x") } type Subscription { s: M @auth }`, nil},
		{"query field without directive", `type Query { a: M @public leak: M }`, []string{"Query.leak has no access directive"}},
		{"mutation and subscription too", `type Query { a: M @public } type Mutation { m: M } type Subscription { s: M }`,
			[]string{"Mutation.m has no access directive", "Subscription.s has no access directive"}},
		{"two directives", `type Query { a: M @public @auth }`, []string{"Query.a has 2 access directives"}},
		{"scope with a space", `type Query { a: M @hasScope(scope: "read x") }`, []string{"Query.a has @hasScope without a valid"}},
		{"scope with a quote", `type Query { a: M @hasScope(scope: "read\"x") }`, []string{"Query.a has @hasScope without a valid"}},
		{"nested fields are free", `type Query { a: N @auth } type N { secret: String }`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, gqlErr := gqlparser.LoadSchema(&ast.Source{Input: directives + tt.schema})
			if gqlErr != nil {
				t.Fatal(gqlErr)
			}
			err := auth.CheckSchema(s)
			if tt.want == nil {
				if err != nil {
					t.Errorf("CheckSchema = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckSchema = nil; want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("CheckSchema = %q; want %d lines", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q; want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestSchemaScopes(t *testing.T) {
	s, gqlErr := gqlparser.LoadSchema(&ast.Source{Input: directives + `
		type Query { a: M @hasScope(scope: "read:b") b: M @auth c: N @hasScope(scope: "read:a") }
		type N { x: String @hasScope(scope: "read:b") y: String @hasScope(scope: "admin") }`})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	if got := strings.Join(auth.SchemaScopes(s), " "); got != "admin read:a read:b" {
		t.Errorf("SchemaScopes = %q", got)
	}
}
