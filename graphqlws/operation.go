package graphqlws

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Codes of the errors this package itself sends for an operation, in
// extensions.code.
const (
	CodeBadRequest        = "BAD_REQUEST"         // a graphql-ws start whose payload is malformed
	CodeTooManyOperations = "TOO_MANY_OPERATIONS" // more than Options.MaxOperations at once
	CodeInternal          = "INTERNAL_SERVER_ERROR"
)

// run executes one operation the way gqlgen's own transport does
// (CreateOperationContext, then DispatchOperation and its response
// handler until it returns nil), and ends it with complete, or with error
// when it was refused before execution or a resolver reported errors
// through AddSubscriptionError.
func (c *conn) run(ctx context.Context, op *operation, params *graphql.RawParams) {
	defer func() {
		op.cancel()
		c.t.operations.Add(-1)
		if o := c.t.opts.Observer; o != nil {
			o.OperationEnded(c.proto.String())
		}
		c.workers.Done()
	}()
	var rc *graphql.OperationContext
	defer func() {
		// gqlgen recovers resolver panics itself; this catches the rest
		// (this goroutine is not under net/http's recover).
		if p := recover(); p != nil {
			c.finish(op, c.recovered(ctx, rc, p))
		}
	}()

	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// Parse, validation, variable and extension refusals, before any
		// resolver runs: PROTOCOL.md's Error message on both protocols.
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		c.finish(op, resp.Errors)
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	reported := &subscriptionErrors{}
	ctx = context.WithValue(ctx, subscriptionErrorsKey{}, reported)

	responses, ctx := c.exec.DispatchOperation(ctx, rc)
	for {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		b, err := json.Marshal(resp)
		if err != nil {
			c.log.ErrorContext(c.ctx, "graphql response not encodable", "err", err)
			c.finish(op, gqlerror.List{internalError()})
			return
		}
		typ := typeNext
		if c.proto == legacyWS {
			typ = typeData
		}
		if !c.writeOp(op, serverMessage{ID: op.id, Type: typ, Payload: b}) {
			return // completed by the client, or the connection is ending
		}
	}
	c.finish(op, reported.list())
}

// recovered turns a panic into the errors sent to the client: through the
// operation's RecoverFunc and the error presenter when the operation
// context exists, else a fixed internal error.
func (c *conn) recovered(ctx context.Context, rc *graphql.OperationContext, p any) gqlerror.List {
	if rc == nil || rc.RecoverFunc == nil {
		c.log.ErrorContext(c.ctx, "websocket operation panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return gqlerror.List{internalError()}
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	err := rc.Recover(ctx, p)
	return c.exec.DispatchError(ctx, gqlerror.List{gqlerror.WrapIfUnwrapped(err)}).Errors
}

// finish ends op unless the client already did: it is removed first, so
// that the client, once it reads complete or error, may reuse its id
// (PROTOCOL.md), then complete is sent, or error with errs. PROTOCOL.md:
// after error no complete follows.
func (c *conn) finish(op *operation, errs gqlerror.List) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	live := !c.closing && c.ops[op.id] == op
	if live {
		delete(c.ops, op.id)
	}
	c.mu.Unlock()
	if !live {
		return
	}
	if len(errs) > 0 {
		c.writeLocked(errorMessage(op.id, errs...))
		return
	}
	c.writeLocked(serverMessage{ID: op.id, Type: typeComplete})
}

// errorMessage is the error message for operation id: a list of GraphQL
// errors on both protocols (graphql-transport-ws PROTOCOL.md:
// GraphQLError[]; see the package comment for graphql-ws).
func errorMessage(id string, errs ...*gqlerror.Error) serverMessage {
	b, err := json.Marshal(errs)
	if err != nil {
		b, _ = json.Marshal(gqlerror.List{internalError()})
	}
	return serverMessage{ID: id, Type: typeError, Payload: b}
}

func badRequest(message string) *gqlerror.Error {
	return &gqlerror.Error{Message: message, Extensions: map[string]any{"code": CodeBadRequest}}
}

func tooManyOperations() *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "too many operations on this connection; complete one first",
		Extensions: map[string]any{"code": CodeTooManyOperations},
	}
}

func internalError() *gqlerror.Error {
	return &gqlerror.Error{Message: "internal server error", Extensions: map[string]any{"code": CodeInternal}}
}

type subscriptionErrorsKey struct{}

// subscriptionErrors collects what resolvers report for their operation.
type subscriptionErrors struct {
	mu   sync.Mutex
	errs gqlerror.List
}

func (s *subscriptionErrors) add(err *gqlerror.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *subscriptionErrors) list() gqlerror.List {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errs
}

// AddSubscriptionError makes the operation of ctx end with an error
// message carrying err (instead of complete) once its subscription
// resolver closes its channel: how a subscription tells the client why it
// ended. It is this package's counterpart of gqlgen's
// transport.AddSubscriptionError, which panics on a context of this
// transport. Pass err through the error presenter first; it is sent as
// is. Outside an operation of this transport (over HTTP, say) it does
// nothing and reports false.
func AddSubscriptionError(ctx context.Context, err *gqlerror.Error) bool {
	s, ok := ctx.Value(subscriptionErrorsKey{}).(*subscriptionErrors)
	if !ok || err == nil {
		return false
	}
	s.add(err)
	return true
}
