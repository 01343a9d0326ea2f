package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

// TestFailureCache: a token whose signature failed with the key its kid
// names is refused again without a signature check while the key set
// still has that very key; after the key set is loaded again it is
// checked again (and still refused); a token refused for an unknown kid is
// not remembered (its key may yet be published); the cache is bounded.
func TestFailureCache(t *testing.T) {
	is := authtest.NewServer(t)
	keys := readyKeys(t, is, jwks.Options{MissInterval: time.Nanosecond})
	v, err := NewValidator(Config{Issuer: is.URL, Audience: is.Audience, CacheSize: 10, FailureCacheSize: 10}, keys)
	if err != nil {
		t.Fatal(err)
	}
	cause := func(tok string) error {
		t.Helper()
		_, err := v.Validate(context.Background(), tok)
		var e *Error
		if !errors.As(err, &e) || e.Reason != ReasonInvalidToken {
			t.Fatalf("Validate = %v; want invalid_token", err)
		}
		return e.Err
	}

	other, err := authtest.NewKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	bad := is.Token(t, authtest.SignedWith(other), authtest.KeyID(is.SigningKey().KeyID()))
	var sigErr *signatureError
	if err := cause(bad); !errors.As(err, &sigErr) {
		t.Fatalf("first refusal: %v; want a signature failure", err)
	}
	if err := cause(bad); !errors.Is(err, errSignatureFailedBefore) {
		t.Fatalf("second refusal: %v; want it from the failure cache", err)
	}

	// The issuer rotates (keeping the old key): the key set is loaded
	// again with that key unchanged, so the entry still holds.
	oldKid := is.SigningKey().KeyID()
	if _, err := is.Rotate(true); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), is.Token(t)); err != nil { // an unknown kid: refetch
		t.Fatalf("token of the new key: %v", err)
	}
	if err := cause(bad); !errors.Is(err, errSignatureFailedBefore) {
		t.Fatalf("after a reload that kept the key: %v; want it from the failure cache", err)
	}

	// The issuer replaces the key under the same kid: the entry is
	// stale, the token is checked again (and still refused).
	_, body, err := authtest.ReplacementKey("RS256", oldKid)
	if err != nil {
		t.Fatal(err)
	}
	is.SetBody(body)
	if _, err := v.Validate(context.Background(), is.Token(t, authtest.KeyID("reload-now"))); err == nil { // an unknown kid: refetch
		t.Fatal("a token of an unknown kid was accepted")
	}
	if keys.Has(is.SigningKey().KeyID()) {
		t.Fatal("the key set was not reloaded")
	}
	if err := cause(bad); !errors.As(err, &sigErr) {
		t.Fatalf("after the key was replaced under its kid: %v; want the signature checked again", err)
	}
	is.SetBody(nil)

	// An unknown kid is not a signature failure.
	next, err := authtest.NewKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	early := is.Token(t, authtest.SignedWith(next))
	for range 2 {
		if err := cause(early); errors.Is(err, errSignatureFailedBefore) || errors.As(err, &sigErr) {
			t.Fatalf("unknown kid: %v; want a key lookup failure, not remembered", err)
		}
	}

	f := newFailureCache(10)
	for i := range 100 {
		f.add(sumOf(string(rune('a'+i%26))+string(rune(i))), keys.Current(is.SigningKey().KeyID()))
		if len(f.m) > 10 {
			t.Fatalf("failure cache holds %d; max 10", len(f.m))
		}
	}
	if newFailureCache(0) != nil {
		t.Errorf("size 0 does not disable the failure cache")
	}
}

// TestHeaderCache: tokens of one key share one checked header, a refused
// header stays refused, and the cache is bounded in entries and in the
// size of a header it keeps.
func TestHeaderCache(t *testing.T) {
	is := authtest.NewServer(t)
	keys := readyKeys(t, is, jwks.Options{})
	v, err := NewValidator(Config{Issuer: is.URL, Audience: is.Audience}, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := v.Validate(context.Background(), is.Token(t, authtest.Subject(string(rune('a'+i))))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.headers.m); n != 1 {
		t.Errorf("%d headers cached for five tokens of one key; want 1", n)
	}
	notJWT := is.Token(t, authtest.Header("typ", "dpop+jwt"))
	for range 2 {
		if _, err := v.Validate(context.Background(), notJWT); err == nil {
			t.Fatal("a typ other than JWT was accepted")
		}
	}

	var c headerCache
	for i := range 3 * maxCachedHeaders {
		c.put([]byte(fmt.Sprint("header-", i)), header{kid: "k"})
		if len(c.m) > maxCachedHeaders {
			t.Fatalf("%d headers cached; at most %d", len(c.m), maxCachedHeaders)
		}
	}
	big := make([]byte, maxCachedHeaderBytes+1)
	c.put(big, header{kid: "k"})
	if _, ok := c.get(big); ok {
		t.Error("a header over maxCachedHeaderBytes was cached")
	}
}
