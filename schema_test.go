package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth/authtest"
)

// TestSchemaAuthorization reads schema.graphqls and checks, against the
// real server, who may read every field of every object type, root types
// included, and every interface field (through the interface): a field
// added to the schema, or a type, adds its cases without editing this
// test.
//
// For each field it derives the field's requirement from the directives
// itself (the field's own, its type's, its interfaces'; see need), not
// from package authz, finds operations that reach the field from a root
// field of Query or Mutation (directly, through lists, and through
// interfaces and unions with a type condition) and that return data for
// it, then runs each with tokens derived from the requirement: tokens that
// meet it (one per scope set) must read the field without errors; tokens
// that meet every field on the way but not the field itself must get it
// null with UNAUTHENTICATED or FORBIDDEN (and extensions.requiredScopes)
// at its path, and nothing else. A mutation is refused as a whole instead.
// Root fields also get an invalid token (401); subscription fields are
// checked over WebSocket at the root.
func TestSchemaAuthorization(t *testing.T) {
	src, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	ts := startServer(t, map[string]string{"LOG_LEVEL": "error"})
	c := &schemaChecker{t: t, ts: ts, schema: schema, tokens: map[string]string{}}
	c.harvestIDs()

	routes := c.routes()
	checked := map[string]bool{} // "Type.field" with at least one working route
	for _, r := range routes {
		// One route per target, root type and shape is enough.
		shape := r.name() + " " + r.shape() + " from " + r.root.Name
		if checked[shape] {
			continue
		}
		if !c.discover(&r) {
			continue
		}
		checked[shape] = true
		checked[r.name()+" "+r.shape()] = true
		checked[r.name()] = true
		t.Run(r.name()+" via "+r.describe(), func(t *testing.T) { c.check(t, r) })
	}
	if sub := schema.Subscription; sub != nil {
		for _, f := range sub.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			checked[sub.Name+"."+f.Name] = true
			t.Run(sub.Name+"."+f.Name, func(t *testing.T) { c.checkSubscription(t, sub, f) })
		}
	}

	// Every field of every object and interface type must have been
	// reached; a field no operation can reach with data needs demo data.
	for _, def := range schema.Types {
		if strings.HasPrefix(def.Name, "__") || (def.Kind != ast.Object && def.Kind != ast.Interface) {
			continue
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			key := def.Name + "." + f.Name
			if def.Kind == ast.Interface {
				// Checked on each implementation, and directly through the
				// interface for at least one.
				found := false
				for k := range checked {
					if strings.HasSuffix(k, "."+f.Name+" interface "+def.Name) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no operation selecting it on the interface returned data; add demo data reaching it", key)
				}
				continue
			}
			if !checked[key] {
				t.Errorf("%s: no operation from a root field returned data for it; add demo data reaching it", key)
			}
		}
	}
}

// need is what reading a field takes, computed here from the directives
// independently of package authz: nothing, a valid token, or a valid token
// granting every scope of one of anyOf.
type need struct {
	token bool
	anyOf [][]string // nil: any valid token will do
}

func directiveNeed(dirs ast.DirectiveList) need {
	n := need{}
	for _, d := range dirs {
		switch d.Name {
		case "auth", "authenticated":
			n = n.and(need{token: true})
		case "hasScope":
			n = n.and(need{token: true, anyOf: [][]string{{d.Arguments.ForName("scope").Value.Raw}}})
		case "requiresScopes":
			var sets [][]string
			for _, inner := range d.Arguments.ForName("scopes").Value.Children {
				var set []string
				for _, s := range inner.Value.Children {
					set = append(set, s.Value.Raw)
				}
				sets = append(sets, set)
			}
			n = n.and(need{token: true, anyOf: sets})
		}
	}
	return n
}

// and is reading under both n and o: scope sets are combined pairwise.
func (n need) and(o need) need {
	out := need{token: n.token || o.token}
	switch {
	case n.anyOf == nil:
		out.anyOf = o.anyOf
	case o.anyOf == nil:
		out.anyOf = n.anyOf
	default:
		for _, a := range n.anyOf {
			for _, b := range o.anyOf {
				out.anyOf = append(out.anyOf, union(a, b))
			}
		}
	}
	return out
}

// fieldNeed is SPEC.md's rule: the field's own directive AND its type's
// AND, for each interface the type implements, the interface's AND that
// of the interface's field.
func fieldNeed(schema *ast.Schema, typ *ast.Definition, field string) need {
	n := directiveNeed(typ.Directives)
	if f := typ.Fields.ForName(field); f != nil {
		n = n.and(directiveNeed(f.Directives))
	}
	for _, name := range typ.Interfaces {
		i := schema.Types[name]
		n = n.and(directiveNeed(i.Directives))
		if f := i.Fields.ForName(field); f != nil {
			n = n.and(directiveNeed(f.Directives))
		}
	}
	return n
}

// caller is who sends a request: anonymous, or a token granting scopes.
type caller struct {
	token  bool
	scopes []string
}

func (c caller) String() string {
	if !c.token {
		return "anonymous"
	}
	return fmt.Sprintf("token %q", strings.Join(c.scopes, " "))
}

func (n need) grants(c caller) bool {
	if !n.token {
		return true
	}
	if !c.token {
		return false
	}
	if n.anyOf == nil {
		return true
	}
	return slices.ContainsFunc(n.anyOf, func(set []string) bool { return isSubset(set, c.scopes) })
}

// callers returns the callers that meet n with as little as possible: one
// per scope set.
func (n need) callers() []caller {
	switch {
	case !n.token:
		return []caller{{}}
	case n.anyOf == nil:
		return []caller{{token: true}}
	}
	var out []caller
	for _, set := range n.anyOf {
		out = append(out, caller{token: true, scopes: set})
	}
	return out
}

// hop is one field on the way from a root field to the field under test,
// selected on a concrete type (inside "... on On" when its parent is
// abstract).
type hop struct {
	on    *ast.Definition // the concrete type the field is selected on
	field *ast.FieldDefinition
	in    *ast.Definition // the abstract type selected on, wrapped in "... on On"; nil for none
}

// route is an operation reaching one field.
type route struct {
	root   *ast.Definition
	hops   []hop
	target hop // the field under test
	// direct: the target is selected on the interface itself (no type
	// condition), the parent's concrete type checked from __typename.
	direct *ast.Definition
	args   map[*ast.FieldDefinition]string // chosen literal arguments
}

func (r route) name() string { return r.target.on.Name + "." + r.target.field.Name }

func (r route) shape() string {
	switch {
	case r.direct != nil:
		return "interface " + r.direct.Name
	case r.target.in != nil:
		return "type condition in " + strings.ToLower(string(r.target.in.Kind)) + " " + r.target.in.Name
	case len(r.hops) > 0 && r.hops[len(r.hops)-1].field.Type.Elem != nil:
		return "list"
	}
	return "direct"
}

func (r route) describe() string {
	var parts []string
	for _, h := range append(append([]hop(nil), r.hops...), r.target) {
		parts = append(parts, h.field.Name)
	}
	return r.root.Name + "." + strings.Join(parts, ".") + " (" + r.shape() + ")"
}

// path is the target's response path, list indexes left out.
func (r route) path() string {
	var keys []string
	for _, h := range r.hops {
		keys = append(keys, h.field.Name)
	}
	return strings.Join(append(keys, r.target.field.Name), ".")
}

// need is what the fields on the way take, and what the target takes.
func (r route) needs(schema *ast.Schema) (way, field need) {
	for _, h := range r.hops {
		way = way.and(fieldNeed(schema, h.on, h.field.Name))
	}
	return way, fieldNeed(schema, r.target.on, r.target.field.Name)
}

// operation renders r as a GraphQL document.
func (r route) operation() string {
	sel := func(h hop, inner string) string {
		s := h.field.Name
		if a := r.args[h.field]; a != "" {
			s += "(" + a + ")"
		}
		if inner != "" {
			s += " { " + inner + " }"
		}
		if h.in != nil {
			s = "... on " + h.on.Name + " { " + s + " }"
		}
		return s
	}
	inner := ""
	if isComposite(r.target.field.Type) {
		inner = "__typename"
	}
	body := "__typename " + sel(r.target, inner)
	for i := len(r.hops) - 1; i >= 0; i-- {
		body = sel(r.hops[i], body)
	}
	if len(r.hops) == 0 {
		body = sel(r.target, inner)
	}
	return strings.ToLower(r.root.Name) + " { " + body + " }"
}

func isComposite(t *ast.Type) bool {
	return t.Name() != "" && !slices.Contains([]string{"String", "ID", "Int", "Float", "Boolean"}, t.Name())
}

type schemaChecker struct {
	t      *testing.T
	ts     *testServer
	schema *ast.Schema
	ids    []string          // ID values seen in the data, for ID arguments
	tokens map[string]string // scopes -> minted token
}

// everyone is a caller granted every scope the schema names.
func (c *schemaChecker) everyone() caller {
	var all []string
	for _, def := range c.schema.Types {
		for _, dirs := range append([]ast.DirectiveList{def.Directives}, fieldDirectives(def)...) {
			for _, set := range directiveNeed(dirs).anyOf {
				all = union(all, set)
			}
		}
	}
	slices.Sort(all)
	return caller{token: true, scopes: all}
}

func fieldDirectives(def *ast.Definition) []ast.DirectiveList {
	var out []ast.DirectiveList
	for _, f := range def.Fields {
		out = append(out, f.Directives)
	}
	return out
}

func (c *schemaChecker) authorization(t *testing.T, who caller) string {
	if !who.token {
		return ""
	}
	key := strings.Join(who.scopes, " ")
	if tok, ok := c.tokens[key]; ok {
		return tok
	}
	tok := bearer(c.ts.Issuer.Token(t, authtest.Scope(who.scopes...)))
	c.tokens[key] = tok
	return tok
}

// possible returns the concrete types a value of the named type can have.
func (c *schemaChecker) possible(name string) []*ast.Definition {
	def := c.schema.Types[name]
	if def == nil {
		return nil
	}
	if def.Kind == ast.Object {
		return []*ast.Definition{def}
	}
	types := c.schema.GetPossibleTypes(def)
	slices.SortFunc(types, func(a, b *ast.Definition) int { return strings.Compare(a.Name, b.Name) })
	return types
}

// routes lists every way to reach every field from Query and Mutation,
// up to three fields deep, shortest first, without visiting a type twice.
func (c *schemaChecker) routes() []route {
	var out []route
	var walk func(root *ast.Definition, hops []hop, typeName string, seen []string)
	walk = func(root *ast.Definition, hops []hop, typeName string, seen []string) {
		var abstract *ast.Definition
		if def := c.schema.Types[typeName]; def.Kind != ast.Object {
			abstract = def
		}
		for _, on := range c.possible(typeName) {
			for _, f := range on.Fields {
				if strings.HasPrefix(f.Name, "__") {
					continue
				}
				out = append(out, route{root: root, hops: hops, target: hop{on: on, field: f, in: abstract}})
				if iface := c.interfaceWith(on, typeName, f.Name); iface != nil {
					out = append(out, route{root: root, hops: hops, target: hop{on: on, field: f}, direct: iface})
				}
			}
		}
		if len(hops) == 3 {
			return
		}
		for _, on := range c.possible(typeName) {
			for _, f := range on.Fields {
				next := f.Type.Name()
				if d := c.schema.Types[next]; d == nil || d.Kind == ast.Scalar || d.Kind == ast.Enum || slices.Contains(seen, next) {
					continue
				}
				h := hop{on: on, field: f, in: abstract}
				walk(root, append(slices.Clip(hops), h), next, append(slices.Clip(seen), next))
			}
		}
	}
	for _, root := range []*ast.Definition{c.schema.Query, c.schema.Mutation} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			out = append(out, route{root: root, target: hop{on: root, field: f}})
			if d := c.schema.Types[f.Type.Name()]; d != nil && d.Kind != ast.Scalar && d.Kind != ast.Enum {
				walk(root, []hop{{on: root, field: f}}, f.Type.Name(), []string{root.Name, f.Type.Name()})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b route) int { return len(a.hops) - len(b.hops) })
	return out
}

// interfaceWith returns typeName when it is an interface declaring field
// (so the field can be selected on it directly) and on implements it.
func (c *schemaChecker) interfaceWith(on *ast.Definition, typeName, field string) *ast.Definition {
	def := c.schema.Types[typeName]
	if def.Kind != ast.Interface || def.Fields.ForName(field) == nil || !slices.Contains(on.Interfaces, typeName) {
		return nil
	}
	return def
}

// harvestIDs collects the ID values the root Query fields without
// arguments return, as candidate values of ID arguments.
func (c *schemaChecker) harvestIDs() {
	for _, f := range c.schema.Query.Fields {
		if strings.HasPrefix(f.Name, "__") || len(requiredArgs(f)) > 0 || !isComposite(f.Type) {
			continue
		}
		var parts []string
		for _, on := range c.possible(f.Type.Name()) {
			for _, sf := range on.Fields {
				if sf.Type.Name() == "ID" {
					parts = append(parts, "... on "+on.Name+" { "+sf.Name+" }")
				}
			}
		}
		if len(parts) == 0 {
			continue
		}
		res := c.post(c.t, "query { "+f.Name+" { "+strings.Join(parts, " ")+" } }", c.everyone())
		collectStrings(res.Data, &c.ids)
	}
	if len(c.ids) == 0 {
		c.t.Fatal("no ID values in the data: the ID arguments cannot be tested")
	}
}

func collectStrings(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		if !slices.Contains(*out, v) {
			*out = append(*out, v)
		}
	case []any:
		for _, e := range v {
			collectStrings(e, out)
		}
	case map[string]any:
		for _, e := range v {
			collectStrings(e, out)
		}
	}
}

func requiredArgs(f *ast.FieldDefinition) []*ast.ArgumentDefinition {
	var out []*ast.ArgumentDefinition
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			out = append(out, a)
		}
	}
	return out
}

// candidates are literal values to try for an argument: IDs from the
// data, an empty and a plain string, a number, a boolean.
func (c *schemaChecker) candidates(a *ast.ArgumentDefinition) []string {
	if a.Type.Elem != nil {
		return nil
	}
	switch a.Type.Name() {
	case "ID":
		var out []string
		for _, id := range c.ids {
			out = append(out, fmt.Sprintf("%q", id))
		}
		return out
	case "String":
		return []string{`""`, `"schema test"`}
	case "Int", "Float":
		return []string{"1"}
	case "Boolean":
		return []string{"true"}
	}
	return nil
}

// discover chooses arguments for r with which everyone (every scope)
// reads the target without errors, and reports whether there are any.
func (c *schemaChecker) discover(r *route) bool {
	fields := []*ast.FieldDefinition{}
	for _, h := range append(append([]hop(nil), r.hops...), r.target) {
		fields = append(fields, h.field)
	}
	var try func(i int, args map[*ast.FieldDefinition]string) bool
	try = func(i int, args map[*ast.FieldDefinition]string) bool {
		if i == len(fields) {
			r.args = args
			res := c.post(c.t, r.operation(), c.everyone())
			return res.Status == http.StatusOK && len(res.Errors) == 0 && len(c.instances(*r, res)) > 0
		}
		combos := []string{""}
		for _, a := range requiredArgs(fields[i]) {
			var next []string
			for _, prefix := range combos {
				for _, v := range c.candidates(a) {
					next = append(next, strings.TrimPrefix(prefix+", ", ", ")+a.Name+": "+v)
				}
			}
			combos = next
		}
		for _, combo := range combos {
			m := map[*ast.FieldDefinition]string{}
			for k, v := range args {
				m[k] = v
			}
			m[fields[i]] = combo
			if try(i+1, m) {
				return true
			}
		}
		return false
	}
	return try(0, map[*ast.FieldDefinition]string{})
}

// instances returns the values of the target in the response data, one
// per parent object of the target's type (list items flattened); a root
// field's value counts only when not null.
func (c *schemaChecker) instances(r route, res gqlResponse) []any {
	data, _ := res.Data.(map[string]any)
	parents := []map[string]any{data}
	for _, h := range r.hops {
		var next []map[string]any
		for _, p := range parents {
			next = append(next, objects(p[h.field.Name])...)
		}
		parents = next
	}
	var out []any
	for _, p := range parents {
		if p == nil {
			continue
		}
		if r.direct != nil && p["__typename"] != r.target.on.Name {
			return nil // the interface returned another type: not this route
		}
		v, ok := p[r.target.field.Name]
		if !ok || (len(r.hops) == 0 && v == nil) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func objects(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			out = append(out, objects(e)...)
		}
		return out
	}
	return nil
}

// check runs r with callers derived from the requirements.
func (c *schemaChecker) check(t *testing.T, r route) {
	way, field := r.needs(c.schema)
	op := r.operation()
	t.Logf("%s; the way needs %+v, the field %+v", op, way, field)
	for _, who := range way.and(field).callers() {
		t.Run("allowed "+who.String(), func(t *testing.T) {
			res := c.post(t, op, who)
			if res.Status != http.StatusOK || len(res.Errors) > 0 || len(c.instances(r, res)) == 0 {
				t.Errorf("want the field read without errors; got %d %s", res.Status, res.Raw)
			}
		})
	}
	for _, who := range deniedCallers(way, field) {
		t.Run("denied "+who.String(), func(t *testing.T) {
			res := c.post(t, op, who)
			c.wantDenied(t, r, res, who, field)
		})
	}
	if len(r.hops) == 0 {
		t.Run("invalid token", func(t *testing.T) {
			tok := bearer(c.ts.Issuer.Token(t, authtest.Audience("https://not-this-api.example"), authtest.Scope(c.everyone().scopes...)))
			if res := c.postAs(t, op, tok); res.Status != http.StatusUnauthorized {
				t.Errorf("status %d; want 401: %s", res.Status, res.Raw)
			}
		})
	}
}

// deniedCallers are callers who meet every field on the way but not the
// field: anonymous, a caller with only the way's scopes, and callers one
// scope short of each of the field's scope sets.
func deniedCallers(way, field need) []caller {
	var out []caller
	add := func(c caller) {
		if way.grants(c) && !field.grants(c) && !slices.ContainsFunc(out, func(o caller) bool {
			return o.token == c.token && slices.Equal(o.scopes, c.scopes)
		}) {
			out = append(out, c)
		}
	}
	add(caller{})
	for _, base := range way.callers() {
		add(caller{token: true, scopes: base.scopes})
		for _, set := range field.anyOf {
			add(caller{token: true, scopes: union(base.scopes, set[:len(set)-1])})
		}
	}
	return out
}

// wantDenied checks a response for who, who may not read the target: a
// query has the target null with one error per instance at its path; a
// mutation is refused as a whole, data null. Either way, every error is
// at the target's path with the code for who, and FORBIDDEN carries the
// field's scope sets.
func (c *schemaChecker) wantDenied(t *testing.T, r route, res gqlResponse, who caller, field need) {
	t.Helper()
	if res.Status != http.StatusOK || len(res.Errors) == 0 {
		t.Fatalf("want the field denied; got %d %s", res.Status, res.Raw)
	}
	if r.root == c.schema.Mutation && res.Data != nil {
		t.Errorf("a mutation with a denied field returned data: %s", res.Raw)
	}
	for _, v := range c.instances(r, res) {
		if v != nil {
			t.Errorf("the denied field has a value: %s", res.Raw)
		}
	}
	wantCode := "FORBIDDEN"
	if !who.token {
		wantCode = "UNAUTHENTICATED"
	}
	for _, e := range res.Errors {
		if e.path() != r.path() || e.Extensions.Code != wantCode {
			t.Errorf("error at %s with %s; want %s at %s: %s", e.path(), e.Extensions.Code, wantCode, r.path(), res.Raw)
			continue
		}
		if wantCode == "FORBIDDEN" && !sameScopeSets(e.Extensions.RequiredScopes, field.anyOf) {
			t.Errorf("requiredScopes = %v; want %v (in any order)", e.Extensions.RequiredScopes, field.anyOf)
		}
	}
}

// checkSubscription checks a root field of Subscription over WebSocket.
func (c *schemaChecker) checkSubscription(t *testing.T, sub *ast.Definition, f *ast.FieldDefinition) {
	field := fieldNeed(c.schema, sub, f.Name)
	sel := f.Name
	if isComposite(f.Type) {
		sel += " { __typename }"
	}
	op := "subscription { " + sel + " }"
	for _, who := range field.callers() {
		t.Run("allowed "+who.String(), func(t *testing.T) {
			c.ts.executeSubscription(t, op, f.Name, c.authorization(t, who)).want(t, "")
		})
	}
	for _, who := range deniedCallers(need{}, field) {
		want := "FORBIDDEN"
		if !who.token {
			want = "UNAUTHENTICATED"
		}
		t.Run("denied "+who.String(), func(t *testing.T) {
			r := c.ts.executeSubscription(t, op, f.Name, c.authorization(t, who))
			r.want(t, want)
			if want == "FORBIDDEN" && !sameScopeSets(r.requiredScopes, field.anyOf) {
				t.Errorf("requiredScopes = %v; want %v: %s", r.requiredScopes, field.anyOf, r.raw)
			}
		})
	}
	t.Run("invalid token", func(t *testing.T) {
		tok := bearer(c.ts.Issuer.Token(t, authtest.Audience("https://not-this-api.example"), authtest.Scope(c.everyone().scopes...)))
		c.ts.executeSubscription(t, op, f.Name, tok).want(t, "401")
	})
}

func (c *schemaChecker) post(t *testing.T, query string, who caller) gqlResponse {
	t.Helper()
	return c.postAs(t, query, c.authorization(t, who))
}

func (c *schemaChecker) postAs(t *testing.T, query, authorization string) gqlResponse {
	t.Helper()
	return decodeGraphQL(c.ts.graphQL(t, query, authorization))
}

// gqlResponse is a GraphQL response as the schema tests read it.
type gqlResponse struct {
	Status int
	Raw    string
	Data   any        `json:"data"`
	Errors []gqlError `json:"errors"`
}

type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code           string     `json:"code"`
		RequiredScopes [][]string `json:"requiredScopes"`
	} `json:"extensions"`
}

// path is the error's path without list indexes.
func (e gqlError) path() string {
	var keys []string
	for _, p := range e.Path {
		if s, ok := p.(string); ok {
			keys = append(keys, s)
		}
	}
	return strings.Join(keys, ".")
}

func decodeGraphQL(r response) gqlResponse {
	res := gqlResponse{Status: r.Status, Raw: string(r.Body)}
	if err := json.Unmarshal(r.Body, &res); err != nil {
		res.Raw = fmt.Sprintf("undecodable (%v): %s", err, r.Body)
	}
	return res
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func isSubset(a, b []string) bool {
	return !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// sameScopeSets reports whether two OR-of-AND lists grant the same tokens:
// equal once each is reduced (sets sorted, sets containing another
// dropped) and sorted.
func sameScopeSets(a, b [][]string) bool {
	reduce := func(sets [][]string) []string {
		norm := make([][]string, len(sets))
		for i, s := range sets {
			n := slices.Clone(s)
			slices.Sort(n)
			norm[i] = slices.Compact(n)
		}
		var out []string
		for _, s := range norm {
			if !slices.ContainsFunc(norm, func(o []string) bool { return len(o) < len(s) && isSubset(o, s) }) {
				out = append(out, strings.Join(s, " "))
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(reduce(a), reduce(b))
}

// fieldResult is what one execution of one root field gave, for the
// subscription checks.
type fieldResult struct {
	status         int
	value          json.RawMessage // the field's value, or nil
	codes          []string        // extensions.code of errors
	requiredScopes [][]string      // of the first error
	raw            string
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

func parseResult(status int, body []byte, field string) fieldResult {
	res := fieldResult{status: status, raw: string(body)}
	var resp struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []gqlError                 `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		res.raw = fmt.Sprintf("undecodable (%v): %s", err, body)
		return res
	}
	res.value = resp.Data[field]
	for i, e := range resp.Errors {
		res.codes = append(res.codes, e.Extensions.Code)
		if i == 0 {
			res.requiredScopes = e.Extensions.RequiredScopes
		}
	}
	return res
}

// executeSubscription runs a subscription field over WebSocket: it
// subscribes, waits until the server has accepted or refused the
// operation, and, once accepted, sends a message so that an event arrives.
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
	// A refused subscription answers with an error and nothing else; an
	// accepted one receives the events sent after it started, which is
	// some time after subscribe: send until one arrives (no sleeping, so a
	// loaded machine only takes more events).
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m, err := c.next(t, 300*time.Millisecond); err != errNoMessage {
			if err != nil {
				t.Fatalf("subscribe: %v", err)
			}
			return wsResult(field, m)
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s: neither an error nor an event in 15 s", op)
		}
		sendMessage(t, ts, "schema test event")
	}
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
