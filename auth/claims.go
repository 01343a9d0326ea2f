package auth

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Claims are the verified facts of an access token that authorization
// decisions use.
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
	// Scopes is the union of the space-separated "scope" claim and the
	// "permissions" array that Auth0's RBAC adds, without duplicates, in that
	// order.
	Scopes []string
}

// HasScope reports whether the token grants scope. It matches whole scopes
// only: "read:messages" does not grant "read:messages_all" or "read".
func (c *Claims) HasScope(scope string) bool {
	return c != nil && scope != "" && slices.Contains(c.Scopes, scope)
}

// mergeScopes splits the scope string and appends permissions, dropping
// duplicates.
func mergeScopes(scope string, permissions []string) []string {
	fields := strings.Fields(scope)
	out := make([]string, 0, len(fields)+len(permissions))
	for _, s := range slices.Concat(fields, permissions) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
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
