package authz_test

import (
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// pair is a field of a concrete object type.
type pair struct{ typ, field string }

// executedPairs is the reference the engine is checked against, written
// the way GraphQL executes rather than the way the engine walks: for every
// concrete type an object can have at a selection set, collect the fields
// that apply to it (CollectFields in the GraphQL specification, section
// 6.3.2), and go on with every concrete type the field's result can have.
// vars nil means every @skip/@include with a variable includes, as a Plan
// assumes. It memoizes (selection set, concrete type), so it is linear too,
// but shares no code with the engine.
func executedPairs(s *ast.Schema, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) map[pair]bool {
	out := map[pair]bool{}
	root := map[ast.Operation]*ast.Definition{ast.Query: s.Query, ast.Mutation: s.Mutation, ast.Subscription: s.Subscription}[op.Operation]
	if root == nil {
		return out
	}
	type visit struct {
		set any // the node owning the selection set
		typ string
	}
	seen := map[visit]bool{}
	var collect func(owner any, set ast.SelectionSet, obj *ast.Definition)
	collect = func(owner any, set ast.SelectionSet, obj *ast.Definition) {
		if seen[visit{owner, obj.Name}] {
			return
		}
		seen[visit{owner, obj.Name}] = true
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				if !referenceIncluded(sel.Directives, vars) || strings.HasPrefix(sel.Name, "__") {
					continue
				}
				out[pair{obj.Name, sel.Name}] = true
				def := obj.Fields.ForName(sel.Name)
				if def == nil || len(sel.SelectionSet) == 0 {
					continue
				}
				for _, o := range concreteTypes(s, def.Type.Name()) {
					collect(sel, sel.SelectionSet, o)
				}
			case *ast.InlineFragment:
				if referenceIncluded(sel.Directives, vars) && (sel.TypeCondition == "" || appliesTo(s, sel.TypeCondition, obj)) {
					collect(sel, sel.SelectionSet, obj)
				}
			case *ast.FragmentSpread:
				def := doc.Fragments.ForName(sel.Name)
				if def != nil && referenceIncluded(sel.Directives, vars) && appliesTo(s, def.TypeCondition, obj) {
					collect(def, def.SelectionSet, obj)
				}
			}
		}
	}
	collect(op, op.SelectionSet, root)
	return out
}

func concreteTypes(s *ast.Schema, name string) []*ast.Definition {
	def := s.Types[name]
	switch {
	case def == nil:
		return nil
	case def.Kind == ast.Object:
		return []*ast.Definition{def}
	case def.Kind == ast.Interface || def.Kind == ast.Union:
		return s.GetPossibleTypes(def)
	}
	return nil
}

func appliesTo(s *ast.Schema, typeCondition string, obj *ast.Definition) bool {
	return slices.ContainsFunc(concreteTypes(s, typeCondition), func(d *ast.Definition) bool { return d.Name == obj.Name })
}

func referenceIncluded(dirs ast.DirectiveList, vars map[string]any) bool {
	if d := dirs.ForName("skip"); d != nil && referenceBool(d, vars, false) {
		return false
	}
	if d := dirs.ForName("include"); d != nil && !referenceBool(d, vars, true) {
		return false
	}
	return true
}

// referenceBool is the value of a directive's if: argument; unknown
// (a variable without vars) gives unknown, which includes.
func referenceBool(d *ast.Directive, vars map[string]any, unknown bool) bool {
	v := d.Arguments.ForName("if").Value
	if v.Kind == ast.Variable && vars == nil {
		return unknown
	}
	b, err := v.Value(vars)
	if err != nil {
		return unknown
	}
	if b, ok := b.(bool); ok {
		return b
	}
	return unknown
}
