package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

// cachedValidator returns a validator with a token cache, its key cache
// (refetching unknown kids at once) and a settable clock.
func cachedValidator(t *testing.T, is *authtest.Issuer) (*auth.Validator, *jwks.Cache, *time.Time) {
	t.Helper()
	now := time.Now()
	keys, err := jwks.New(jwks.Options{URL: is.JWKSURL(), MissInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go keys.Run(ctx)
	for !keys.Ready() {
		time.Sleep(time.Millisecond)
	}
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience, CacheSize: 100,
		Now: func() time.Time { return now }}, keys)
	if err != nil {
		t.Fatal(err)
	}
	return v, keys, &now
}

// TestTokenCacheNeverExtendsAToken: a cached token still expires, and
// still dies with its key.
func TestTokenCacheNeverExtendsAToken(t *testing.T) {
	is := authtest.NewServer(t)
	v, keys, now := cachedValidator(t, is)
	tok := is.Token(t, authtest.Scope("read:messages"), authtest.Now(*now), authtest.ExpiresIn(time.Minute))
	for range 2 { // the second call is served from the cache
		c, err := v.Validate(context.Background(), tok)
		if err != nil || !c.HasScope("read:messages") {
			t.Fatalf("Validate = %+v, %v", c, err)
		}
	}

	*now = now.Add(time.Minute + auth.MaxClockSkew)
	if _, err := v.Validate(context.Background(), tok); !isReason(err, auth.ReasonTokenExpired) {
		t.Errorf("cached token past exp+skew: %v; want token_expired", err)
	}

	*now = now.Add(-time.Minute - auth.MaxClockSkew)
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatalf("back in time: %v", err)
	}
	// The issuer drops the key (a compromised key, say); once the key set
	// no longer has it, the cached token is refused.
	if _, err := is.Rotate(false); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), is.Token(t, authtest.Now(*now))); err != nil { // unknown kid: refetch
		t.Fatalf("token of the new key: %v", err)
	}
	if keys.Has(is.SigningKey().KeyID()) == false {
		t.Fatal("key set did not pick up the rotation")
	}
	if _, err := v.Validate(context.Background(), tok); !isReason(err, auth.ReasonInvalidToken) {
		t.Errorf("cached token of a removed key: %v; want invalid_token", err)
	}
}

// TestTokenCacheIsPerToken: a tampered spelling of a cached token is not a
// hit.
func TestTokenCacheIsPerToken(t *testing.T) {
	is := authtest.NewServer(t)
	v, _, now := cachedValidator(t, is)
	tok := is.Token(t, authtest.Now(*now))
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	other, _ := authtest.NewKey("RS256")
	forged := is.Token(t, authtest.Now(*now), authtest.SignedWith(other), authtest.KeyID(is.SigningKey().KeyID()))
	if _, err := v.Validate(context.Background(), forged); !isReason(err, auth.ReasonInvalidToken) {
		t.Errorf("forged token with a cached token's kid: %v", err)
	}
}

func isReason(err error, r auth.Reason) bool {
	var e *auth.Error
	return errors.As(err, &e) && e.Reason == r
}
