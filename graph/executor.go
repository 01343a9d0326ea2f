package graph

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	gqlexecutor "github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	gqllru "github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/authgql/server/internal/opcache"
)

// An OperationCheck may refuse an operation as a whole once it is parsed,
// validated, its variables coerced and the limits met, before any
// resolver runs. A non-empty list refuses it: over HTTP the answer is 200
// with "data": null and these errors (the operation was valid, and refused
// as GraphQL refuses fields: SPEC.md, a mutation or subscription touching
// a field the caller may not read, or a mutation with bad input); over
// WebSocket the errors of the subscribe message (the graphql-transport-ws
// error message is the WebSocket transport's to send: gqlgen's sends
// errors it has no code table entry for in a next message instead, as
// they are, without the error presenter). The list is bounded like every other
// (Options.MaxErrors). nil or empty lets the operation run. It runs once
// per operation and request, on every transport, so it should cost
// little.
type OperationCheck func(ctx context.Context, op *graphql.OperationContext) gqlerror.List

// checkInOrder returns the OperationCheck that runs each non-nil check in
// turn and refuses with the first refusal.
func checkInOrder(checks ...OperationCheck) OperationCheck {
	return func(ctx context.Context, oc *graphql.OperationContext) gqlerror.List {
		for _, check := range checks {
			if check == nil {
				continue
			}
			if errs := check(ctx, oc); len(errs) > 0 {
				return errs
			}
		}
		return nil
	}
}

// CodeTooManyErrors marks the last error of a list cut at
// Options.MaxErrors.
const CodeTooManyErrors = "TOO_MANY_ERRORS"

// DefaultMaxErrors is Options.MaxErrors when zero: graphql-js stops
// validating at 100 errors too.
const DefaultMaxErrors = 100

// executor is the one graphql.GraphExecutor every transport uses (POST,
// GET, WebSocket). It wraps gqlgen's executor so that, on every
// transport alike:
//
//   - the errors of CreateOperationContext (parse, validation, variable
//     coercion) are sanitized (see sanitize) and bounded (bound);
//   - the operation limits (depth, fields, introspection depth,
//     complexity) run after validation, their verdict kept per operation
//     of a cached document, so a repeated query pays them once;
//   - the OperationCheck, if any, may refuse the operation;
//   - the errors of every response are bounded.
type executor struct {
	inner  *gqlexecutor.Executor
	es     graphql.ExecutableSchema
	limits operationLimits
	// perOperation keeps the limits' verdict (nil: within them) of each
	// operation of a document in gqlgen's query cache.
	perOperation  *opcache.Cache[*gqlerror.Error]
	maxErrors     int
	introspection bool
	check         OperationCheck
}

var _ graphql.GraphExecutor = (*executor)(nil)

// newExecutor configures gqlgen's executor for es (query cache, token
// limit, validation rules, error presenter, introspection) and wraps it.
// opts has its defaults.
func newExecutor(es graphql.ExecutableSchema, opts Options, complexityReadsVariables bool) *executor {
	inner := gqlexecutor.New(es)
	inner.SetQueryCache(gqllru.New[*ast.QueryDocument](opts.QueryCacheSize))
	inner.SetParserTokenLimit(opts.ParserTokenLimit)
	inner.SetDefaultRulesFn(func() *rules.Rules { return validationRules(opts.Introspection, opts.MaxErrors, opts.MaxFields) })
	// gqlgen's own switch for FieldsOnCorrectType and ScalarLeafs; the
	// other rules' suggestions validationRules turns off.
	inner.SetDisableSuggestion(!opts.Introspection)
	inner.SetErrorPresenter(presentError(opts.Logger, opts.Metrics))
	inner.SetRecoverFunc(recoverPanic(opts.Logger))
	if opts.Introspection {
		inner.Use(extension.Introspection{})
	}
	return &executor{
		inner: inner,
		es:    es,
		limits: operationLimits{
			maxDepth:                 opts.MaxDepth,
			maxFields:                opts.MaxFields,
			maxComplexity:            opts.MaxComplexity,
			complexityReadsVariables: complexityReadsVariables,
		},
		perOperation:  opcache.New[*gqlerror.Error](opts.QueryCacheSize),
		maxErrors:     opts.MaxErrors,
		introspection: opts.Introspection,
		check:         opts.CheckOperation,
	}
}

// via is how an operation arrived, for the rules that depend on it.
type via int

const (
	viaWebSocket via = iota // every operation type
	viaPOST                 // queries and mutations; subscriptions need a WebSocket
	viaGET                  // queries only (GraphQL over HTTP, "GET")
)

// failure is why prepare refused an operation, which decides the HTTP
// status and whether the response has "data".
type failure int

const (
	failNone    failure = iota
	failRequest         // a GraphQL request error: parse, validation, variables, limits; no "data"
	failRefused         // the OperationCheck refused it: "data": null
	failMethod          // a mutation over GET: 405
)

// CreateOperationContext implements graphql.GraphExecutor for the
// WebSocket transport: every operation type is allowed.
func (x *executor) CreateOperationContext(ctx context.Context, params *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	op, errs, _ := x.prepare(ctx, params, viaWebSocket)
	return op, errs
}

// prepare is CreateOperationContext with the transport's rules, telling
// which kind of failure it met.
func (x *executor) prepare(ctx context.Context, params *graphql.RawParams, v via) (*graphql.OperationContext, gqlerror.List, failure) {
	op, errs := x.inner.CreateOperationContext(ctx, params)
	if errs != nil {
		return op, x.bound(x.sanitize(params, op, errs)), failRequest
	}
	switch op.Operation.Operation {
	case ast.Subscription:
		if v != viaWebSocket {
			return op, gqlerror.List{{
				Message:    "subscriptions are served over WebSocket (graphql-transport-ws or graphql-ws) at this endpoint",
				Extensions: map[string]any{"code": CodeSubscriptionTransport},
			}}, failRequest
		}
	case ast.Mutation:
		if v == viaGET {
			return op, gqlerror.List{errMutationOverGET.gqlError()}, failMethod
		}
	}
	if err := x.checkLimits(ctx, op); err != nil {
		return op, gqlerror.List{err}, failRequest
	}
	if x.check != nil {
		if errs := x.check(ctx, op); len(errs) > 0 {
			return op, x.bound(errs), failRefused
		}
	}
	return op, nil, failNone
}

// checkLimits returns the operation's limits verdict, computed once per
// operation of a cached document. The verdict depends on the operation
// alone: gqlgen's query cache keeps one *ast.QueryDocument per distinct
// query text, so the operation's pointer is the same for every repeat
// (complexity, when it reads variables, is computed per request: see
// operationLimits).
func (x *executor) checkLimits(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	verdict, ok := x.perOperation.Get(op.Operation)
	if !ok {
		verdict = x.limits.check(ctx, x.es, op.Operation)
		x.perOperation.Put(op.Operation, verdict)
	}
	if verdict == nil {
		if x.limits.complexityReadsVariables {
			return x.limits.complexity(ctx, x.es, op.Operation, op.Variables)
		}
		return nil
	}
	refusal := *verdict // each response gets its own error value
	return &refusal
}

// DispatchOperation implements graphql.GraphExecutor: gqlgen's, with each
// response's errors bounded.
func (x *executor) DispatchOperation(ctx context.Context, op *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	next, ctx := x.inner.DispatchOperation(ctx, op)
	return func(ctx context.Context) *graphql.Response {
		resp := next(ctx)
		if resp != nil && len(resp.Errors) > 1 {
			sortErrors(resp.Errors)
			resp.Errors = x.bound(resp.Errors)
		}
		return resp
	}, ctx
}

// DispatchError implements graphql.GraphExecutor: gqlgen's (the error
// presenter and response middleware), on a bounded list.
func (x *executor) DispatchError(ctx context.Context, list gqlerror.List) *graphql.Response {
	return x.inner.DispatchError(ctx, x.bound(list))
}

// bound cuts a list longer than maxErrors to its first maxErrors errors
// and one more that says the rest was left out, so that no request can
// make a response of errors out of proportion to it.
func (x *executor) bound(errs gqlerror.List) gqlerror.List {
	if len(errs) <= x.maxErrors {
		return errs
	}
	out := make(gqlerror.List, x.maxErrors+1)
	copy(out, errs[:x.maxErrors])
	out[x.maxErrors] = &gqlerror.Error{
		Message:    fmt.Sprintf("too many errors: only the first %d are reported", x.maxErrors),
		Extensions: map[string]any{"code": CodeTooManyErrors},
	}
	return out
}

// sortErrors puts a response's errors in the order of the document: gqlgen
// resolves fields concurrently and reports their errors as they come, so
// the same request could answer its errors in another order each time. By
// where each was written (line, column), then by path (list indexes as
// numbers); errors without either keep their places relative to each
// other.
func sortErrors(errs gqlerror.List) {
	slices.SortStableFunc(errs, func(a, b *gqlerror.Error) int {
		al, bl := firstLocation(a), firstLocation(b)
		if c := cmp.Or(cmp.Compare(al.Line, bl.Line), cmp.Compare(al.Column, bl.Column)); c != 0 {
			return c
		}
		return comparePaths(a.Path, b.Path)
	})
}

// firstLocation is an error's first location; errors without one sort
// last.
func firstLocation(e *gqlerror.Error) gqlerror.Location {
	if len(e.Locations) == 0 {
		return gqlerror.Location{Line: math.MaxInt, Column: math.MaxInt}
	}
	return e.Locations[0]
}

func comparePaths(a, b ast.Path) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ai, aIdx := a[i].(ast.PathIndex)
		bi, bIdx := b[i].(ast.PathIndex)
		switch {
		case aIdx && bIdx:
			if c := cmp.Compare(ai, bi); c != 0 {
				return c
			}
		case aIdx != bIdx:
			if aIdx {
				return -1
			}
			return 1
		default:
			an, _ := a[i].(ast.PathName)
			bn, _ := b[i].(ast.PathName)
			if c := cmp.Compare(an, bn); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}
