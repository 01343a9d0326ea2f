package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Names of our own validation rules, in gqlerror.Error.Rule.
const (
	ruleIntrospectionDisabled = "IntrospectionDisabled"
	ruleDocumentFields        = "DocumentFields"
)

// validationRules are gqlparser's defaults with these changes:
//
//   - Its MaxIntrospectionDepth rule walks a fragment again at every
//     spread, so a fragment bomb under __type costs exponential time
//     before any of our limits run (22 levels, a 1 KiB request, took
//     seconds); operationLimits enforces the same bound in one linear,
//     early-exiting walk.
//   - Its OverlappingFieldsCanBeMerged compares every two fields of the
//     same response name: its time grows with the square of the fields
//     written (4,990 × __typename, within the token limit, took 2.8 s).
//     It runs only on a document of at most maxFields fields written, all
//     operations and fragments together (about 30 ms at 500 on this
//     project's 2-core machine); a larger document is refused
//     (ruleDocumentFields, code FIELD_LIMIT_EXCEEDED). A valid operation
//     has no more fields written than it selects, so within
//     GRAPHQL_MAX_FIELDS it is never refused for this.
//   - With introspection off, __schema and __type are refused at
//     validation instead of failing in their resolvers as internal errors,
//     and the rules that suggest schema names ("Did you mean ...?") run in
//     their variants without suggestions (see sanitize).
//   - Every rule shares one count of errors: past maxErrors+1 the rest are
//     dropped as they are found, so that a document of thousands of
//     unknown fields or directives does not build thousands of errors
//     that executor.bound would then cut.
func validationRules(introspection bool, maxErrors, maxFields int) *rules.Rules {
	base := rules.NewDefaultRules()
	base.RemoveRule(rules.MaxIntrospectionDepth.Name)
	base.RemoveRule(rules.OverlappingFieldsCanBeMergedRule.Name)
	base.AddRule(ruleDocumentFields, boundedOverlap(maxFields))
	if !introspection {
		for _, r := range []core.Rule{
			rules.FieldsOnCorrectTypeRuleWithoutSuggestions,
			rules.KnownArgumentNamesRuleWithoutSuggestions,
			rules.KnownTypeNamesRuleWithoutSuggestions,
			rules.ScalarLeafsRuleWithoutSuggestions,
			rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
		} {
			base.RemoveRule(strings.TrimSuffix(r.Name, "WithoutSuggestions"))
			base.AddRule(r.Name, r.RuleFunc)
		}
		base.AddRule(ruleIntrospectionDisabled, func(o *core.Events, addError core.AddErrFunc) {
			o.OnField(func(_ *core.Walker, f *ast.Field) {
				if f.Name == "__schema" || f.Name == "__type" {
					addError(core.Message("introspection is disabled on this server (GRAPHQL_INTROSPECTION)"), core.At(f.Position))
				}
			})
		})
	}
	found := 0
	capped := rules.NewRules()
	for name, rule := range base.GetInner() {
		capped.AddRule(name, func(o *core.Events, addError core.AddErrFunc) {
			rule(o, func(opts ...core.ErrorOption) {
				if found++; found <= maxErrors+1 {
					addError(opts...)
				}
			})
		})
	}
	return capped
}

// boundedOverlap is gqlparser's OverlappingFieldsCanBeMerged, run in a
// walk of its own once the document is known to have at most maxFields
// fields written, and refusing it otherwise.
func boundedOverlap(maxFields int) core.RuleFunc {
	return func(observers *core.Events, addError core.AddErrFunc) {
		done := false
		// Operation observers run once an operation's selections are
		// walked; one is enough to see the whole document.
		observers.OnOperation(func(w *core.Walker, op *ast.OperationDefinition) {
			if done {
				return
			}
			done = true
			if !writtenFieldsWithin(w.Document, maxFields) {
				addError(core.Message("the document selects more than %d fields (all its operations and fragments together)", maxFields),
					core.At(op.Position))
				return
			}
			// Its errors are its own rule's, not this one's: this rule's
			// name marks the document refused for its size.
			overlap := &core.Events{}
			rules.OverlappingFieldsCanBeMergedRule.RuleFunc(overlap, func(options ...core.ErrorOption) {
				addError(append(options, func(e *gqlerror.Error) { e.Rule = rules.OverlappingFieldsCanBeMergedRule.Name })...)
			})
			core.Walk(w.Schema, w.Document, overlap)
		})
	}
}

// writtenFieldsWithin reports whether doc has at most max fields written
// in its operations and fragments (each written field once, fragments not
// expanded); it stops counting past max.
func writtenFieldsWithin(doc *ast.QueryDocument, max int) bool {
	var stack []ast.SelectionSet
	for _, op := range doc.Operations {
		stack = append(stack, op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		stack = append(stack, f.SelectionSet)
	}
	n := 0
	for len(stack) > 0 {
		set := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if n++; n > max {
					return false
				}
				stack = append(stack, s.SelectionSet)
			case *ast.InlineFragment:
				stack = append(stack, s.SelectionSet)
			}
		}
	}
	return true
}
