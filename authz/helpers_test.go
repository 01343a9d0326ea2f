package authz_test

import (
	"os"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// testNow is the clock of every test; tokens are valid until a minute later.
var testNow = time.Unix(1_700_000_000, 0)

// token returns claims of a valid token granting scopes.
func token(scopes ...string) *auth.Claims {
	return &auth.Claims{Subject: "user-1", Scopes: scopes, ValidUntil: testNow.Add(time.Minute)}
}

// loadSchema loads files (paths from this package's directory) and extra
// SDL with gqlparser, as gqlgen does at start.
func loadSchema(t testing.TB, files []string, extra ...string) *ast.Schema {
	t.Helper()
	var sources []*ast.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &ast.Source{Name: f, Input: string(b)})
	}
	for i, s := range extra {
		sources = append(sources, &ast.Source{Name: "extra" + string(rune('0'+i)), Input: s})
	}
	s, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		t.Fatalf("LoadSchema: %v", err)
	}
	return s
}

func mustPolicy(t testing.TB, s *ast.Schema) *authz.Policy {
	t.Helper()
	p, err := authz.NewPolicy(s)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}

func mustEngine(t testing.TB, p *authz.Policy, opts authz.Options) *authz.Engine {
	t.Helper()
	e, err := authz.NewEngine(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustQuery parses and validates a document, as gqlgen does before the
// operation pass, and returns its operation named name ("" for the only one).
func mustQuery(t testing.TB, s *ast.Schema, query, name string) (*ast.QueryDocument, *ast.OperationDefinition) {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(s, query)
	if len(errs) > 0 {
		t.Fatalf("LoadQuery(%q): %v", query, errs)
	}
	op := doc.Operations.ForName(name)
	if op == nil {
		t.Fatalf("no operation %q", name)
	}
	return doc, op
}

// demoFiles is the server's own schema (SPEC.md's), so these tests decide
// what the server does; trapFiles adds the types that only the known traps
// need.
var demoFiles = []string{"../schema.graphqls"}
var trapFiles = []string{"../schema.graphqls", "testdata/traps.graphqls"}
