package authz

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
)

// Plan is what the operation pass learns from a validated document, one of
// its operations and the schema alone, so it can be cached per document:
// the distinct requirements of every (concrete type, field) pair the
// operation can reach. A field selected on an interface or a union, or
// through fragments with type conditions, reaches the field of every
// concrete type the selection can apply to. Fragments are expanded once
// per (fragment, set of possible types), so a fragment spread many times
// costs its size once; @skip and @include with a literal argument are
// applied, and with a variable they are assumed to include (Authorize
// evaluates them when it matters). A Plan is immutable and safe for
// concurrent use.
type Plan struct {
	policy    *Policy
	doc       *ast.QueryDocument
	op        *ast.OperationDefinition
	maxVisits int

	// reached lists, ascending, the non-public requirements the operation
	// can reach: when the caller meets them all, nothing is denied.
	reached []RequirementID
	// variableConditions: some @skip or @include of the operation depends
	// on a variable.
	variableConditions bool
}

// newPlan walks op once. A walk over maxVisits field selections stops and
// counts every requirement of the policy as reached, so an operation too
// large to plan is decided field by field and, for a mutation or a
// subscription, refused when anything could be denied.
func newPlan(p *Policy, doc *ast.QueryDocument, op *ast.OperationDefinition, maxVisits int) *Plan {
	pl := &Plan{policy: p, doc: doc, op: op, maxVisits: maxVisits}
	w := walker{policy: p, doc: doc, budget: maxVisits, memo: map[string]bool{}, reached: make([]bool, len(p.reqs))}
	root, ok := p.root(op)
	if ok {
		w.selectionSet(op.SelectionSet, root)
	}
	for id, r := range w.reached {
		if (r || w.over || !ok) && p.reqs[id].kind != KindPublic {
			pl.reached = append(pl.reached, RequirementID(id))
		}
	}
	pl.variableConditions = w.variableConditions
	return pl
}

// VariableConditions reports whether a @skip or @include of the operation
// depends on a variable.
func (pl *Plan) VariableConditions() bool { return pl.variableConditions }

// Reached returns the distinct non-public requirements the operation can
// reach, ascending.
func (pl *Plan) Reached() []RequirementID { return append([]RequirementID(nil), pl.reached...) }

// Authorize decides the operation for one request: its variables (coerced,
// as gqlgen's OperationContext.Variables holds them), the caller's claims
// (nil: anonymous) and the clock. It evaluates each distinct requirement
// the operation reaches once; when the caller meets them all it returns the
// zero Result without allocating. Otherwise, for a mutation or a
// subscription, it walks the operation again with the variables to find
// each denied response path.
func (pl *Plan) Authorize(vars map[string]any, claims *auth.Claims, now time.Time) Result {
	for i, id := range pl.reached {
		if err := Decide(pl.policy.reqs[id], claims, now); err != nil {
			return pl.deny(vars, claims, now, i, err)
		}
	}
	return Result{}
}

// deny is Authorize once pl.reached[first] was refused with err.
func (pl *Plan) deny(vars map[string]any, claims *auth.Claims, now time.Time, first int, err error) Result {
	p := pl.policy
	// Decide every requirement of the policy, not only the reached ones, so
	// that Result.Field stays right even for a pair the walk did not
	// foresee: fail closed.
	denied := make([]error, len(p.reqs))
	for id, r := range p.reqs {
		if RequirementID(id) == pl.reached[first] {
			denied[id] = err
			continue
		}
		denied[id] = Decide(r, claims, now)
	}
	if pl.op.Operation == ast.Query {
		return Result{policy: p, denied: denied}
	}
	w := walker{
		policy: p, doc: pl.doc, budget: pl.maxVisits, memo: map[string]bool{},
		request: true, vars: vars, denied: denied, byPath: map[string]*denialSites{},
	}
	if root, ok := p.root(pl.op); ok {
		w.selectionSet(pl.op.SelectionSet, root)
	}
	var denials []Denial
	for _, d := range w.sites {
		r := p.reqs[d.reqs[0]]
		for _, id := range d.reqs[1:] {
			r = r.And(p.reqs[id])
		}
		denials = append(denials, Denial{Path: d.path, Position: d.pos, Err: Decide(r, claims, now)})
	}
	if w.over && len(denials) == 0 {
		// Too large to tell which path: refuse the operation as a whole.
		denials = append(denials, Denial{Err: err})
	}
	if len(denials) == 0 {
		// Whatever could be denied is skipped with these variables.
		return Result{}
	}
	return Result{policy: p, denied: denied, denials: denials}
}

// Result is the decision of the operation pass for one request. The zero
// Result allows everything.
type Result struct {
	policy  *Policy
	denied  []error // by RequirementID; nil when nothing the operation reads is denied
	denials []Denial
}

// AllowsAll reports whether the operation reads nothing the caller may not
// read: a field middleware then has nothing to do.
func (r Result) AllowsAll() bool { return r.denied == nil }

// Denials returns, for a mutation or a subscription, every response path
// the caller may not read, in document order, one per path; nil for a
// query. When it is not empty the operation must be refused as a whole
// before any resolver runs.
func (r Result) Denials() []Denial { return r.denials }

// Field decides one resolved field instance of a query, in O(1): the field
// named field of the concrete object type typeName (gqlgen's
// FieldContext.Object and Field.Name). It returns nil or the *auth.Error to
// report at the field's path, in place of running its resolver. __typename
// and introspection are always allowed. The error values are shared by
// every instance of the same requirement; treat them as read-only.
func (r Result) Field(typeName, field string) error {
	if r.denied == nil {
		return nil
	}
	id, ok := r.policy.Field(typeName, field)
	if !ok {
		return nil
	}
	return r.denied[id]
}

// Denial is one response path of a mutation or a subscription that the
// caller may not read.
type Denial struct {
	// Path is the response path: the response keys (aliases where given)
	// from the root, without list indexes since nothing ran. A field
	// reached through type conditions has the one path its response key
	// gives it.
	Path ast.Path
	// Position is where the first selection of Path is in the document.
	Position *ast.Position
	// Err is the *auth.Error to report: for FORBIDDEN, its RequiredScopes grant
	// every field denied at Path (several concrete types can meet there).
	Err error
}

// root returns the set holding op's root type.
func (p *Policy) root(op *ast.OperationDefinition) (typeSet, bool) {
	var def *ast.Definition
	switch op.Operation {
	case ast.Query:
		def = p.schema.Query
	case ast.Mutation:
		def = p.schema.Mutation
	case ast.Subscription:
		def = p.schema.Subscription
	}
	if def == nil {
		return nil, false
	}
	set, ok := p.possible[def.Name]
	return set, ok
}

// walker is one walk over an operation: for a Plan (request false) it
// records the requirements reached; for a request it records, by response
// path, the denied requirements met there.
type walker struct {
	policy *Policy
	doc    *ast.QueryDocument
	budget int // field selections visited at most
	visits int
	over   bool            // the budget ran out; the walk stopped
	memo   map[string]bool // fragment, possible types (and path) already walked

	// Plan walks.
	reached            []bool // by RequirementID
	variableConditions bool

	// Request walks.
	request bool
	vars    map[string]any
	denied  []error // by RequirementID
	path    []string
	byPath  map[string]*denialSites
	sites   []*denialSites // in document order
}

type denialSites struct {
	path ast.Path
	pos  *ast.Position
	reqs []RequirementID // distinct denied requirements met at path
}

func (w *walker) selectionSet(set ast.SelectionSet, types typeSet) {
	for _, sel := range set {
		if w.over {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			// __typename, and __schema and __type on Query, are always
			// readable, and so is all introspection below them.
			if w.included(s.Directives) && !strings.HasPrefix(s.Name, "__") {
				w.field(s, types)
			}
		case *ast.InlineFragment:
			if w.included(s.Directives) {
				w.fragment("", s.TypeCondition, s.SelectionSet, types)
			}
		case *ast.FragmentSpread:
			def := s.Definition
			if def == nil && w.doc != nil {
				def = w.doc.Fragments.ForName(s.Name)
			}
			if def != nil && w.included(s.Directives) {
				w.fragment(def.Name, def.TypeCondition, def.SelectionSet, types)
			}
		}
	}
}

// fragment walks a fragment's selections for the possible types that meet
// its type condition. A named fragment is walked once per set of possible
// types (and, in a request walk, per path), which keeps the walk linear in
// the document however often a fragment is spread.
func (w *walker) fragment(name, typeCondition string, set ast.SelectionSet, types typeSet) {
	if typeCondition != "" {
		cond, ok := w.policy.possible[typeCondition]
		if !ok {
			return
		}
		types = types.and(cond)
	}
	if types.empty() {
		return
	}
	if name != "" {
		key := name + "\x00" + types.key()
		if w.request {
			key += "\x00" + strings.Join(w.path, ".")
		}
		if w.memo[key] {
			return
		}
		w.memo[key] = true
	}
	w.selectionSet(set, types)
}

func (w *walker) field(f *ast.Field, types typeSet) {
	w.visits++
	if w.visits > w.budget {
		w.over = true
		return
	}
	var children typeSet
	for i := range types.all() {
		info, ok := w.policy.objField[i][f.Name]
		if !ok {
			continue
		}
		w.reach(info.req, f)
		if len(f.SelectionSet) > 0 {
			if set, ok := w.policy.possible[info.result]; ok {
				children = children.or(set)
			}
		}
	}
	if children.empty() {
		return
	}
	key := f.Alias
	if key == "" {
		key = f.Name
	}
	w.path = append(w.path, key)
	w.selectionSet(f.SelectionSet, children)
	w.path = w.path[:len(w.path)-1]
}

func (w *walker) reach(id RequirementID, f *ast.Field) {
	if !w.request {
		w.reached[id] = true
		return
	}
	if w.denied[id] == nil {
		return
	}
	key := f.Alias
	if key == "" {
		key = f.Name
	}
	pathKey := strings.Join(append(w.path, key), ".")
	d := w.byPath[pathKey]
	if d == nil {
		path := make(ast.Path, 0, len(w.path)+1)
		for _, k := range w.path {
			path = append(path, ast.PathName(k))
		}
		d = &denialSites{path: append(path, ast.PathName(key)), pos: f.Position}
		w.byPath[pathKey] = d
		w.sites = append(w.sites, d)
	}
	for _, have := range d.reqs {
		if have == id {
			return
		}
	}
	d.reqs = append(d.reqs, id)
}

// included applies @skip(if:) and @include(if:). A plan walk has no
// variables and includes what depends on one; so does a request walk for a
// value that is not a boolean (validation makes that impossible): reading
// more can only deny more.
func (w *walker) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil || arg.Value == nil {
			continue
		}
		var value, known bool
		switch arg.Value.Kind {
		case ast.BooleanValue:
			value, known = arg.Value.Raw == "true", true
		case ast.Variable:
			if !w.request {
				w.variableConditions = true
				continue
			}
			v, _ := arg.Value.Value(w.vars)
			value, known = v.(bool)
		}
		if known && value == (d.Name == "skip") {
			return false
		}
	}
	return true
}

// typeSet is a set of the concrete object types of a Policy, by index. A
// nil typeSet is empty.
type typeSet []uint64

func newTypeSet(n int) typeSet { return make(typeSet, (n+63)/64) }

func (s typeSet) add(i int) { s[i/64] |= 1 << (i % 64) }

func (s typeSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// and returns a new set, s ∩ o.
func (s typeSet) and(o typeSet) typeSet {
	out := make(typeSet, min(len(s), len(o)))
	for i := range out {
		out[i] = s[i] & o[i]
	}
	return out
}

// or returns s ∪ o, reusing s when it can.
func (s typeSet) or(o typeSet) typeSet {
	if len(s) < len(o) {
		s = append(s, make(typeSet, len(o)-len(s))...)
	}
	for i, w := range o {
		s[i] |= w
	}
	return s
}

func (s typeSet) all() iter.Seq[int] {
	return func(yield func(int) bool) {
		for i, w := range s {
			for w != 0 {
				b := bits.TrailingZeros64(w)
				if !yield(i*64 + b) {
					return
				}
				w &^= 1 << b
			}
		}
	}
}

// key returns the set as a string, for memo keys.
func (s typeSet) key() string {
	b := make([]byte, 0, len(s)*8)
	for _, w := range s {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return string(b)
}
