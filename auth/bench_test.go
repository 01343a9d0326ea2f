package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

// BenchmarkValidate measures a full validation of an Auth0-shaped token
// (header checks, key lookup, RS256 verification, claim type checks, jwx
// claim validation) with the token cache off. BenchmarkVerifyOnly is the
// baseline in the same run: the RSA signature check alone, which an
// uncached validator cannot skip; their ratio is the cost of everything
// else. BenchmarkValidateCached is the same token sent again, as clients
// do on every request.
func BenchmarkValidate(b *testing.B) { benchmarkValidate(b, 0) }

func BenchmarkValidateCached(b *testing.B) { benchmarkValidate(b, 1000) }

func benchmarkValidate(b *testing.B, cacheSize int) {
	is := authtest.NewServer(b)
	keys, err := jwks.New(jwks.Options{URL: is.JWKSURL()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go keys.Run(ctx)
	for !keys.Ready() {
		time.Sleep(time.Millisecond)
	}
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience, CacheSize: cacheSize}, keys)
	if err != nil {
		b.Fatal(err)
	}
	tok := is.Token(b, authtest.Scope("openid profile read:messages"), authtest.Permissions("read:messages", "write:messages"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyOnly(b *testing.B) {
	is := authtest.NewServer(b)
	tok := []byte(is.Token(b, authtest.Scope("openid profile read:messages"), authtest.Permissions("read:messages", "write:messages")))
	pub, err := is.SigningKey().PublicKey()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jws.Verify(tok, jws.WithKey(jwa.RS256, pub)); err != nil {
			b.Fatal(err)
		}
	}
}
