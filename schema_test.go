package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth/authtest"
)

// TestSchemaDirectives reads schema.graphqls, finds every root field and its
// access directive, and checks each against the real server: no token, a
// token without the scope, a token with it, an invalid token. A field added
// to the schema is covered without editing this test.
func TestSchemaDirectives(t *testing.T) {
	src, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	ts := startServer(t, nil)
	is := ts.Issuer

	fields := 0
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			fields++
			access, scope := accessOf(t, f)
			op := operationFor(schema, root, f)
			exec := func(t *testing.T, authorization string) fieldResult {
				return ts.execute(t, root, op, f.Name, authorization)
			}
			t.Run(root.Name+"."+f.Name, func(t *testing.T) {
				t.Logf("@%s %s: %s", access, scope, op)
				anyToken := bearer(is.Token(t, authtest.Scope("openid", "profile")))

				t.Run("no token", func(t *testing.T) {
					exec(t, "").want(t, map[string]string{"public": "", "auth": "UNAUTHENTICATED", "hasScope": "UNAUTHENTICATED"}[access])
				})
				t.Run("token without the scope", func(t *testing.T) {
					exec(t, anyToken).want(t, map[string]string{"public": "", "auth": "", "hasScope": "FORBIDDEN"}[access])
				})
				t.Run("token with the scope", func(t *testing.T) {
					tok := anyToken
					if scope != "" {
						tok = bearer(is.Token(t, authtest.Scope(scope)))
					}
					exec(t, tok).want(t, "")
				})
				t.Run("invalid token", func(t *testing.T) {
					r := exec(t, bearer(is.Token(t, authtest.Audience("https://not-this-api.example"), authtest.Scope(scope))))
					r.want(t, "401")
				})
			})
		}
	}
	if fields < 3 {
		t.Fatalf("found %d root fields in schema.graphqls; the schema has at least 3", fields)
	}
}

// accessOf returns the field's access directive and, for @hasScope, its
// scope. The server refuses to start without exactly one, so neither should
// this test.
func accessOf(t *testing.T, f *ast.FieldDefinition) (access, scope string) {
	t.Helper()
	for _, d := range f.Directives {
		switch d.Name {
		case "public", "auth":
			access = d.Name
		case "hasScope":
			access = d.Name
			scope = d.Arguments.ForName("scope").Value.Raw
		}
	}
	if access == "" {
		t.Fatalf("%s has no access directive", f.Name)
	}
	return access, scope
}

// operationFor builds an operation selecting f, with every scalar field of
// its type and a made-up value for each required argument.
func operationFor(schema *ast.Schema, root *ast.Definition, f *ast.FieldDefinition) string {
	var args []string
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			args = append(args, a.Name+": "+sampleValue(a.Type))
		}
	}
	call := f.Name
	if len(args) > 0 {
		call += "(" + strings.Join(args, ", ") + ")"
	}
	if def := schema.Types[f.Type.Name()]; def != nil && def.Kind == ast.Object {
		var sub []string
		for _, sf := range def.Fields {
			if t := schema.Types[sf.Type.Name()]; t != nil && (t.Kind == ast.Scalar || t.Kind == ast.Enum) && len(sf.Arguments) == 0 && !strings.HasPrefix(sf.Name, "__") {
				sub = append(sub, sf.Name)
			}
		}
		call += " { " + strings.Join(sub, " ") + " }"
	}
	return strings.ToLower(root.Name) + " { " + call + " }"
}

func sampleValue(t *ast.Type) string {
	if t.Elem != nil {
		return "[" + sampleValue(t.Elem) + "]"
	}
	switch t.Name() {
	case "Int":
		return "1"
	case "Float":
		return "1.5"
	case "Boolean":
		return "true"
	default:
		return `"schema test"`
	}
}

// fieldResult is what one execution of one root field gave.
type fieldResult struct {
	status int
	value  json.RawMessage // the field's value, or nil
	codes  []string        // extensions.code of errors
	raw    string
}

// want checks the result: "" means the field resolved without errors,
// "401" a whole-request refusal, anything else the field's error code.
func (r fieldResult) want(t *testing.T, want string) {
	t.Helper()
	switch want {
	case "401":
		if r.status != http.StatusUnauthorized {
			t.Errorf("status %d; want 401: %s", r.status, r.raw)
		}
	case "":
		if r.status != http.StatusOK || len(r.codes) > 0 || len(r.value) == 0 || string(r.value) == "null" {
			t.Errorf("want data without errors; got status %d: %s", r.status, r.raw)
		}
	default:
		if r.status != http.StatusOK || len(r.codes) != 1 || r.codes[0] != want || (len(r.value) > 0 && string(r.value) != "null") {
			t.Errorf("want the field null with error %s; got status %d: %s", want, r.status, r.raw)
		}
	}
}

// execute runs op over HTTP POST. Subscriptions go over WebSocket.
func (ts *testServer) execute(t *testing.T, root *ast.Definition, op, field, authorization string) fieldResult {
	t.Helper()
	if strings.HasPrefix(op, "subscription") {
		return ts.executeSubscription(t, op, field, authorization)
	}
	r := ts.graphQL(t, op, authorization)
	return parseResult(r.Status, r.Body, field)
}

func parseResult(status int, body []byte, field string) fieldResult {
	res := fieldResult{status: status, raw: string(body)}
	var resp struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		res.raw = fmt.Sprintf("undecodable (%v): %s", err, body)
		return res
	}
	res.value = resp.Data[field]
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		res.codes = append(res.codes, code)
	}
	return res
}

// executeSubscription runs a subscription field over WebSocket for the
// schema-driven test: it subscribes, waits until the server has accepted or
// refused the operation, and, once accepted, sends a message so that an
// event arrives.
func (ts *testServer) executeSubscription(t *testing.T, op, field, authorization string) fieldResult {
	t.Helper()
	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	payload := map[string]any{}
	if authorization != "" {
		payload["authorization"] = authorization
	}
	ack, err := c.init(t, payload)
	if err != nil {
		// The connection was refused: what an HTTP request gets as a 401.
		if closeStatus(err) == 4403 || closeStatus(err) == 4401 {
			return fieldResult{status: http.StatusUnauthorized, raw: err.Error()}
		}
		t.Fatalf("connection_init: %v", err)
	}
	if ack.Type != "connection_ack" {
		t.Fatalf("connection_init answered %+v", ack)
	}
	c.subscribe(t, "1", op)
	// Give the server time to run the directive before the event is sent;
	// a refused subscription answers at once with an error instead.
	if m, err := c.next(t, 300*time.Millisecond); err != errNoMessage {
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		return wsResult(field, m)
	}
	sendMessage(t, ts, "schema test event")
	m, err := c.next(t, 5*time.Second)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	return wsResult(field, m)
}

func wsResult(field string, m wsMessage) fieldResult {
	switch m.Type {
	case "next", "data":
		return parseResult(http.StatusOK, m.Payload, field)
	case "error":
		// An operation refused before it started: errors only.
		return parseResult(http.StatusOK, []byte(`{"errors":`+string(m.Payload)+`}`), field)
	}
	return fieldResult{status: -1, raw: m.Type + " " + string(m.Payload)}
}
