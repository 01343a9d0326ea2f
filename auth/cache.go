package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// tokenCache remembers tokens that passed validation, so that a client
// sending the same token on every request (as every client does) costs one
// signature check per token rather than one per request. It is bounded,
// stores a digest rather than the token, and never extends a token's life:
// a hit still needs the token unexpired and its signing key still in the
// key set, so removing a key from the JWKS revokes its tokens at once.
// Only successes are stored; an attacker cannot fill it without valid
// signatures.
type tokenCache struct {
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	claims Claims
	kid    string
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, m: make(map[[sha256.Size]byte]cachedToken)}
}

// get returns a copy of the claims of a cached token valid at now whose key
// is still published.
func (c *tokenCache) get(raw string, now time.Time, hasKey func(kid string) bool) (*Claims, bool) {
	if c == nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	e, ok := c.m[sum]
	if ok && !now.Before(e.claims.ValidUntil) {
		delete(c.m, sum)
		ok = false
	}
	c.mu.Unlock()
	if !ok || !hasKey(e.kid) {
		return nil, false
	}
	claims := e.claims
	return &claims, true
}

// put stores a validated token. When full, it drops expired entries and,
// if that frees nothing, a tenth of the others (map order is random, so
// no client can choose who is evicted).
func (c *tokenCache) put(raw, kid string, claims *Claims, now time.Time) {
	if c == nil {
		return
	}
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.claims.ValidUntil) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[sum] = cachedToken{claims: *claims, kid: kid}
}
