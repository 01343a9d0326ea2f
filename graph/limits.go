package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes of the operation limits, in extensions.code.
const (
	CodeDepthLimit         = "DEPTH_LIMIT_EXCEEDED"
	CodeFieldLimit         = "FIELD_LIMIT_EXCEEDED"
	CodeIntrospectionDepth = "INTROSPECTION_DEPTH_EXCEEDED"
)

// CodeComplexityLimit is gqlgen's code for its complexity limit, which it
// leaves unregistered (so it answers 200 although its documentation says
// 422).
const CodeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"

// These codes (the limits, and subscriptions over HTTP) answer 422: the
// operation was refused as a whole, before execution. (This registers
// constants in gqlgen's code table once; it holds no state of ours.)
func init() {
	for _, code := range []string{CodeDepthLimit, CodeFieldLimit, CodeIntrospectionDepth, CodeComplexityLimit, CodeSubscriptionTransport} {
		errcode.RegisterErrorType(code, errcode.KindProtocol)
	}
}

// maxIntrospectionListDepth bounds how deeply the list fields of the
// introspection types (fields, inputFields, interfaces, possibleTypes) may
// nest: 3 nested levels are refused. Each level multiplies the work by the
// size of the schema, so an introspection query nested a few levels is a
// cheap denial of service; graphql-js and gqlparser refuse the same.
const maxIntrospectionListDepth = 3

// operationLimits rejects operations that would cost too much before any
// resolver runs: too deep, too many fields (aliases included, fragments
// expanded) or too deeply nested introspection.
type operationLimits struct {
	maxDepth  int
	maxFields int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

func (operationLimits) ExtensionName() string                   { return "OperationLimits" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	w := walk{limits: l}
	w.selections(op.Operation.SelectionSet, 1, 0)
	return w.err
}

type walk struct {
	limits operationLimits
	fields int
	err    *gqlerror.Error
}

// selections visits a selection set, expanding fragments, and stops at the
// first limit exceeded. Stopping early is what keeps a fragment bomb (each
// fragment spreading the next twice) from costing exponential time here.
func (w *walk) selections(set ast.SelectionSet, depth, introspectionLists int) {
	for _, sel := range set {
		if w.err != nil {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			w.field(s, depth, introspectionLists)
		case *ast.InlineFragment:
			w.selections(s.SelectionSet, depth, introspectionLists)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				w.selections(s.Definition.SelectionSet, depth, introspectionLists)
			}
		}
	}
}

func (w *walk) field(f *ast.Field, depth, introspectionLists int) {
	w.fields++
	switch {
	case w.limits.maxFields > 0 && w.fields > w.limits.maxFields:
		w.err = limitError(CodeFieldLimit, f, "operation selects more than %d fields (aliases and fragments included)", w.limits.maxFields)
		return
	case w.limits.maxDepth > 0 && depth > w.limits.maxDepth:
		w.err = limitError(CodeDepthLimit, f, "operation is nested deeper than %d levels", w.limits.maxDepth)
		return
	}
	if f.ObjectDefinition != nil && strings.HasPrefix(f.ObjectDefinition.Name, "__") {
		switch f.Name {
		case "fields", "inputFields", "interfaces", "possibleTypes":
			introspectionLists++
			if introspectionLists >= maxIntrospectionListDepth {
				w.err = limitError(CodeIntrospectionDepth, f, "introspection lists are nested %d levels deep or more", maxIntrospectionListDepth)
				return
			}
		}
	}
	w.selections(f.SelectionSet, depth+1, introspectionLists)
}

func limitError(code string, f *ast.Field, format string, args ...any) *gqlerror.Error {
	err := &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}
	if f.Position != nil {
		err.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return err
}
