package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/messages"
)

// mutationInputs is the OperationCheck that refuses a mutation as a whole
// when one of its root fields would refuse its arguments as bad user
// input. GraphQL runs a mutation's root fields one after the other
// (GraphQL spec, section 6.2.2), so without it the fields before a bad one
// would already have run: `a: sendMessage(text: "hi") b:
// sendMessage(text: "")` would send "hi" and answer "data": null. With
// it nothing runs, as for a denied field (SPEC.md: a mutation never
// half-runs), and each bad field gets its error at its path with the code
// its resolver would have given (BAD_USER_INPUT).
//
// It checks the rules that depend on the arguments alone (inputRule).
// What can fail only while running (the bus unavailable between two
// sends) still fails that field alone.
func mutationInputs(bus messages.Bus) OperationCheck {
	return func(_ context.Context, oc *graphql.OperationContext) gqlerror.List {
		if oc.Operation.Operation != ast.Mutation {
			return nil
		}
		var errs gqlerror.List
		// CollectFields applies fragments, @skip and @include as
		// execution will, so exactly the fields that would run are checked.
		for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"}) {
			rule, _ := inputRule(f.Name)
			if rule == nil {
				continue
			}
			if err := rule(bus, f.ArgumentMap(oc.Variables)); err != nil {
				e := &gqlerror.Error{Message: err.Error(), Path: ast.Path{ast.PathName(f.Alias)}, Err: err}
				if f.Position != nil {
					e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
				}
				errs = append(errs, e)
			}
		}
		return errs
	}
}

// inputRule returns the check of a Mutation field's arguments (coerced,
// variables included) that its resolver would otherwise make while
// running, nil for a field whose arguments any value of their type
// satisfies; known is false for a field this file does not know, which
// TestEveryMutationHasAnInputRule catches when the schema gains one.
func inputRule(field string) (rule func(bus messages.Bus, args map[string]any) error, known bool) {
	switch field {
	case "sendMessage":
		return func(bus messages.Bus, args map[string]any) error {
			// As the generated code reads it: a number given for a
			// String variable is read as its digits.
			text, err := graphql.UnmarshalString(args["text"])
			if err != nil {
				return err
			}
			return bus.CheckText(text)
		}, true
	case "deleteMessage":
		return nil, true // any ID: an unknown one deletes nothing (false)
	}
	return nil, false
}
