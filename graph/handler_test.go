package graph

import (
	"maps"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// leakySchema is the real executable schema with one more Query field that
// carries no access directive, as if someone forgot it.
type leakySchema struct {
	graphql.ExecutableSchema
	schema *ast.Schema
}

func (l leakySchema) Schema() *ast.Schema { return l.schema }

// TestNewHandlerRefusesUnguardedField: the server does not start with a
// root field that has no access directive, and the error names the field.
func TestNewHandlerRefusesUnguardedField(t *testing.T) {
	v := testValidator(t)
	if _, err := NewHandler(Options{Validator: v}); err != nil {
		t.Fatalf("the real schema is refused: %v", err)
	}

	real := NewExecutableSchema(Config{Resolvers: &Resolver{}})
	leaky := *real.Schema()
	query := *leaky.Query
	query.Fields = append(append(ast.FieldList{}, query.Fields...), &ast.FieldDefinition{
		Name: "secretMessage", Type: ast.NamedType("Message", nil),
	})
	leaky.Query = &query
	leaky.Types = maps.Clone(leaky.Types)
	leaky.Types["Query"] = &query
	_, err := newHandler(leakySchema{real, &leaky}, Options{Validator: v}, false, nil)
	if err == nil || !strings.Contains(err.Error(), "Query.secretMessage has no access directive") {
		t.Fatalf("NewHandler = %v; want a refusal naming Query.secretMessage", err)
	}
}
