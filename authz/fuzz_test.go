package authz_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// maxFuzzDocumentInput bounds the bytes FuzzOperation builds one
// document from: enough for dozens of fields, fragments and directives.
const maxFuzzDocumentInput = 160

// FuzzOperation builds random valid documents against the demo and trap
// schemas (fields, aliases, inline fragments, named fragments spread again
// and again, literal and variable @skip/@include) and checks the engine
// against the reference enumeration: the plan reaches exactly the
// requirements of the fields the operation can execute, a query denies
// exactly the executed fields the caller may not read, and a mutation or a
// subscription is refused exactly when one of them is executed. The walk
// must not panic and stays within its budget.
func FuzzOperation(f *testing.F) {
	for _, seed := range []string{
		"\x00\x01\x02\x03\x04\x05\x06\x07",
		"\x01\x00\x05\x06\x07\x03\x02\x01\x00\x09\x0a",
		"\x02\x00\x00\x00\x03\x01",
		"\x00\x07\x07\x07\x06\x06\x00\x00\x00\x05\x05\x01",
		"\x00\x02\x04\x00\x01\x03\x05\x07\x09\x0b\x0d\x0f\x11\x13",
		"\x01\x05\x06\x06\x07\x07\x00\x04\x02\x00\x09\x09\x09\x09",
	} {
		f.Add([]byte(seed), uint16(0x15))
	}
	s := loadSchema(f, trapFiles)
	p := mustPolicy(f, s)
	e := mustEngine(f, p, authz.Options{})
	universe := []string{"admin", "read:audit", "read:users", "read:messages", "write:messages", "secret", "level2", "guard", "delete:messages"}

	f.Fuzz(func(t *testing.T, in []byte, grant uint16) {
		// A document grows with its input, and gqlparser's
		// OverlappingFieldsCanBeMerged, which LoadQuery runs, takes more
		// than quadratic time in its fields (the server runs it only
		// within GRAPHQL_MAX_FIELDS: graph/validation.go). Unbounded, one
		// execution took 0.8 s and a worker 800 MB, and minimizing such
		// inputs stalled the fuzz step for minutes. The engine's own
		// budget is FuzzOperation's subject, not gqlparser's.
		if len(in) > maxFuzzDocumentInput {
			return
		}
		g := &docGen{s: s, in: in}
		query := g.document()
		doc, errs := gqlparser.LoadQuery(s, query)
		if len(errs) > 0 {
			return // the generator makes some invalid documents; validation refuses them first
		}
		op := doc.Operations[0]

		plan := e.Plan(doc, op)
		want := map[authz.RequirementID]bool{}
		for pr := range executedPairs(s, doc, op, nil) {
			if id, ok := p.Field(pr.typ, pr.field); ok && p.Requirement(id).Kind() != authz.KindPublic {
				want[id] = true
			}
		}
		var wantIDs []authz.RequirementID
		for id := range want {
			wantIDs = append(wantIDs, id)
		}
		slices.Sort(wantIDs)
		if got := plan.Reached(); !slices.Equal(got, wantIDs) {
			t.Fatalf("%s\nReached() = %v; the reference reaches %v", query, got, wantIDs)
		}

		var claims *auth.Claims
		if grant&1 != 0 {
			var scopes []string
			for i, sc := range universe {
				if grant&(2<<i) != 0 {
					scopes = append(scopes, sc)
				}
			}
			claims = token(scopes...)
		}
		var vars map[string]any
		if g.usesVar {
			vars = map[string]any{"v": grant&0x400 != 0}
		}
		res := e.Authorize(doc, op, vars, claims, testNow)
		deniedAny := false
		for pr := range executedPairs(s, doc, op, vars) {
			id, _ := p.Field(pr.typ, pr.field)
			denied := authz.Decide(p.Requirement(id), claims, testNow) != nil
			deniedAny = deniedAny || denied
			if op.Operation == ast.Query {
				if got := res.Field(pr.typ, pr.field) != nil; got != denied {
					t.Fatalf("%s\nField(%s.%s) denies = %v; want %v", query, pr.typ, pr.field, got, denied)
				}
			}
		}
		if op.Operation != ast.Query {
			if got := len(res.Denials()) > 0; got != deniedAny {
				t.Fatalf("%s\nrefused = %v (%v); want %v", query, got, res.Denials(), deniedAny)
			}
			for _, d := range res.Denials() {
				if len(d.Path) == 0 {
					t.Fatalf("%s\na denial without a path: the walk ran out of budget", query)
				}
			}
		}
	})
}

// docGen turns bytes into a GraphQL document that follows the schema, so
// that most inputs pass validation.
type docGen struct {
	s       *ast.Schema
	in      []byte
	frags   []genFragment // finished fragments, which may be spread again
	named   int           // fragments named so far, finished or not
	body    strings.Builder
	usesVar bool
	fields  int
}

type genFragment struct{ name, on string }

func (g *docGen) next() int {
	if len(g.in) == 0 {
		return 0
	}
	b := g.in[0]
	g.in = g.in[1:]
	return int(b)
}

func (g *docGen) document() string {
	kinds := []struct {
		keyword string
		root    *ast.Definition
	}{{"query", g.s.Query}, {"mutation", g.s.Mutation}, {"subscription", g.s.Subscription}}
	k := kinds[g.next()%len(kinds)]
	var sel string
	if k.keyword == "subscription" {
		sel = g.field(k.root, 1) // a subscription selects one root field, not __typename
		if sel == "__typename" {
			sel = "messageSent { text }"
		}
	} else {
		sel = g.selections(k.root, 1)
	}
	header := k.keyword + " Op"
	if g.usesVar {
		header += "($v: Boolean!)"
	}
	return header + " { " + sel + " }\n" + g.body.String()
}

func (g *docGen) selections(typ *ast.Definition, depth int) string {
	var parts []string
	for range 1 + g.next()%3 {
		if g.fields > 60 {
			break
		}
		switch k := g.next() % 8; {
		case k < 4:
			parts = append(parts, g.field(typ, depth))
		case k < 6:
			on := g.condition(typ)
			parts = append(parts, "... on "+on.Name+g.directive()+" { "+g.selections(on, depth+1)+" }")
		default:
			parts = append(parts, "..."+g.fragment(typ, depth)+g.directive())
		}
	}
	if len(parts) == 0 {
		return "__typename"
	}
	return strings.Join(parts, " ")
}

func (g *docGen) field(typ *ast.Definition, depth int) string {
	g.fields++
	var names []*ast.FieldDefinition
	for _, f := range typ.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			names = append(names, f)
		}
	}
	if len(names) == 0 || g.next()%6 == 0 {
		return "__typename"
	}
	f := names[g.next()%len(names)]
	out := f.Name
	if g.next()%5 == 0 {
		out = fmt.Sprintf("a%d: %s", g.next()%2, f.Name)
	}
	var args []string
	for _, a := range f.Arguments {
		if a.Type.NonNull {
			args = append(args, a.Name+`: "x"`)
		}
	}
	if len(args) > 0 {
		out += "(" + strings.Join(args, ", ") + ")"
	}
	out += g.directive()
	result := g.s.Types[f.Type.Name()]
	if result.Kind == ast.Object || result.Kind == ast.Interface || result.Kind == ast.Union {
		if depth >= 4 {
			return out + " { __typename }"
		}
		return out + " { " + g.selections(result, depth+1) + " }"
	}
	return out
}

func (g *docGen) directive() string {
	switch g.next() % 8 {
	case 0:
		g.usesVar = true
		return " @skip(if: $v)"
	case 1:
		g.usesVar = true
		return " @include(if: $v)"
	case 2:
		return " @include(if: false)"
	case 3:
		return " @skip(if: true)"
	case 4:
		return " @include(if: true)"
	}
	return ""
}

// condition picks a composite type a fragment in typ may name: one whose
// possible types meet typ's.
func (g *docGen) condition(typ *ast.Definition) *ast.Definition {
	var fits []*ast.Definition
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range g.s.Types {
			if !yield(n) {
				return
			}
		}
	}) {
		def := g.s.Types[name]
		if strings.HasPrefix(name, "__") || (def.Kind != ast.Object && def.Kind != ast.Interface && def.Kind != ast.Union) {
			continue
		}
		if slices.ContainsFunc(concreteTypes(g.s, name), func(o *ast.Definition) bool { return appliesTo(g.s, typ.Name, o) }) {
			fits = append(fits, def)
		}
	}
	return fits[g.next()%len(fits)]
}

// fragment spreads a finished fragment that fits typ, or writes a new one.
func (g *docGen) fragment(typ *ast.Definition, depth int) string {
	var fits []genFragment
	for _, fr := range g.frags {
		if slices.ContainsFunc(concreteTypes(g.s, fr.on), func(o *ast.Definition) bool { return appliesTo(g.s, typ.Name, o) }) {
			fits = append(fits, fr)
		}
	}
	if len(fits) > 0 && g.next()%2 == 0 {
		return fits[g.next()%len(fits)].name
	}
	on := g.condition(typ)
	name := fmt.Sprintf("F%d", g.named)
	g.named++
	body := g.selections(on, depth+1)
	// Finished only now, so a fragment never spreads itself.
	g.frags = append(g.frags, genFragment{name, on.Name})
	fmt.Fprintf(&g.body, "fragment %s on %s { %s }\n", name, on.Name, body)
	return name
}
