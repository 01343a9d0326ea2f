package graph

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// schemaNames returns every name a schema defines: its types (the
// built-in scalars included), their fields, arguments, input fields and
// enum values, and its directives and their arguments. The introspection
// types are left out: they are the same on every server.
func schemaNames(s *ast.Schema) map[string]bool {
	names := map[string]bool{}
	for name, def := range s.Types {
		if strings.HasPrefix(name, "__") {
			continue
		}
		names[name] = true
		for _, f := range def.Fields {
			names[f.Name] = true
			for _, a := range f.Arguments {
				names[a.Name] = true
			}
		}
		for _, v := range def.EnumValues {
			names[v.Name] = true
		}
	}
	for name, d := range s.Directives {
		names[name] = true
		for _, a := range d.Arguments {
			names[a.Name] = true
		}
	}
	return names
}

var (
	quotedPart = regexp.MustCompile(`"[^"]*"`)
	namePart   = regexp.MustCompile(`[_A-Za-z][_0-9A-Za-z]*`)
)

// leaks returns the schema names that messages show although the query
// never named them: inside quotes, as gqlparser quotes names, or, for
// type names, anywhere.
func leaks(s *ast.Schema, query string, messages []string) []string {
	asked := nameTokens(query)
	defined := schemaNames(s)
	var out []string
	for _, m := range messages {
		shown := map[string]bool{}
		for _, q := range quotedPart.FindAllString(m, -1) {
			for _, name := range namePart.FindAllString(q, -1) {
				shown[name] = true
			}
		}
		for _, name := range namePart.FindAllString(m, -1) {
			if _, isType := s.Types[name]; isType {
				shown[name] = true
			}
		}
		for name := range shown {
			if defined[name] && !asked[name] {
				out = append(out, fmt.Sprintf("%s in %q", name, m))
			}
		}
	}
	return out
}

// TestNoSchemaLeakWithIntrospectionOff: with introspection off, no error
// message names a schema element the request did not name itself, for
// each kind of validation error that names one (issue 11, item 3); with
// it on, the same requests get gqlparser's messages and suggestions.
func TestNoSchemaLeakWithIntrospectionOff(t *testing.T) {
	off := newTestHandler(t, Options{})
	on := newTestHandler(t, Options{Introspection: true})
	schema := NewExecutableSchema(Config{}).Schema()
	for _, tt := range []struct {
		name, query string
		variables   string // JSON, or ""
		leaksWhenOn string // a name gqlparser's message shows with introspection on, "" for none
	}{
		{"root field typo", `{ privateMesage { text } }`, "", "privateMessage"},
		{"field on a nested type", `{ publicMessage { txt } }`, "", "Message"},
		{"argument name typo", `mutation { sendMessage(txt: "x") { id } }`, "", "Mutation"},
		{"required argument missing", `mutation { sendMessage { id } }`, "", "text"},
		{"argument of the wrong type", `mutation { sendMessage(text: 1) { id } }`, "", "String"},
		{"type name in a fragment", `{ ...F } fragment F on Mesage { __typename }`, "", "Message"},
		{"type name in an inline fragment", `{ publicMessage { ... on Mesage { text } } }`, "", ""},
		{"fragment on an impossible type", `{ publicMessage { ... on Query { __typename } } }`, "", "Message"},
		{"variable type name", `query($t: Strin) { __typename }`, "", ""},
		{"variable in the wrong position", `mutation($t: Int) { sendMessage(text: $t) { id } }`, "", "String"},
		{"variable value of the wrong type", `mutation($t: String!) { sendMessage(text: $t) { id } }`, `{"t":{"a":1}}`, ""},
		{"directive argument", `{ __typename @include(iff: true) }`, "", "if"},
		{"selection on a scalar", `{ publicMessage { text { x } } }`, "", "String"},
		{"object without selection", `{ publicMessage }`, "", "Message"},
		{"conflicting fields", `{ publicMessage { text: id text } }`, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"query": tt.query}
			if tt.variables != "" {
				body["variables"] = json.RawMessage(tt.variables)
			}
			b, _ := json.Marshal(body)
			e := postJSON(t, off, acceptGraphQLResponse, string(b))
			if e.status != 400 || len(e.errors) == 0 {
				t.Fatalf("introspection off: %d %s; want 400 with errors", e.status, e.body)
			}
			var messages []string
			for _, err := range e.errors {
				messages = append(messages, err.Message)
				if strings.Contains(err.Message, "Did you mean") {
					t.Errorf("suggestion with introspection off: %q", err.Message)
				}
			}
			if l := leaks(schema, tt.query, messages); len(l) > 0 {
				t.Errorf("schema names leaked: %v", l)
			}

			// The same request with introspection on names what gqlparser
			// names: the sanitizer is what hides it.
			e = postJSON(t, on, acceptGraphQLResponse, string(b))
			messages = messages[:0]
			for _, err := range e.errors {
				messages = append(messages, err.Message)
			}
			if l := leaks(schema, tt.query, messages); tt.leaksWhenOn != "" && !strings.Contains(strings.Join(l, " "), tt.leaksWhenOn+" in") {
				t.Errorf("introspection on: %q does not show %s (leaks %v): the case no longer tests what it says", messages, tt.leaksWhenOn, l)
			}
		})
	}
}

// sanitizeSchema has what the server's schema lacks, to test the rule on
// every kind of name: an enum, an input object, a custom scalar and a
// directive with an argument.
const sanitizeSchema = `
enum Color { RED GREEN }
scalar Instant
input PersonInput { name: String! born: Instant favorite: Color }
directive @cached(maxAge: Int) on FIELD
type Person { name: String! }
type Query {
  paint(color: Color!): Boolean
  save(person: PersonInput): Person
}
`

// TestSanitizeEveryKindOfName runs the sanitizer on gqlparser's own
// validation and variable errors for a schema with enums, input objects,
// custom scalars and directive arguments.
func TestSanitizeEveryKindOfName(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: sanitizeSchema})
	x := &executor{maxErrors: DefaultMaxErrors}
	for _, tt := range []struct {
		name, query string
		variables   map[string]any // for variable coercion; nil: validation
	}{
		{"enum value typo", `{ paint(color: REDD) }`, nil},
		{"enum value as a string", `{ paint(color: "RED") }`, nil},
		{"input field typo", `{ save(person: {nme: "x"}) { name } }`, nil},
		{"input field missing", `{ save(person: {}) { name } }`, nil},
		{"directive argument typo", `{ paint(color: RED) @cached(maxAg: 1) }`, nil},
		{"directive argument of the wrong type", `{ paint(color: RED) @cached(maxAge: "x") }`, nil},
		{"enum inside an input variable", `query($p: PersonInput) { save(person: $p) { name } }`, map[string]any{"p": map[string]any{"name": "x", "favorite": "BLUE"}}},
		{"input variable with a wrong field type", `query($p: PersonInput) { save(person: $p) { name } }`, map[string]any{"p": map[string]any{"name": map[string]any{}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parser.ParseQuery(&ast.Source{Input: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			op := &graphql.OperationContext{}
			var errs, suggesting gqlerror.List
			if tt.variables == nil {
				errs = validator.ValidateWithRules(schema, doc, validationRules(false, DefaultMaxErrors, DefaultMaxFields))
				suggesting = validator.ValidateWithRules(schema, doc, validationRules(true, DefaultMaxErrors, DefaultMaxFields))
			} else {
				if errs = validator.ValidateWithRules(schema, doc, validationRules(false, DefaultMaxErrors, DefaultMaxFields)); len(errs) > 0 {
					t.Fatalf("the document is invalid: %v", errs)
				}
				op.Doc, op.Operation = doc, doc.Operations[0]
				if _, err := validator.VariableValues(schema, doc.Operations[0], tt.variables); err != nil {
					errs = gqlerror.List{err.(*gqlerror.Error)}
				}
				suggesting = errs
			}
			if len(errs) == 0 {
				t.Fatal("no error to sanitize")
			}
			// What gqlparser says with introspection on, suggestions included.
			var before, after []string
			for _, e := range suggesting {
				before = append(before, e.Message)
			}
			for _, e := range x.sanitize(&graphql.RawParams{Query: tt.query}, op, errs) {
				after = append(after, e.Message)
			}
			if l := leaks(schema, tt.query, after); len(l) > 0 {
				t.Errorf("schema names leaked: %v", l)
			}
			if l := leaks(schema, tt.query, before); len(l) == 0 {
				t.Errorf("gqlparser's own messages %q name nothing: the case tests nothing", before)
			}
		})
	}
}

// TestQuotedNamesOfTheRequestStay: a message that quotes only what the
// request wrote keeps its text, without suggestions.
func TestQuotedNamesOfTheRequestStay(t *testing.T) {
	h := newTestHandler(t, Options{})
	for query, want := range map[string]string{
		`query($v: Int) { __typename }`:                 `Variable "$v" is never used.`,
		`{ __typename @nope }`:                          `Unknown directive "@nope".`,
		`{ ...F }`:                                      `Unknown fragment "F".`,
		`query A { __typename } query A { __typename }`: `There can be only one operation named "A".`,
	} {
		e := postJSON(t, h, acceptJSON, queryBody(query))
		if len(e.errors) == 0 || e.errors[0].Message != want {
			t.Errorf("%s: %s; want %q", query, e.body, want)
		}
	}
}

// TestMessagesNeverEchoMuch: a parse error quotes the token it stopped
// at, and an unknown operationName was echoed by gqlgen; both are cut or
// fixed, whatever the request's size.
func TestMessagesNeverEchoMuch(t *testing.T) {
	h := newTestHandler(t, Options{Introspection: true})
	big := strings.Repeat("é", 5000)
	for name, body := range map[string]string{
		"string where a field goes": queryBody(`{ "` + big + `" }`),
		"long unknown field":        queryBody(`{ a` + strings.Repeat("b", 10000) + ` }`),
		"operationName":             `{"query":"query A { __typename }","operationName":"` + big + `"}`,
	} {
		e := postJSON(t, h, acceptJSON, body)
		if len(e.errors) == 0 {
			t.Fatalf("%s: no error: %s", name, e.body)
		}
		for _, err := range e.errors {
			if len(err.Message) > maxMessageBytes || strings.Contains(err.Message, big[:100]) || strings.Contains(err.Message, "\uFFFD") {
				t.Errorf("%s: message of %d bytes: %.200q", name, len(err.Message), err.Message)
			}
		}
	}
}
