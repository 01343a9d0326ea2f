package auth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

// The validator's benchmarks. Each reports, besides ns/op, B/op and
// allocs/op, "x-verify": its time per operation divided by that of
// BenchmarkVerifyOnly measured right after it in the same process (the
// bare jws.Verify of the same token with a raw RSA public key: the one
// cost an uncached validation cannot avoid). On a shared machine the ratio
// is steadier than either time. None of them asserts a time.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./auth | tee new.txt
//	benchstat old.txt new.txt

// BenchmarkValidate is a full validation of an Auth0-shaped token with the
// token cache off: header checks, key lookup, RS256 verification, claims.
func BenchmarkValidate(b *testing.B) {
	f := newBenchFixture(b, 0)
	f.run(b, f.good, "")
}

// BenchmarkValidateCached is the same token sent again with the cache on,
// as clients do on every request: the cost of a hit.
func BenchmarkValidateCached(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	f.run(b, f.good, "")
}

// BenchmarkAuthenticateCached is a cache hit through the one entry point,
// credentials parsing included: what a request with a known token costs.
func BenchmarkAuthenticateCached(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	credentials := "Bearer " + f.good
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Authenticate(f.ctx, credentials); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, f)
}

// BenchmarkValidateManyPermissions: an uncached token carrying 1,000 RBAC
// permissions (and the same in "scope"), the largest token the default cap
// is sized for.
func BenchmarkValidateManyPermissions(b *testing.B) {
	f := newBenchFixture(b, 0)
	f.run(b, manyPermissionsToken(b, f.is), "")
}

// The failure kinds, cache on (failures are never cached, so each one costs
// what it costs the first time).

func BenchmarkValidateBadSignature(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	other := strings.Split(f.is.Token(b, authtest.Subject("someone else")), ".")[2]
	parts := strings.Split(f.good, ".")
	f.run(b, parts[0]+"."+parts[1]+"."+other, auth.ReasonInvalidToken)
}

func BenchmarkValidateExpired(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	f.run(b, f.is.Token(b, authtest.ExpiresIn(-time.Hour)), auth.ReasonTokenExpired)
}

func BenchmarkValidateWrongAudience(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	f.run(b, f.is.Token(b, authtest.Audience("https://other.example")), auth.ReasonInvalidClaims)
}

// BenchmarkValidateMalformed: not a compact JWS, refused before any
// decoding.
func BenchmarkValidateMalformed(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	f.run(b, strings.Replace(f.good, ".", "!", 1), auth.ReasonInvalidToken)
}

// BenchmarkValidateUnknownKid: signed by a key the issuer never published;
// after the first refetch the key cache refuses further unknown kids
// without fetching (MissInterval).
func BenchmarkValidateUnknownKid(b *testing.B) {
	f := newBenchFixture(b, auth.DefaultCacheSize)
	f.run(b, f.is.Token(b, authtest.SignedWith(authtest.Key(b, jwa.RS256))), auth.ReasonInvalidToken)
}

// BenchmarkVerifyOnly is the baseline: jws.Verify of the good token with
// the raw RSA public key, nothing else.
func BenchmarkVerifyOnly(b *testing.B) {
	f := newBenchFixture(b, 0)
	verifyOnly(b, f)
}

type benchFixture struct {
	ctx  context.Context
	is   *authtest.Issuer
	v    *auth.Validator
	good string
}

func newBenchFixture(b *testing.B, cacheSize int) *benchFixture {
	b.Helper()
	is := authtest.NewServer(b)
	keys, err := jwks.New(jwks.Options{URL: is.JWKSURL(), MissInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go keys.Run(ctx)
	for deadline := time.Now().Add(5 * time.Second); !keys.Ready(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("key cache not ready")
		}
	}
	// The cap is raised so that the many-permissions token is measured
	// whatever the default cap.
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience, CacheSize: cacheSize, MaxCredentialsBytes: 128 << 10}, keys)
	if err != nil {
		b.Fatal(err)
	}
	good := is.Token(b, authtest.Scope("openid profile read:messages"), authtest.Permissions("read:messages", "write:messages"))
	return &benchFixture{ctx: ctx, is: is, v: v, good: good}
}

// run validates tok in a loop and checks every outcome: nil for a valid
// token (reason ""), else an *auth.Error with reason.
func (f *benchFixture) run(b *testing.B, tok string, reason auth.Reason) {
	b.Helper()
	_, _ = f.v.Validate(f.ctx, tok) // warm: the first unknown kid refetches
	b.ReportAllocs()
	for b.Loop() {
		_, err := f.v.Validate(f.ctx, tok)
		if reason == "" && err != nil || reason != "" && !isReason(err, reason) {
			b.Fatalf("Validate: %v; want reason %q", err, reason)
		}
	}
	reportRatio(b, f)
}

// reportRatio reports b's time per operation as a multiple of the bare
// jws.Verify's, timed now, in this process, after b's loop (for at least
// 50 verifications and a quarter of a second; testing.Benchmark cannot
// nest in a benchmark).
func reportRatio(b *testing.B, f *benchFixture) {
	b.Helper()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	verify := f.verifier(b)
	n, start := 0, time.Now()
	for ; n < 50 || time.Since(start) < time.Second/4; n++ {
		verify()
	}
	b.ReportMetric(perOp/(float64(time.Since(start).Nanoseconds())/float64(n)), "x-verify")
}

func verifyOnly(b *testing.B, f *benchFixture) {
	verify := f.verifier(b)
	b.ReportAllocs()
	for b.Loop() {
		verify()
	}
}

// verifier returns the baseline operation: jws.Verify of the good token
// with the raw RSA public key.
func (f *benchFixture) verifier(b *testing.B) func() {
	tok := []byte(f.good)
	pub, err := f.is.SigningKey().PublicKey()
	if err != nil {
		b.Fatal(err)
	}
	var raw any
	if err := pub.Raw(&raw); err != nil {
		b.Fatal(err)
	}
	return func() {
		if _, err := jws.Verify(tok, jws.WithKey(jwa.RS256, raw)); err != nil {
			b.Fatal(err)
		}
	}
}

// manyPermissionsToken is an access token as Auth0 issues it to a user
// holding 1,000 RBAC permissions ("read:resource-0001" ...): all of them in
// "permissions", and in "scope" too (a client that asked for every scope).
func manyPermissionsToken(t testing.TB, is *authtest.Issuer) string {
	t.Helper()
	perms := make([]string, 1000)
	for i := range perms {
		perms[i] = fmt.Sprintf("read:resource-%04d", i+1)
	}
	return is.Token(t, authtest.Subject("auth0|5f7c8ec7c33c6c004bbafe82"), authtest.Permissions(perms...),
		authtest.Scope(append([]string{"openid", "profile", "email"}, perms...)...),
		authtest.Claim("azp", "Xw3bA5fK2Lq9ZpT7mN1cV8rY4uE6hJ0s"), authtest.Claim("gty", "password"))
}
