package graph

import (
	"strings"
	"testing"
)

// TestEveryMutationHasAnInputRule: every root field of Mutation is known
// to inputRule, with a check or with nil, so that a mutation added to the
// schema gets a decision about its inputs instead of half-running on one.
func TestEveryMutationHasAnInputRule(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	if schema.Mutation == nil {
		t.Fatal("the schema has no Mutation type")
	}
	for _, f := range schema.Mutation.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		if _, known := inputRule(f.Name); !known {
			t.Errorf("Mutation.%s has no input rule: add it to inputRule (graph/inputs.go), nil if any argument value is fine", f.Name)
		}
	}
}
