package graph

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// testExecutor is the executor NewHandler builds, for the schema with
// cfg's complexity functions.
func testExecutor(t *testing.T, opts Options, complexity ComplexityRoot) *executor {
	t.Helper()
	opts.setDefaults()
	policy, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Resolvers:  &Resolver{Hub: opts.Hub, Logger: opts.Logger},
		Directives: Directives(policy),
		Complexity: complexity,
	}
	return newExecutor(NewExecutableSchema(cfg), opts, !reflect.ValueOf(complexity).IsZero())
}

func prepare(t *testing.T, x *executor, query string, variables map[string]any) (*graphql.OperationContext, failure) {
	t.Helper()
	ctx := graphql.StartOperationTrace(context.Background())
	op, _, fail := x.prepare(ctx, &graphql.RawParams{Query: query, Variables: variables}, viaPOST)
	return op, fail
}

// TestLimitsOncePerOperation: the limits' verdict is kept per operation of
// a cached document, whether it admits or refuses, and the cache is
// bounded (opcache: between QueryCacheSize and twice that many).
func TestLimitsOncePerOperation(t *testing.T) {
	x := testExecutor(t, Options{MaxDepth: 1, QueryCacheSize: 2}, ComplexityRoot{})
	small, big := `{ __typename }`, `{ publicMessage { text } }`
	op1, fail := prepare(t, x, small, nil)
	if fail != failNone {
		t.Fatalf("small: %v", fail)
	}
	op2, _ := prepare(t, x, small, nil)
	if op1.Operation != op2.Operation {
		t.Fatal("gqlgen's query cache did not return the same document: the verdict cannot be kept")
	}
	if _, fail := prepare(t, x, big, nil); fail != failRequest {
		t.Fatalf("big: %v; want refused", fail)
	}
	if _, fail := prepare(t, x, big, nil); fail != failRequest {
		t.Fatalf("big, again: %v; want refused", fail)
	}
	if _, ok := x.perOperation.Get(op1.Operation); !ok {
		t.Fatal("the small operation's verdict is not kept")
	}

	// Four more documents: the small operation's verdict is dropped.
	for _, q := range []string{`{ a: __typename }`, `{ b: __typename }`, `{ c: __typename }`, `{ d: __typename }`} {
		prepare(t, x, q, nil)
	}
	if _, ok := x.perOperation.Get(op1.Operation); ok {
		t.Errorf("a verdict is kept after 4 more operations in a cache of 2")
	}
}

// TestComplexityReadingVariables: with a complexity function that reads an
// argument, the same document is admitted or refused by its variables;
// the verdict of the walk is still kept.
func TestComplexityReadingVariables(t *testing.T) {
	var c ComplexityRoot
	c.Mutation.SendMessage = func(child int, text string) int { return child + len(text) }
	x := testExecutor(t, Options{MaxComplexity: 10}, c)
	const send = `mutation($t: String!) { sendMessage(text: $t) { id } }`
	if _, fail := prepare(t, x, send, map[string]any{"t": "short"}); fail != failNone {
		t.Errorf("short text: %v", fail)
	}
	if _, fail := prepare(t, x, send, map[string]any{"t": "a text longer than ten"}); fail != failRequest {
		t.Errorf("long text: %v; want refused by complexity", fail)
	}
	if _, fail := prepare(t, x, send, map[string]any{"t": "short"}); fail != failNone {
		t.Errorf("short text again: %v", fail)
	}
	if !x.limits.complexityReadsVariables {
		t.Error("complexityReadsVariables not set for a schema with complexity functions")
	}
	// The server's own schema has none: complexity is per operation.
	if testExecutor(t, Options{}, ComplexityRoot{}).limits.complexityReadsVariables {
		t.Error("complexityReadsVariables set without complexity functions")
	}
}

// TestOperationKinds: subscriptions are refused over HTTP, mutations over
// GET; the WebSocket path takes every kind.
func TestOperationKinds(t *testing.T) {
	x := testExecutor(t, Options{}, ComplexityRoot{})
	ctx := graphql.StartOperationTrace(context.Background())
	for _, tt := range []struct {
		query string
		v     via
		want  failure
	}{
		{`subscription { messageSent { text } }`, viaPOST, failRequest},
		{`subscription { messageSent { text } }`, viaGET, failRequest},
		{`subscription { messageSent { text } }`, viaWebSocket, failNone},
		{`mutation { sendMessage(text: "x") { id } }`, viaGET, failMethod},
		{`mutation { sendMessage(text: "x") { id } }`, viaPOST, failNone},
		{`{ __typename }`, viaGET, failNone},
	} {
		op, _, fail := x.prepare(ctx, &graphql.RawParams{Query: tt.query}, tt.v)
		if fail != tt.want {
			t.Errorf("%s via %d: %v; want %v", tt.query, tt.v, fail, tt.want)
		}
		if fail == failNone && op.Operation.Operation == ast.Subscription && tt.v != viaWebSocket {
			t.Errorf("subscription admitted over HTTP")
		}
	}
	if _, errs := x.CreateOperationContext(ctx, &graphql.RawParams{Query: `subscription { messageSent { text } }`}); errs != nil {
		t.Errorf("CreateOperationContext (WebSocket) refused a subscription: %v", errs)
	}
}

// TestSortErrors: errors come in document order, list items by index.
func TestSortErrors(t *testing.T) {
	at := func(line, col int, path ...any) *gqlerror.Error {
		e := &gqlerror.Error{Locations: []gqlerror.Location{{Line: line, Column: col}}}
		for _, p := range path {
			switch p := p.(type) {
			case int:
				e.Path = append(e.Path, ast.PathIndex(p))
			case string:
				e.Path = append(e.Path, ast.PathName(p))
			}
		}
		return e
	}
	errs := gqlerror.List{at(1, 30, "b"), at(1, 10, "s", 10, "x"), {Message: "no location"}, at(1, 10, "s", 2, "x"), at(1, 3, "a")}
	sortErrors(errs)
	var got []string
	for _, e := range errs {
		got = append(got, e.Path.String()+e.Message)
	}
	want := []string{"a", "s[2].x", "s[10].x", "b", "no location"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q; want %q", got, want)
	}
}
