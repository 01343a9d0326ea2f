package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/complexity"
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

// CodeComplexityLimit refuses an operation over Options.MaxComplexity
// (gqlgen's code for its own complexity limit).
const CodeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"

// gqlgen's WebSocket transport answers an operation refused with one of
// these codes (the limits, and subscriptions over HTTP) with the
// protocol's error message, as it does validation errors, instead of a
// result. (This registers constants in gqlgen's code table once; it
// holds no state of ours. The HTTP transports are ours and do not read
// it.)
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
// expanded), too deeply nested introspection, or too complex. The
// executor runs them after validation and keeps their verdict per
// operation of a cached document (executor.checkLimits).
type operationLimits struct {
	maxDepth      int
	maxFields     int
	maxComplexity int
	// complexityReadsVariables is set when the schema has complexity
	// functions (Config.Complexity), which receive the fields' arguments,
	// variables included; complexity is then computed per request.
	// Without them, gqlgen's complexity is one per field plus its
	// selection's, a function of the operation alone.
	complexityReadsVariables bool
}

// check is the verdict on op that holds for every request running it: the
// walk, then complexity unless it reads variables. Cheap walk first: it
// stops at the first limit exceeded, so that gqlgen's complexity
// calculation, which walks everything, only ever sees an operation of at
// most maxFields fields.
func (l operationLimits) check(ctx context.Context, es graphql.ExecutableSchema, op *ast.OperationDefinition) *gqlerror.Error {
	w := walk{limits: l}
	w.selections(op.SelectionSet, 1, 0)
	if w.err != nil || l.complexityReadsVariables {
		return w.err
	}
	return l.complexity(ctx, es, op, nil)
}

// complexity refuses op when gqlgen's complexity of it, with vars, is over
// maxComplexity (what gqlgen's extension.FixedComplexityLimit computes,
// without its per-request statistics).
func (l operationLimits) complexity(ctx context.Context, es graphql.ExecutableSchema, op *ast.OperationDefinition, vars map[string]any) *gqlerror.Error {
	if l.maxComplexity <= 0 {
		return nil
	}
	if c := complexity.Calculate(ctx, es, op, vars); c > l.maxComplexity {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation has complexity %d, which exceeds the limit of %d", c, l.maxComplexity),
			Extensions: map[string]any{"code": CodeComplexityLimit},
		}
	}
	return nil
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
