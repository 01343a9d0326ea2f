package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
	"github.com/authgql/server/metrics"
)

// cachedValidator returns a validator with a token cache, its key cache
// (refetching unknown kids at once), a settable clock, and the count of
// its token cache hits so far.
func cachedValidator(t *testing.T, is *authtest.Issuer) (*auth.Validator, *jwks.Cache, *time.Time, func() int) {
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
	v, hits := countingValidator(t, auth.Config{Issuer: is.URL, Audience: is.Audience, CacheSize: 100,
		Now: func() time.Time { return now }}, keys)
	return v, keys, &now, hits
}

// countingValidator returns a validator for cfg, with metrics of its own,
// and the count of its token cache hits so far (-1 if the count cannot be
// read).
func countingValidator(t *testing.T, cfg auth.Config, keys *jwks.Cache) (*auth.Validator, func() int) {
	t.Helper()
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics = m
	v, err := auth.NewValidator(cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	hits := func() int {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, metrics.Path, nil))
		match := regexp.MustCompile(`(?m)^authgql_token_cache_lookups_total\{result="hit"\} (\d+)$`).FindStringSubmatch(rec.Body.String())
		if match == nil {
			return 0
		}
		n, err := strconv.Atoi(match[1])
		if err != nil {
			return -1
		}
		return n
	}
	return v, hits
}

// TestTokenCacheNeverExtendsAToken: a cached token still expires, and
// still dies with its key.
func TestTokenCacheNeverExtendsAToken(t *testing.T) {
	is := authtest.NewServer(t)
	v, keys, now, hits := cachedValidator(t, is)
	tok := is.Token(t, authtest.Scope("read:messages"), authtest.Now(*now), authtest.ExpiresIn(time.Minute))
	for range 3 { // the second call admits the token, the third is a hit
		c, err := v.Validate(context.Background(), tok)
		if err != nil || !c.HasScope("read:messages") {
			t.Fatalf("Validate = %+v, %v", c, err)
		}
	}
	if hits() != 1 {
		t.Fatalf("%d cache hits; want the third validation served from the cache", hits())
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
	v, _, now, hits := cachedValidator(t, is)
	tok := is.Token(t, authtest.Now(*now))
	for range 3 {
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if hits() != 1 {
		t.Fatalf("%d cache hits; want the token cached", hits())
	}
	other, _ := authtest.NewKey("RS256")
	forged := is.Token(t, authtest.Now(*now), authtest.SignedWith(other), authtest.KeyID(is.SigningKey().KeyID()))
	if _, err := v.Validate(context.Background(), forged); !isReason(err, auth.ReasonInvalidToken) {
		t.Errorf("forged token with a cached token's kid: %v", err)
	}
}

// TestTokenCacheKeyReplaced: a cached token dies when the issuer replaces
// its key under the same kid (SPEC.md: the signature verifies with the key
// the kid names), and stays cached across a reload that keeps the key.
func TestTokenCacheKeyReplaced(t *testing.T) {
	is := authtest.NewServer(t)
	v, keys, now, hits := cachedValidator(t, is)
	tok := is.Token(t, authtest.Now(*now))
	validate := func() error {
		_, err := v.Validate(context.Background(), tok)
		return err
	}
	for range 3 {
		if err := validate(); err != nil {
			t.Fatal(err)
		}
	}
	kid := is.SigningKey().KeyID()

	// A reload that keeps the key (a graceful rotation): still a hit.
	if _, err := is.Rotate(true); err != nil {
		t.Fatal(err)
	}
	if err := validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), is.Token(t, authtest.Now(*now))); err != nil { // unknown kid: refetch
		t.Fatalf("token of the new key: %v", err)
	}
	before := hits()
	if err := validate(); err != nil || hits() != before+1 {
		t.Fatalf("after a reload that kept the key: %v, %d new hits; want a hit", err, hits()-before)
	}

	// The key replaced under the same kid: the cached token is refused.
	_, body, err := authtest.ReplacementKey("RS256", kid)
	if err != nil {
		t.Fatal(err)
	}
	is.SetBody(body)
	if _, err := v.Validate(context.Background(), is.Token(t, authtest.KeyID("reload-now"))); err == nil { // unknown kid: refetch
		t.Fatal("a token of an unknown kid was accepted")
	}
	if k := keys.Current(kid); k == nil || keys.Has(is.SigningKey().KeyID()) {
		t.Fatal("the key set was not reloaded with the replacement")
	}
	if err := validate(); !isReason(err, auth.ReasonInvalidToken) {
		t.Errorf("cached token after its key was replaced under its kid: %v; want invalid_token", err)
	}
}

func isReason(err error, r auth.Reason) bool {
	var e *auth.Error
	return errors.As(err, &e) && e.Reason == r
}
