package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// The access directives, by name in the schema.
const (
	DirectivePublic         = "public"         // @public: anyone
	DirectiveAuth           = "auth"           // @auth: any valid token (ours)
	DirectiveAuthenticated  = "authenticated"  // @authenticated: any valid token (Apollo's name)
	DirectiveHasScope       = "hasScope"       // @hasScope(scope: String!): one scope (ours)
	DirectiveRequiresScopes = "requiresScopes" // @requiresScopes(scopes: [[String!]!]!): OR of ANDs (Apollo's)
)

var directiveNames = []string{DirectivePublic, DirectiveAuth, DirectiveAuthenticated, DirectiveHasScope, DirectiveRequiresScopes}

func isAccessDirective(name string) bool { return slices.Contains(directiveNames, name) }

// RequirementID is a small integer naming one distinct requirement of a
// Policy. ID 0 is always the public requirement.
type RequirementID uint32

type fieldKey struct{ typ, field string }

// fieldInfo is what the operation pass needs of a field of an object type.
type fieldInfo struct {
	req    RequirementID
	result string // the named type the field returns
}

// Policy is the authorization of a schema, compiled once at start: the
// effective requirement of every field of every object and interface type.
// The effective requirement of field f of object type O is
//
//	O.f's own directive AND O's type directive AND, for every interface I
//	that O implements, I's type directive AND the directive of I.f (when I
//	has f)
//
// so it depends only on (O, f), whichever path reaches the field. The
// requirement of an interface field, used for printing, is built the same
// way from the interface's own directives and those of the interfaces it
// implements. __typename and the introspection types are always readable.
// A Policy is immutable and safe for concurrent use.
type Policy struct {
	schema *ast.Schema
	reqs   []Requirement            // by RequirementID; reqs[0] is public
	ids    map[string]RequirementID // key() -> id, to intern equal requirements once

	fields     map[fieldKey]RequirementID // object types: the hot-path lookup
	interfaces map[fieldKey]RequirementID // interface types, for printing

	// The operation pass works on sets of possible concrete object types.
	objects  []*ast.Definition      // non-introspection object types, sorted by name
	objIndex map[string]int         // name -> index in objects
	objField []map[string]fieldInfo // by object index, field name
	possible map[string]typeSet     // composite type name -> its concrete object types
}

// NewPolicy checks s (CheckSchema) and compiles its access directives. It
// returns every problem of the schema at once, one line each.
func NewPolicy(s *ast.Schema) (*Policy, error) {
	if err := CheckSchema(s); err != nil {
		return nil, err
	}
	p := &Policy{
		schema:     s,
		ids:        map[string]RequirementID{},
		fields:     map[fieldKey]RequirementID{},
		interfaces: map[fieldKey]RequirementID{},
		objIndex:   map[string]int{},
		possible:   map[string]typeSet{},
	}
	p.intern(Public())
	for _, def := range sortedTypes(s) {
		if def.Kind == ast.Object {
			p.objIndex[def.Name] = len(p.objects)
			p.objects = append(p.objects, def)
		}
	}
	p.objField = make([]map[string]fieldInfo, len(p.objects))
	for i, o := range p.objects {
		p.objField[i] = map[string]fieldInfo{}
		for _, f := range o.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			id := p.intern(p.effective(o, f.Name))
			p.fields[fieldKey{o.Name, f.Name}] = id
			p.objField[i][f.Name] = fieldInfo{req: id, result: f.Type.Name()}
		}
	}
	for _, def := range sortedTypes(s) {
		switch def.Kind {
		case ast.Interface:
			for _, f := range def.Fields {
				p.interfaces[fieldKey{def.Name, f.Name}] = p.intern(p.effective(def, f.Name))
			}
			fallthrough
		case ast.Union, ast.Object:
			set := newTypeSet(len(p.objects))
			if i, ok := p.objIndex[def.Name]; ok {
				set.add(i)
			}
			for _, o := range s.GetPossibleTypes(def) {
				if i, ok := p.objIndex[o.Name]; ok {
					set.add(i)
				}
			}
			p.possible[def.Name] = set
		}
	}
	return p, nil
}

// effective is the requirement of field of def (an object or an interface):
// its own directives AND def's AND, for each interface def implements, that
// interface's AND its field's.
func (p *Policy) effective(def *ast.Definition, field string) Requirement {
	r := own(def.Directives)
	if f := def.Fields.ForName(field); f != nil {
		r = r.And(own(f.Directives))
	}
	for _, name := range def.Interfaces {
		i := p.schema.Types[name]
		if i == nil {
			continue
		}
		r = r.And(own(i.Directives))
		if f := i.Fields.ForName(field); f != nil {
			r = r.And(own(f.Directives))
		}
	}
	return r
}

func (p *Policy) intern(r Requirement) RequirementID {
	key := r.key()
	if id, ok := p.ids[key]; ok {
		return id
	}
	id := RequirementID(len(p.reqs))
	p.reqs = append(p.reqs, r)
	p.ids[key] = id
	return id
}

// Field returns the id of the effective requirement of field on the object
// type typeName, in O(1), for a per-field hot path (gqlgen's
// FieldContext.Object and Field.Name name them). ok is false for names the
// policy does not know: __typename, the introspection types and fields,
// interface and union types (fields always execute on a concrete type).
func (p *Policy) Field(typeName, field string) (id RequirementID, ok bool) {
	id, ok = p.fields[fieldKey{typeName, field}]
	return id, ok
}

// Requirement returns the requirement with id; id must come from p.
func (p *Policy) Requirement(id RequirementID) Requirement { return p.reqs[id] }

// NumRequirements returns how many distinct requirements p has; ids run
// from 0 to NumRequirements()-1.
func (p *Policy) NumRequirements() int { return len(p.reqs) }

// FieldRequirement returns the effective requirement of field on an object
// or interface type. ok is false when p does not know the pair; __typename
// and introspection are public, as they are always readable.
func (p *Policy) FieldRequirement(typeName, field string) (r Requirement, ok bool) {
	if strings.HasPrefix(typeName, "__") || strings.HasPrefix(field, "__") {
		return Public(), true
	}
	if id, ok := p.fields[fieldKey{typeName, field}]; ok {
		return p.reqs[id], true
	}
	if id, ok := p.interfaces[fieldKey{typeName, field}]; ok {
		return p.reqs[id], true
	}
	return Requirement{}, false
}

// Scopes lists, sorted and without duplicates, every scope some field of
// p's schema requires: what a development token needs to read everything.
func (p *Policy) Scopes() []string {
	var scopes []string
	for _, r := range p.reqs {
		for _, all := range r.anyOf {
			scopes = append(scopes, all...)
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// own is the conjunction of the access directives in dirs; public when
// there are none. It assumes CheckSchema accepted them.
func own(dirs ast.DirectiveList) Requirement {
	r := Public()
	for _, d := range dirs {
		req, _ := parseDirective(d)
		r = r.And(req)
	}
	return r
}

// parseDirective reads one directive; a directive that is not an access
// directive is public. problem says what is wrong with its arguments.
func parseDirective(d *ast.Directive) (r Requirement, problem string) {
	switch d.Name {
	case DirectiveAuth, DirectiveAuthenticated:
		return Authenticated(), ""
	case DirectiveHasScope:
		return scopeArgument(d, "scope", func(v *ast.Value) ([][]string, string) {
			s, problem := literalScope(v)
			return [][]string{{s}}, problem
		})
	case DirectiveRequiresScopes:
		return scopeArgument(d, "scopes", literalScopeSets)
	}
	return Public(), ""
}

// scopeArgument reads the argument name of d with read. A directive it
// cannot read requires what no token grants.
func scopeArgument(d *ast.Directive, name string, read func(*ast.Value) ([][]string, string)) (Requirement, string) {
	nobody := RequiresScopes(nil)
	arg := d.Arguments.ForName(name)
	if arg == nil {
		return nobody, fmt.Sprintf("has @%s without its %s argument", d.Name, name)
	}
	sets, problem := read(arg.Value)
	if problem != "" {
		return nobody, fmt.Sprintf("has @%s(%s:) whose %s", d.Name, name, problem)
	}
	return RequiresScopes(sets), ""
}

// literalScopeSets reads [[String!]!]! written out in full: a non-empty
// list of non-empty lists of scope tokens. The single-list shorthand that
// input coercion would accept (["a", "b"]) is refused: it reads as AND but
// would mean OR.
func literalScopeSets(v *ast.Value) ([][]string, string) {
	if v == nil || v.Kind != ast.ListValue {
		return nil, "value is not a literal list of lists, e.g. [[\"read:users\"], [\"admin\"]]"
	}
	if len(v.Children) == 0 {
		return nil, "outer list is empty (no token could ever be granted)"
	}
	sets := make([][]string, 0, len(v.Children))
	for i, c := range v.Children {
		if c.Value == nil || c.Value.Kind != ast.ListValue {
			return nil, fmt.Sprintf("item %d is not a list (write [[\"a\", \"b\"]] for a AND b, [[\"a\"], [\"b\"]] for a OR b)", i+1)
		}
		if len(c.Value.Children) == 0 {
			return nil, fmt.Sprintf("inner list %d is empty", i+1)
		}
		var all []string
		for _, sc := range c.Value.Children {
			s, problem := literalScope(sc.Value)
			if problem != "" {
				return nil, fmt.Sprintf("inner list %d has a value that %s", i+1, strings.TrimPrefix(problem, "value "))
			}
			all = append(all, s)
		}
		sets = append(sets, all)
	}
	return sets, ""
}

func literalScope(v *ast.Value) (string, string) {
	if v == nil || (v.Kind != ast.StringValue && v.Kind != ast.BlockValue) {
		return "", "value is not a literal string"
	}
	if !ValidScope(v.Raw) {
		return "", fmt.Sprintf("value %q is not an RFC 6749 scope-token (printable ASCII, no space, '\"' or '\\')", v.Raw)
	}
	return v.Raw, ""
}

// ValidScope reports whether s is an RFC 6749 section 3.3 scope-token,
// 1*( %x21 / %x23-5B / %x5D-7E ), which is also what makes it safe to quote
// in a WWW-Authenticate header.
func ValidScope(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// CheckSchema enforces default deny and the directives' rules, returning
// every problem at once (errors.Join), one line each naming the type or
// field:
//
//   - every field of Query, Mutation and Subscription carries exactly one
//     of @public, @auth, @authenticated, @hasScope, @requiresScopes;
//   - no access directive sits on a root operation type (it would apply to
//     every root field, hiding what each one needs), nor on a union, enum,
//     scalar, input type or input field;
//   - @public is never combined with another access directive;
//   - @hasScope and @requiresScopes name their scopes as literal strings
//     that are RFC 6749 scope-tokens, in non-empty lists.
func CheckSchema(s *ast.Schema) error {
	var errs []error
	problem := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("schema: "+format, args...))
	}
	roots := map[*ast.Definition]bool{}
	for _, r := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		if r != nil {
			roots[r] = true
		}
	}
	for _, def := range sortedTypes(s) {
		composite := def.Kind == ast.Object || def.Kind == ast.Interface
		for _, d := range def.Directives {
			if !isAccessDirective(d.Name) {
				continue
			}
			switch {
			case roots[def]:
				problem("type %s has @%s: access directives on a root operation type are refused; put one on each of its fields", def.Name, d.Name)
			case !composite:
				problem("%s %s has @%s: access directives apply to fields, object types and interfaces only", strings.ToLower(string(def.Kind)), def.Name, d.Name)
			case d.Name == DirectivePublic:
				problem("type %s has @public: a type cannot loosen its fields; put @public on fields", def.Name)
			default:
				if _, p := parseDirective(d); p != "" {
					problem("type %s %s", def.Name, p)
				}
			}
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			var found []string
			for _, d := range f.Directives {
				if !isAccessDirective(d.Name) {
					continue
				}
				found = append(found, "@"+d.Name)
				if !composite {
					problem("%s.%s has @%s: input fields are not read, so they carry no access directive", def.Name, f.Name, d.Name)
					continue
				}
				if _, p := parseDirective(d); p != "" {
					problem("%s.%s %s", def.Name, f.Name, p)
				}
			}
			switch {
			case roots[def] && len(found) == 0:
				problem("%s.%s has no access directive: add exactly one of @public, @auth, @authenticated, @hasScope(scope:), @requiresScopes(scopes:)", def.Name, f.Name)
			case roots[def] && len(found) > 1:
				problem("%s.%s has %d access directives (%s): keep exactly one", def.Name, f.Name, len(found), strings.Join(found, ", "))
			case len(found) > 1 && slices.Contains(found, "@"+DirectivePublic):
				problem("%s.%s has @public with %s: @public means anyone; keep one", def.Name, f.Name, strings.Join(found, ", "))
			}
		}
	}
	return errors.Join(errs...)
}

// sortedTypes lists the schema's types, introspection types excluded, by
// name: schema maps have no order, and every output here is deterministic.
func sortedTypes(s *ast.Schema) []*ast.Definition {
	defs := make([]*ast.Definition, 0, len(s.Types))
	for name, def := range s.Types {
		if !strings.HasPrefix(name, "__") {
			defs = append(defs, def)
		}
	}
	slices.SortFunc(defs, func(a, b *ast.Definition) int { return strings.Compare(a.Name, b.Name) })
	return defs
}
