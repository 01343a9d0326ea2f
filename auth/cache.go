package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/authgql/server/jwks"
)

// tokenCache remembers tokens that passed validation, so that a client
// sending the same token on every request (as every client does) costs one
// signature check per token rather than one per request. A hit is a
// SHA-256 of the token and a map lookup, without allocating: it returns
// the claims validated the first time, shared by every request that sends
// the token (callers must not modify them).
//
// It is bounded twice, by entries (Config.CacheSize) and by the bytes the
// entries hold (Config.CacheBytes), stores a digest rather than the token
// (no bearer token sits in memory for an hour), and never extends a
// token's life: a hit still needs the token unexpired and the very key
// that verified it still in the key set under its kid, so removing a key
// from the JWKS, or replacing it under the same kid, revokes its tokens
// at once. Only successes are stored, from their second validation on
// (admit): an attacker cannot fill it without valid signatures, and a
// stream of one-time tokens does not evict the tokens clients send again.
type tokenCache struct {
	maxEntries, maxBytes int
	seen                 []atomic.Uint64 // admit's fingerprints of tokens validated once

	mu    sync.RWMutex
	m     map[[sha256.Size]byte]cachedToken
	bytes int // the sum of the entries' cost
}

type cachedToken struct {
	claims *Claims   // never modified once stored
	key    *jwks.Key // the key that verified the token
	cost   int       // bytes held, as estimated by put's caller (see entryCost)
}

// digester hashes tokens, the key of both caches: SHA-256, so that a
// cache holds a digest rather than a bearer token, without allocating.
type digester struct {
	pool sync.Pool // *tokenHasher
}

// tokenHasher is a SHA-256 state with room to copy a token through it:
// hash.Hash takes bytes, and converting the token string to bytes would
// allocate on every request.
type tokenHasher struct {
	h   hash.Hash
	buf [512]byte
	sum [sha256.Size]byte
}

func newDigester() *digester {
	return &digester{pool: sync.Pool{New: func() any { return &tokenHasher{h: sha256.New()} }}}
}

// sum returns the SHA-256 of raw.
func (d *digester) sum(raw string) [sha256.Size]byte {
	th := d.pool.Get().(*tokenHasher)
	th.h.Reset()
	for len(raw) > 0 {
		n := copy(th.buf[:], raw)
		th.h.Write(th.buf[:n])
		raw = raw[n:]
	}
	th.h.Sum(th.sum[:0])
	sum := th.sum
	d.pool.Put(th)
	return sum
}

// entryOverhead is what an entry costs besides its strings and slices: the
// map slot (digest, kid, pointer, cost) and the Claims struct, rounded up.
const entryOverhead = 256

// entryCost estimates the bytes an entry holds: strs is the length of the
// one string all the claims' strings are sliced from.
func entryCost(kid string, strs int, c *Claims) int {
	const sliceElem = 16 // a string header
	return entryOverhead + len(kid) + strs + sliceElem*(len(c.Audience)+len(c.Scopes))
}

// newTokenCache returns a cache of at most maxEntries tokens holding at most
// maxBytes, or nil (disabled) when maxEntries <= 0.
func newTokenCache(maxEntries, maxBytes int) *tokenCache {
	if maxEntries <= 0 {
		return nil
	}
	return &tokenCache{
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		seen:       make([]atomic.Uint64, maxEntries),
		m:          make(map[[sha256.Size]byte]cachedToken),
	}
}

// admit reports whether the token of digest sum, just validated, should
// enter the cache: the second time it validates, not the first. A client
// sending the same token on every request pays one more signature check
// before its hits begin; one that sends a new token on every request (or
// an attacker with a stream of valid tokens) never fills the cache, so it
// neither churns it nor evicts the tokens that are sent again. It
// remembers one fingerprint per slot (as many slots as entries: 8 bytes
// each), overwritten by the next token that maps to the slot, so it is
// bounded and a rare collision only delays a token's admission; racing
// requests can only admit a token once more or once less.
func (c *tokenCache) admit(sum [sha256.Size]byte) bool {
	if c == nil {
		return false
	}
	fp := binary.LittleEndian.Uint64(sum[:8]) | 1 // never 0, an empty slot
	slot := &c.seen[fp%uint64(len(c.seen))]
	if slot.Load() == fp {
		return true
	}
	slot.Store(fp)
	return false
}

// get returns the claims of the cached token of digest sum, if it is
// valid at now and the key that verified it is still the one the key set
// (current: jwks.Cache.Current) publishes under its kid (jwks keeps a *Key the same value while it is
// published unchanged).
func (c *tokenCache) get(sum [sha256.Size]byte, now time.Time, current func(kid string) *jwks.Key) (*Claims, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[sum]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	if !now.Before(e.claims.ValidUntil) {
		c.mu.Lock()
		if cur, ok := c.m[sum]; ok && cur.claims == e.claims {
			c.removeLocked(sum, cur)
		}
		c.mu.Unlock()
		return nil, false
	}
	if current(e.key.ID) != e.key {
		return nil, false
	}
	return e.claims, true
}

// put stores a validated token of digest sum whose entry costs cost bytes.
// When full (of entries or of bytes), it makes room (evictLocked). An
// entry larger than the whole byte budget is not stored.
func (c *tokenCache) put(sum [sha256.Size]byte, key *jwks.Key, claims *Claims, cost int, now time.Time) {
	if c == nil || cost > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[sum]; ok {
		c.removeLocked(sum, old)
	}
	if len(c.m) >= c.maxEntries || c.bytes+cost > c.maxBytes {
		c.evictLocked(now, cost)
	}
	c.m[sum] = cachedToken{claims: claims, key: key, cost: cost}
	c.bytes += cost
}

// evictLocked makes room for an entry of cost bytes: it drops the expired
// entries and keeps the others, in map order (random, so no client can
// choose who is evicted), until 90% of either bound. The survivors move to
// a new map: a Go map never shrinks, and one that only ever deletes and
// inserts, as a cache under a stream of distinct tokens does, kept growing
// (BenchmarkTokenCacheFill: 1.2 KB of heap per entry after a million
// tokens, 1.4 KB after three million; 0.5 KB with the move, at any count). Copying 9,000 entries once per 1,000 new tokens
// costs each of them less than a microsecond, beside the signature check
// each of them needed.
func (c *tokenCache) evictLocked(now time.Time, cost int) {
	// At most maxEntries-1 survive, so that there is room for the new
	// entry even when a tenth of maxEntries rounds to 0.
	maxEntries, maxBytes := min(c.maxEntries-1, c.maxEntries-c.maxEntries/10), c.maxBytes-c.maxBytes/10-cost
	kept := make(map[[sha256.Size]byte]cachedToken, min(len(c.m), maxEntries))
	c.bytes = 0
	for k, e := range c.m {
		if len(kept) >= maxEntries || c.bytes+e.cost > maxBytes || !now.Before(e.claims.ValidUntil) {
			continue
		}
		kept[k] = e
		c.bytes += e.cost
	}
	c.m = kept
}

func (c *tokenCache) removeLocked(sum [sha256.Size]byte, e cachedToken) {
	delete(c.m, sum)
	c.bytes -= e.cost
}

// failureCache remembers tokens whose signature did not verify with the
// key their kid names, by digest, with that key: a client (or an attacker)
// sending one bad token again and again costs a digest and a map lookup
// per request instead of a signature check, which is what made a bad
// token cost twice a good one. A failure is a fact about the token's bytes
// and that key alone (RFC 7515 section 5.2), so it holds for as long as
// the key set still has that very key (jwks keeps a *Key across reloads
// while it is published unchanged; a key replaced under its kid makes its
// entries stale). Nothing else is
// remembered (a time rule can stop failing, an unknown kid can be
// published). Bounded: when full, a random tenth is dropped; an attacker
// pays a signature check of ours for every entry it adds, as before.
type failureCache struct {
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]*jwks.Key
}

// newFailureCache returns a cache of at most max failures, or nil
// (disabled) when max <= 0.
func newFailureCache(max int) *failureCache {
	if max <= 0 {
		return nil
	}
	return &failureCache{max: max, m: make(map[[sha256.Size]byte]*jwks.Key)}
}

// failed reports whether the token of digest sum failed before with a key
// that keys still holds under its kid.
func (c *failureCache) failed(sum [sha256.Size]byte, keys *jwks.Cache) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	key, ok := c.m[sum]
	c.mu.Unlock()
	return ok && keys.Current(key.ID) == key
}

// add remembers that the token of digest sum did not verify with key.
func (c *failureCache) add(sum [sha256.Size]byte, key *jwks.Key) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := 0
		for k := range c.m { // map order is random
			if n >= c.max/10+1 {
				break
			}
			delete(c.m, k)
			n++
		}
	}
	c.m[sum] = key
}

// header is what a checked protected header says that validation uses:
// the algorithm and the kid, or why the header is refused.
type header struct {
	alg jwa.SignatureAlgorithm
	kid string
	err error
}

// maxCachedHeaders and maxCachedHeaderBytes bound headerCache: an issuer
// signs with one header per key, and a header is about 100 bytes.
const (
	maxCachedHeaders     = 64
	maxCachedHeaderBytes = 1 << 10
)

// headerCache remembers checked protected headers by their base64url
// segment: an issuer writes the same header on every token it signs with
// a key ({"alg":"RS256","typ":"JWT","kid":...}), and parsing it took a
// tenth of an uncached validation. A header's check depends on its bytes
// alone, so refusals are remembered too. Bounded: at most
// maxCachedHeaders headers of at most maxCachedHeaderBytes; when full, it
// starts over, so a stream of distinct headers costs what it did without
// it. Its zero value is ready to use.
type headerCache struct {
	mu sync.RWMutex
	m  map[string]header
}

func (c *headerCache) get(segment []byte) (header, bool) {
	c.mu.RLock()
	h, ok := c.m[string(segment)] // no allocation for a map index
	c.mu.RUnlock()
	return h, ok
}

func (c *headerCache) put(segment []byte, h header) {
	if len(segment) > maxCachedHeaderBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedHeaders {
		c.m = make(map[string]header, maxCachedHeaders)
	}
	c.m[string(segment)] = h
}
