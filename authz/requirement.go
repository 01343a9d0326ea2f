package authz

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/authgql/server/auth"
)

// Kind is the shape of a Requirement.
type Kind uint8

// Kinds of requirement, from the weakest to the strongest.
const (
	KindPublic        Kind = iota // anyone, with or without a token
	KindAuthenticated             // any valid token
	KindScopes                    // a valid token granting one of the scope sets
)

func (k Kind) String() string {
	switch k {
	case KindPublic:
		return "public"
	case KindAuthenticated:
		return "authenticated"
	case KindScopes:
		return "scopes"
	}
	return "unknown"
}

// Requirement is what reading a field needs: nothing (public), any valid
// token (authenticated), or a valid token granting scopes, as Apollo
// Router's @requiresScopes states them: an OR of ANDs, satisfied when for
// some inner list every scope is granted.
//
// The zero value is public. A Requirement is immutable and kept simplified
// (no scope twice in a set, no set that contains another one, since it adds
// nothing to the OR) but in the order the schema wrote it: the scope sets
// are what a client is told to obtain (extensions.requiredScopes), and the
// first alternative the schema names stays the first one offered. Equal
// compares meanings, whatever the order.
type Requirement struct {
	kind  Kind
	anyOf [][]string // KindScopes only; empty means no token can grant it
}

// Public returns the requirement of a field anyone may read.
func Public() Requirement { return Requirement{} }

// Authenticated returns the requirement of a field any valid token may read
// (@auth, @authenticated).
func Authenticated() Requirement { return Requirement{kind: KindAuthenticated} }

// HasScope returns the requirement of @hasScope(scope: s), which is
// @requiresScopes(scopes: [[s]]).
func HasScope(scope string) Requirement { return RequiresScopes([][]string{{scope}}) }

// RequiresScopes returns the requirement of @requiresScopes(scopes: anyOf):
// a valid token granting every scope of at least one inner list. An empty
// inner list needs only a valid token; an empty outer list can never be
// granted (CheckSchema refuses both in a schema). anyOf is copied.
func RequiresScopes(anyOf [][]string) Requirement {
	sets := make([][]string, len(anyOf))
	for i, all := range anyOf {
		sets[i] = slices.Clone(all)
	}
	return simplified(sets)
}

// And returns the requirement of reading a field guarded by both r and o:
// a field's own directive AND its type's AND its interfaces'. Two scope
// requirements are distributed, (a OR b) AND c = (a AND c) OR (b AND c), so
// the result is again an OR of ANDs, r's sets first; a scope requirement
// implies a token, so authenticated AND scopes is the scopes.
func (r Requirement) And(o Requirement) Requirement {
	switch {
	case r.kind == KindPublic:
		return o
	case o.kind == KindPublic:
		return r
	case r.kind == KindAuthenticated:
		return o
	case o.kind == KindAuthenticated:
		return r
	}
	sets := make([][]string, 0, len(r.anyOf)*len(o.anyOf))
	for _, a := range r.anyOf {
		for _, b := range o.anyOf {
			sets = append(sets, slices.Concat(a, b))
		}
	}
	return simplified(sets)
}

// simplified drops repeated scopes within each set (the first stays) and
// every set that contains another one (of two equal sets, the first
// stays), keeping the order of what remains, as Apollo's composition
// simplifies: (a AND b) OR b is b.
func simplified(sets [][]string) Requirement {
	for i, s := range sets {
		sets[i] = dedupe(s)
		if len(sets[i]) == 0 {
			// An empty AND holds for every token.
			return Authenticated()
		}
	}
	kept := make([][]string, 0, len(sets))
	for i, s := range sets {
		redundant := false
		for j, o := range sets {
			if j != i && subset(o, s) && (len(o) < len(s) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			kept = append(kept, s)
		}
	}
	return Requirement{kind: KindScopes, anyOf: kept}
}

func dedupe(s []string) []string {
	out := s[:0]
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return slices.Clip(out)
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// Equal reports whether r and o grant exactly the same tokens: the same
// kind and the same scope sets, whatever their order.
func (r Requirement) Equal(o Requirement) bool { return r.key() == o.key() }

// key is r in a form that ignores order: each set sorted, sets sorted,
// separated by control characters, which no scope-token contains.
func (r Requirement) key() string {
	if r.kind != KindScopes {
		return r.kind.String()
	}
	sets := r.Scopes()
	for _, s := range sets {
		slices.Sort(s)
	}
	slices.SortFunc(sets, slices.Compare)
	var b strings.Builder
	b.WriteString("scopes")
	for _, s := range sets {
		b.WriteByte(0)
		b.WriteString(strings.Join(s, "\x01"))
	}
	return b.String()
}

// Kind returns the shape of r.
func (r Requirement) Kind() Kind { return r.kind }

// Scopes returns a copy of the scope sets of r, an OR of ANDs in the
// schema's order; nil unless r.Kind() is KindScopes.
func (r Requirement) Scopes() [][]string {
	if r.kind != KindScopes {
		return nil
	}
	out := make([][]string, len(r.anyOf))
	for i, all := range r.anyOf {
		out[i] = slices.Clone(all)
	}
	return out
}

// String returns the stable, human-readable form of r: "public",
// "authenticated", "scopes: a", "scopes: a AND b", "scopes: (a AND b) OR c",
// or "nobody" for a scope requirement no token can meet.
func (r Requirement) String() string {
	switch r.kind {
	case KindPublic:
		return "public"
	case KindAuthenticated:
		return "authenticated"
	}
	if len(r.anyOf) == 0 {
		return "nobody"
	}
	var b strings.Builder
	b.WriteString("scopes: ")
	for i, all := range r.anyOf {
		if i > 0 {
			b.WriteString(" OR ")
		}
		paren := len(r.anyOf) > 1 && len(all) > 1
		if paren {
			b.WriteByte('(')
		}
		b.WriteString(strings.Join(all, " AND "))
		if paren {
			b.WriteByte(')')
		}
	}
	return b.String()
}

// MarshalJSON encodes r as {"kind": "public"|"authenticated"|"scopes",
// "scopes": [[...]], "text": String()}; "scopes" only with kind "scopes".
func (r Requirement) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind   string     `json:"kind"`
		Scopes [][]string `json:"scopes,omitempty"`
		Text   string     `json:"text"`
	}{r.kind.String(), r.anyOf, r.String()})
}

// Decide is the one authorization rule: whether claims (nil for an
// anonymous caller) meet r at now. It returns nil, or an *auth.Error whose
// Reason is auth.ReasonMissing (no token: UNAUTHENTICATED),
// auth.ReasonTokenExpired (the claims are past ValidUntil: claims outlive
// their request on a WebSocket) or auth.ReasonInsufficientScope (a token
// without the scopes: FORBIDDEN, with RequiredScopes set to r's scope sets,
// what a client must obtain). Scopes match exactly (auth.Claims.HasScope).
// The operation pass, the field directives and the REST routes all decide
// through it.
func Decide(r Requirement, claims *auth.Claims, now time.Time) error {
	if r.kind == KindPublic {
		return nil
	}
	if claims == nil {
		return &auth.Error{Reason: auth.ReasonMissing}
	}
	if !claims.ValidUntil.IsZero() && !now.Before(claims.ValidUntil) {
		return &auth.Error{Reason: auth.ReasonTokenExpired}
	}
	if r.kind == KindAuthenticated {
		return nil
	}
	for _, all := range r.anyOf {
		if grantsAll(claims, all) {
			return nil
		}
	}
	return &auth.Error{Reason: auth.ReasonInsufficientScope, RequiredScopes: r.Scopes()}
}

func grantsAll(c *auth.Claims, scopes []string) bool {
	for _, s := range scopes {
		if !c.HasScope(s) {
			return false
		}
	}
	return true
}
