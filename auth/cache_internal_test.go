package auth

import (
	"context"
	"fmt"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testKey stands for the key that verified the tokens of these tests.
var testKey = &jwks.Key{ID: "kid"}

func TestTokenCacheBounded(t *testing.T) {
	now := time.Now()
	c := newTokenCache(10, 1<<20)
	for i := range 1000 {
		c.put(sumOf(fmt.Sprint("token-", i)), testKey, &Claims{ValidUntil: now.Add(time.Hour)}, 300, now)
		if len(c.m) > 10 {
			t.Fatalf("cache holds %d entries; max 10", len(c.m))
		}
	}
	if _, ok := c.get(sumOf("token-999"), now, func(string) *jwks.Key { return testKey }); !ok {
		t.Errorf("the newest entry was evicted")
	}
	if _, ok := c.get(sumOf("token-999"), now, func(string) *jwks.Key { return nil }); ok {
		t.Errorf("hit although the key is gone")
	}
	for _, size := range []int{1, 5, 9} { // a tenth of them rounds to 0
		small := newTokenCache(size, 1<<20)
		for i := range 3 * size {
			small.put(sumOf(fmt.Sprint("small-", i)), testKey, &Claims{ValidUntil: now.Add(time.Hour)}, 300, now)
			if len(small.m) > size {
				t.Fatalf("a cache of size %d holds %d entries", size, len(small.m))
			}
		}
	}
	if newTokenCache(0, 1<<20) != nil {
		t.Errorf("size 0 does not disable the cache")
	}
	var disabled *tokenCache
	disabled.put(sumOf("x"), testKey, &Claims{}, 300, now)
	if _, ok := disabled.get(sumOf("x"), now, func(string) *jwks.Key { return testKey }); ok {
		t.Errorf("disabled cache hit")
	}
}

// TestTokenCacheBoundedInBytes: large entries are bounded by the byte
// budget long before the entry count, and one larger than the whole
// budget is not stored.
func TestTokenCacheBoundedInBytes(t *testing.T) {
	now := time.Now()
	const budget = 100 << 10
	c := newTokenCache(10000, budget)
	for i := range 1000 {
		c.put(sumOf(fmt.Sprint("big-", i)), testKey, &Claims{ValidUntil: now.Add(time.Hour)}, 10<<10, now)
		if c.bytes > budget {
			t.Fatalf("cache holds %d bytes; max %d", c.bytes, budget)
		}
	}
	if len(c.m) > 10 {
		t.Errorf("%d entries of 10 KiB in a 100 KiB budget", len(c.m))
	}
	sum := 0
	for _, e := range c.m {
		sum += e.cost
	}
	if sum != c.bytes {
		t.Errorf("bytes = %d; the entries cost %d", c.bytes, sum)
	}
	c.put(sumOf("huge"), testKey, &Claims{ValidUntil: now.Add(time.Hour)}, budget+1, now)
	if _, ok := c.get(sumOf("huge"), now, func(string) *jwks.Key { return testKey }); ok {
		t.Error("an entry over the whole budget was stored")
	}
	// Storing the same token again replaces its entry, not adds to it.
	before := c.bytes
	c.put(sumOf("big-999"), testKey, &Claims{ValidUntil: now.Add(time.Hour)}, 10<<10, now)
	if c.bytes != before {
		t.Errorf("bytes %d after storing a cached token again; want %d", c.bytes, before)
	}
}

// TestTokenCacheHit: a hit is the stored claims themselves, found without
// allocating; an expired entry is no hit and is dropped.
func TestTokenCacheHit(t *testing.T) {
	now := time.Now()
	c := newTokenCache(10, 1<<20)
	tok := strings.Repeat("t", 900) // longer than the hasher's buffer
	want := &Claims{Subject: "u", ValidUntil: now.Add(time.Minute)}
	c.put(sumOf(tok), testKey, want, 300, now)
	hasKey := func(kid string) *jwks.Key {
		if kid == "kid" {
			return testKey
		}
		return nil
	}
	if got, ok := c.get(sumOf(tok), now, hasKey); !ok || got != want {
		t.Fatalf("get = %p, %v; want the stored %p", got, ok, want)
	}
	if _, ok := c.get(sumOf(tok[:899]+"u"), now, hasKey); ok {
		t.Fatal("a different token hit")
	}
	d := newDigester()
	if n := testing.AllocsPerRun(100, func() { c.get(d.sum(tok), now, hasKey) }); n != 0 {
		t.Errorf("a hit allocates %v times; want 0", n)
	}
	if _, ok := c.get(sumOf(tok), want.ValidUntil, hasKey); ok {
		t.Error("hit at ValidUntil")
	}
	if len(c.m) != 0 || c.bytes != 0 {
		t.Errorf("expired entry kept: %d entries, %d bytes", len(c.m), c.bytes)
	}
}

// BenchmarkTokenCacheFill stores a new token per operation, as the S4 load
// of the perf harness sends one (its claims: two audiences, three scopes,
// a distinct sub), with the default bounds. Run it with -benchtime
// 1000000x for a million distinct tokens: it reports the entries kept, the
// heap they hold per entry (live heap after a GC, less the heap before) and
// the cache's own estimate per entry.
func BenchmarkTokenCacheFill(b *testing.B) {
	v := &Validator{cfg: Config{Issuer: "https://tenant.example.auth0.com/", Audience: "https://api.example.com", ClockSkew: MaxClockSkew}}
	c := newTokenCache(DefaultCacheSize, DefaultCacheBytes)
	now := time.Now()
	payload := func(i int) []byte {
		return fmt.Appendf(nil, `{"iss":%q,"sub":"auth0|pool%09d","aud":[%q,"https://tenant.example.auth0.com/userinfo"],"iat":%d,"exp":%d,"azp":"hCKgU3ysyxNW2FD6gM5MZrmwqtYkcTWP","scope":"openid profile email","permissions":[],"jti":"j%d"}`,
			v.cfg.Issuer, i, v.cfg.Audience, now.Unix()-5, now.Unix()+86400, i)
	}
	kid := strings.Repeat("k", 32)
	key := &jwks.Key{ID: kid}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		claims, strs, err := v.claims(payload(i), now)
		if err != nil {
			b.Fatal(err)
		}
		c.put(sumOf(fmt.Sprintf("token-%d", i)), key, claims, entryCost(kid, strs, claims), now)
		i++
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := len(c.m)
	b.ReportMetric(float64(n), "entries")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "heap-B/entry")
	b.ReportMetric(float64(c.bytes)/float64(n), "cost-B/entry")
	runtime.KeepAlive(c)
}

// sumOf is a token's key in the caches.
func sumOf(raw string) [32]byte { return newDigester().sum(raw) }

// TestAdmission: a token enters the cache at its second validation, so a
// stream of one-time tokens never evicts a token that is sent again.
func TestAdmission(t *testing.T) {
	c := newTokenCache(10, 1<<20)
	a, b := sumOf("a"), sumOf("b")
	if c.admit(a) {
		t.Fatal("admitted at its first validation")
	}
	if !c.admit(a) {
		t.Fatal("not admitted at its second validation")
	}
	if c.admit(b) {
		t.Fatal("another token admitted at its first validation")
	}
	var disabled *tokenCache
	if disabled.admit(a) {
		t.Error("a disabled cache admits")
	}

	is := authtest.NewServer(t)
	keys := readyKeys(t, is, jwks.Options{})
	v, err := NewValidator(Config{Issuer: is.URL, Audience: is.Audience, CacheSize: 20}, keys)
	if err != nil {
		t.Fatal(err)
	}
	validate := func(tok string) {
		t.Helper()
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	kept := is.Token(t, authtest.Subject("sent again"))
	validate(kept)
	validate(kept)
	for i := range 60 { // three times the cache's size, each sent once
		validate(is.Token(t, authtest.Subject(fmt.Sprint("once-", i))))
	}
	if _, ok := v.cache.get(v.digest(kept), time.Now(), keys.Current); !ok {
		t.Error("one-time tokens evicted the token sent again")
	}
	if n := len(v.cache.m); n != 1 {
		t.Errorf("the cache holds %d tokens; want only the one sent twice", n)
	}
}
