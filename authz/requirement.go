package authz

import (
	"cmp"
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
// The zero value is public. A Requirement is immutable and kept in a
// canonical form (each scope set sorted and without duplicates, no set that
// contains another, sets in lexical order), so two
// requirements that grant the same tokens print, compare and intern the
// same.
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
	return canonical(sets)
}

// And returns the requirement of reading a field guarded by both r and o:
// a field's own directive AND its type's AND its interfaces'. Two scope
// requirements are distributed, (a OR b) AND c = (a AND c) OR (b AND c), so
// the result is again an OR of ANDs; a scope requirement implies a token, so
// authenticated AND scopes is the scopes.
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
	return canonical(sets)
}

// canonical sorts and dedupes each set, drops every set that contains
// another one (it adds nothing to the OR), and orders the rest lexically.
func canonical(sets [][]string) Requirement {
	for i, s := range sets {
		slices.Sort(s)
		sets[i] = slices.Compact(s)
	}
	slices.SortFunc(sets, func(a, b []string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), slices.Compare(a, b))
	})
	kept := sets[:0]
	for _, s := range sets {
		if !slices.ContainsFunc(kept, func(k []string) bool { return subset(k, s) }) {
			kept = append(kept, s)
		}
	}
	if len(kept) > 0 && len(kept[0]) == 0 {
		// An empty AND holds for every token, and it contains no other set.
		return Authenticated()
	}
	slices.SortFunc(kept, slices.Compare)
	return Requirement{kind: KindScopes, anyOf: slices.Clip(kept)}
}

// subset reports whether every element of sorted a is in sorted b.
func subset(a, b []string) bool {
	i := 0
	for _, s := range b {
		if i < len(a) && a[i] == s {
			i++
		}
	}
	return i == len(a)
}

// Kind returns the shape of r.
func (r Requirement) Kind() Kind { return r.kind }

// Scopes returns a copy of the scope sets of r, an OR of ANDs in canonical
// order; nil unless r.Kind() is KindScopes.
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
// anonymous caller) meet r at now. It returns nil, or an *Error whose
// Reason is auth.ReasonMissing (no token: UNAUTHENTICATED),
// auth.ReasonTokenExpired (the claims are past ValidUntil: claims outlive
// their request on a WebSocket) or auth.ReasonInsufficientScope (a token
// without the scopes: FORBIDDEN). Scopes match exactly (auth.Claims.HasScope).
// The operation pass, the field directives and the REST routes all decide
// through it.
func Decide(r Requirement, claims *auth.Claims, now time.Time) error {
	if r.kind == KindPublic {
		return nil
	}
	if claims == nil {
		return newError(auth.ReasonMissing, r)
	}
	if !claims.ValidUntil.IsZero() && !now.Before(claims.ValidUntil) {
		return newError(auth.ReasonTokenExpired, r)
	}
	if r.kind == KindAuthenticated {
		return nil
	}
	for _, all := range r.anyOf {
		if grantsAll(claims, all) {
			return nil
		}
	}
	return newError(auth.ReasonInsufficientScope, r)
}

func grantsAll(c *auth.Claims, scopes []string) bool {
	for _, s := range scopes {
		if !c.HasScope(s) {
			return false
		}
	}
	return true
}

// Error is a refusal by Decide. It unwraps to an *auth.Error carrying the
// Reason, so errors.As, errors.Is(err, auth.ErrUnauthorized) and
// auth.Describe work on it as on any authorization failure; it adds the
// requirement that was not met, whose scope sets are what a client must
// obtain (extensions.requiredScopes on FORBIDDEN).
type Error struct {
	err auth.Error
	req Requirement
}

func newError(reason auth.Reason, r Requirement) *Error {
	e := &Error{err: auth.Error{Reason: reason}, req: r}
	if reason == auth.ReasonInsufficientScope && len(r.anyOf) == 1 {
		// RFC 6750 section 3: the scope attribute lists the scopes the
		// resource needs; only a single AND set can be said that way.
		e.err.Scope = strings.Join(r.anyOf[0], " ")
	}
	return e
}

func (e *Error) Error() string {
	return "authz: " + string(e.err.Reason) + " (needs " + e.req.String() + ")"
}

// Unwrap returns the *auth.Error with the Reason.
func (e *Error) Unwrap() error { return &e.err }

// Reason returns why access was refused.
func (e *Error) Reason() auth.Reason { return e.err.Reason }

// Requirement returns the requirement that was not met.
func (e *Error) Requirement() Requirement { return e.req }

// RequiredScopes returns the OR-of-AND scope sets that would grant access,
// in canonical order; nil when the requirement is only a valid token.
func (e *Error) RequiredScopes() [][]string { return e.req.Scopes() }
