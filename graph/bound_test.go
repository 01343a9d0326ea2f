package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// TestErrorsBounded: no request gets more than MaxErrors errors, plus one
// that says the rest were left out, nor a response out of proportion to
// its size (issue 11, item 4: 2,496 unknown directives in 7.5 KB gave
// 4,991 errors and 730 KB).
func TestErrorsBounded(t *testing.T) {
	directives := "query { __typename" + strings.Repeat(" @a", 2496) + " }"
	fields := "query {" + strings.Repeat(" x", 4990) + " }"
	var guarded strings.Builder // 120 fields an anonymous caller may not read: execution errors
	guarded.WriteString("{")
	for i := range 120 {
		fmt.Fprintf(&guarded, " a%d: privateMessage { text }", i)
	}
	guarded.WriteString(" }")

	for _, introspection := range []bool{false, true} {
		h := newTestHandler(t, Options{Introspection: introspection})
		for name, query := range map[string]string{
			"unknown directives": directives,
			"unknown fields":     fields,
			"denied fields":      guarded.String(),
		} {
			body := queryBody(query)
			e := postJSON(t, h, acceptJSON, body)
			if n := len(e.errors); n != DefaultMaxErrors+1 || e.errors[n-1].Extensions["code"] != CodeTooManyErrors {
				t.Errorf("%s (introspection %v): %d errors, the last %v; want %d, the last %s",
					name, introspection, n, e.errors[n-1], DefaultMaxErrors+1, CodeTooManyErrors)
			}
			if len(e.body) > 2*len(body)+16<<10 {
				t.Errorf("%s (introspection %v): a %d-byte request got a %d-byte response", name, introspection, len(body), len(e.body))
			}
		}
	}

	t.Run("MaxErrors", func(t *testing.T) {
		e := postJSON(t, newTestHandler(t, Options{MaxErrors: 2}), acceptJSON, queryBody("{ x y z w }"))
		if len(e.errors) != 3 || e.errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" || e.errors[1].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" || e.errors[2].Extensions["code"] != CodeTooManyErrors {
			t.Errorf("MaxErrors 2: %s", e.body)
		}
		if e := postJSON(t, newTestHandler(t, Options{MaxErrors: 4}), acceptJSON, queryBody("{ x y z w }")); len(e.errors) != 4 {
			t.Errorf("4 errors with MaxErrors 4 were cut: %s", e.body)
		}
	})

	t.Run("the parser's token limit still holds", func(t *testing.T) {
		e := postJSON(t, newTestHandler(t, Options{}), acceptJSON, queryBody("query { __typename"+strings.Repeat(" @a", DefaultParserTokenLimit/2)+" }"))
		if e.code() != "GRAPHQL_PARSE_FAILED" || len(e.errors) != 1 {
			t.Errorf("%d tokens: %s", DefaultParserTokenLimit+4, e.body)
		}
	})
}

// TestValidationStopsCollecting: the validation rules share one count, and
// drop the errors past MaxErrors+1 as they find them, instead of building
// thousands for bound to cut.
func TestValidationStopsCollecting(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { a: Int }`})
	doc, err := parser.ParseQuery(&ast.Source{Input: "{" + strings.Repeat(" x @y", 50) + " }"})
	if err != nil {
		t.Fatal(err)
	}
	for _, introspection := range []bool{false, true} {
		if errs := validator.ValidateWithRules(schema, doc, validationRules(introspection, 5, DefaultMaxFields)); len(errs) != 6 {
			t.Errorf("introspection %v: %d errors collected; want 6", introspection, len(errs))
		}
	}
}

// TestOverlapRuleBounded: gqlparser's OverlappingFieldsCanBeMerged, whose
// time grows with the square of the fields written, runs on documents of
// at most MaxFields fields written, and a larger one is refused instead,
// with the field limit's code. Fields of one response name with different
// arguments conflict pairwise: the conflicts reported show whether the
// rule ran.
func TestOverlapRuleBounded(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { a(x: Int): Int }`})
	doc := func(n int) *ast.QueryDocument {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, " a(x: %d)", i)
		}
		d, err := parser.ParseQuery(&ast.Source{Input: b.String() + " }"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ran := func(errs []string) bool {
		for _, e := range errs {
			if strings.Contains(e, "conflict because") {
				return true
			}
		}
		return false
	}
	messages := func(n int) []string {
		var out []string
		for _, e := range validator.ValidateWithRules(schema, doc(n), validationRules(true, DefaultMaxErrors, 50)) {
			out = append(out, e.Message)
		}
		return out
	}
	if got := messages(50); !ran(got) {
		t.Errorf("50 fields, limit 50: the rule did not run: %q", got)
	}
	if got := messages(51); ran(got) || len(got) != 1 || !strings.Contains(got[0], "more than 50 fields") {
		t.Errorf("51 fields, limit 50: %q; want the rule skipped and one refusal", got)
	}

	h := newTestHandler(t, Options{Introspection: true, ParserTokenLimit: 100_000})
	e := postJSON(t, h, acceptGraphQLResponse, queryBody("{"+strings.Repeat(" __typename", 20_000)+" }"))
	if e.status != 400 || e.code() != CodeFieldLimit {
		t.Errorf("20,000 fields written: %d %s", e.status, e.body)
	}
	// A small conflict is an ordinary validation error, with introspection
	// on or off: the limit's code is for documents over the limit.
	for _, introspection := range []bool{true, false} {
		h := newTestHandler(t, Options{Introspection: introspection})
		e := postJSON(t, h, acceptGraphQLResponse, queryBody(`{ publicMessage { text } publicMessage { text: id } }`))
		if e.status != 400 || e.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("introspection %v: two fields of one name in conflict: %d %s; want GRAPHQL_VALIDATION_FAILED", introspection, e.status, e.body)
		}
	}
}
