package auth

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Claims are the verified facts of an access token that authorization
// decisions use.
//
// Claims from a Validator are shared: every request that sends the same
// token gets the same *Claims from the token cache, so they are read-only
// once returned. Nothing may modify them, their slices included (copy
// first, e.g. slices.Clone(c.Scopes)).
type Claims struct {
	Subject   string    // "sub": the user or client the token was issued to
	Issuer    string    // "iss"
	Audience  []string  // "aud", always as a list
	ExpiresAt time.Time // "exp"
	// ValidUntil is ExpiresAt plus the tolerated clock skew: when the
	// validator starts refusing the token. Long-lived uses of the claims (a
	// WebSocket connection, a subscription) end here.
	ValidUntil time.Time
	IssuedAt   time.Time // "iat", zero when absent
	// Scopes is the union of the scope claims (Config.ScopeClaims, by
	// default the space-separated "scope" claim and the "permissions"
	// array that Auth0's RBAC adds), without duplicates, in that order.
	Scopes []string
}

// HasScope reports whether the token grants scope. It matches whole scopes
// only: "read:messages" does not grant "read:messages_all" or "read".
func (c *Claims) HasScope(scope string) bool {
	return c != nil && scope != "" && slices.Contains(c.Scopes, scope)
}

// mergeScopes returns the scopes of the scope claims' strings, in order:
// a space-separated string split on spaces, an array's element whole, dropping empty
// strings and duplicates, in linear time: a token may carry thousands of
// permissions.
func mergeScopes(parts []scopeSpan, strs string) []string {
	n := 0
	for _, p := range parts {
		n++
		if p.split {
			n += strings.Count(p.in(strs), " ")
		}
	}
	out := make([]string, 0, n)
	var seen map[string]struct{} // for long lists; short ones are searched
	if n > 16 {
		seen = make(map[string]struct{}, n)
	}
	add := func(s string) {
		switch {
		case s == "":
			return
		case seen == nil:
			if slices.Contains(out, s) {
				return
			}
		default:
			if _, dup := seen[s]; dup {
				return
			}
			seen[s] = struct{}{}
		}
		out = append(out, s)
	}
	for _, p := range parts {
		if !p.split {
			add(p.in(strs))
			continue
		}
		// RFC 6749 section 3.3: scope-tokens separated by spaces (%x20)
		// only; a tab or another white space is part of a token, which
		// then matches no scope.
		for s := range strings.SplitSeq(p.in(strs), " ") {
			add(s)
		}
	}
	return out
}

type ctxKey struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the verified claims of the request, if it carried a
// valid token.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok && c != nil
}
