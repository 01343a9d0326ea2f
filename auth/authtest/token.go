package authtest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// DefaultLifetime is how long minted tokens live unless ExpiresIn or
// ExpiresAt says otherwise.
const DefaultLifetime = time.Hour

// Option changes a token before it is signed.
type Option func(*tokenSpec)

type tokenSpec struct {
	now     time.Time
	claims  map[string]any
	headers map[string]any
	key     jwk.Key
}

// Scope sets the space-separated "scope" claim.
func Scope(scopes ...string) Option {
	return Claim("scope", strings.Join(scopes, " "))
}

// Permissions sets the "permissions" array that Auth0's RBAC adds.
func Permissions(perms ...string) Option {
	if perms == nil {
		perms = []string{}
	}
	return Claim("permissions", perms)
}

// Audience sets "aud": a string for one value, an array for several.
func Audience(aud ...string) Option {
	if len(aud) == 1 {
		return Claim("aud", aud[0])
	}
	return Claim("aud", aud)
}

// IssuedBy sets "iss".
func IssuedBy(iss string) Option { return Claim("iss", iss) }

// Subject sets "sub".
func Subject(sub string) Option { return Claim("sub", sub) }

// ExpiresIn sets "exp" to d after the token's issue time (negative: expired).
func ExpiresIn(d time.Duration) Option {
	return func(s *tokenSpec) { s.claims["exp"] = s.now.Add(d).Unix() }
}

// ExpiresAt sets "exp".
func ExpiresAt(t time.Time) Option { return Claim("exp", t.Unix()) }

// NotBefore sets "nbf".
func NotBefore(t time.Time) Option { return Claim("nbf", t.Unix()) }

// IssuedAt sets "iat".
func IssuedAt(t time.Time) Option { return Claim("iat", t.Unix()) }

// Now sets the time the token is minted at (default time.Now); "iat" and the
// default "exp" follow it.
func Now(t time.Time) Option {
	return func(s *tokenSpec) {
		s.now = t
		s.claims["iat"] = t.Unix()
		s.claims["exp"] = t.Add(DefaultLifetime).Unix()
	}
}

// Claim sets any claim to any JSON value, including wrong types for attack
// tests; nil removes the claim.
func Claim(name string, value any) Option {
	return func(s *tokenSpec) {
		if value == nil {
			delete(s.claims, name)
			return
		}
		s.claims[name] = value
	}
}

// Header sets a protected header ("alg", "kid", "typ", "crit", "jku", ...);
// nil removes it.
func Header(name string, value any) Option {
	return func(s *tokenSpec) { s.headers[name] = value }
}

// KeyID sets the "kid" header.
func KeyID(kid string) Option { return Header("kid", kid) }

// SignedWith signs with key instead of the issuer's signing key, e.g. a key
// from NewKey that the issuer never published.
func SignedWith(key jwk.Key) Option {
	return func(s *tokenSpec) { s.key = key }
}

// Mint returns a signed access token. Defaults: the issuer's "iss" and
// Audience, "sub" DefaultSubject, "iat" now, "exp" now+DefaultLifetime, no
// scopes, header {"alg", "kid", "typ":"JWT"} from the signing key. Options
// apply in order.
func (is *Issuer) Mint(opts ...Option) (string, error) {
	now := time.Now()
	s := &tokenSpec{
		now:     now,
		claims:  is.Claims(now),
		headers: map[string]any{},
		key:     is.SigningKey(),
	}
	for _, opt := range opts {
		opt(s)
	}
	payload, err := json.Marshal(s.claims)
	if err != nil {
		return "", err
	}
	return Sign(payload, s.key, s.headers)
}

// Token is Mint for tests: it fails the test on error.
func (is *Issuer) Token(t TB, opts ...Option) string {
	t.Helper()
	tok, err := is.Mint(opts...)
	if err != nil {
		t.Fatalf("authtest: minting token: %v", err)
	}
	return tok
}
