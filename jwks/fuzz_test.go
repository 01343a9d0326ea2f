package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/authgql/server/auth/authtest"
)

// FuzzParseJWKS: whatever an issuer (or whoever sits in its place) serves,
// parse never panics, and every key it keeps has a kid, is a public key of
// a signature type strong enough, and fits an allowed algorithm.
//
// Run with: go test -run '^$' -fuzz '^FuzzParseJWKS$' -fuzztime 20s ./jwks
func FuzzParseJWKS(f *testing.F) {
	algs := []jwa.SignatureAlgorithm{jwa.RS256, jwa.PS256, jwa.ES256, jwa.ES384, jwa.EdDSA}
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.ES256, jwa.ES384, jwa.EdDSA} {
		k, err := authtest.NewKey(alg)
		if err != nil {
			f.Fatal(err)
		}
		pub, _ := k.PublicKey()
		set := jwk.NewSet()
		_ = set.AddKey(pub)
		b, _ := json.Marshal(set)
		f.Add(b)
		priv, _ := json.Marshal(k) // a leaked private key
		f.Add([]byte(`{"keys":[` + string(priv) + `]}`))
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"keys":null}`, `{"keys":[]}`, `{"keys":{}}`, `{"keys":[null]}`,
		`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`,
		`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","kid":"e","crv":"P-256","x":"AAAA","y":"AAAA"}]}`,
		`{"keys":[{"kty":"OKP","kid":"o","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":[{"kty":"OKP","kid":"x","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}]}`,
		`{"keys":[{"kty":"RSA","kid":"","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"d","use":"enc"}]}`,
		`{"keys":[{"kty":"EC","kid":"d","crv":"P-256"},{"kty":"EC","kid":"d","crv":"P-256"}],"keys":[]}`,
	} {
		f.Add([]byte(s))
	}
	c := newCache(f, Options{URL: "http://127.0.0.1/jwks", Algorithms: algs})
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := c.parse(body)
		if err != nil {
			if keys != nil {
				t.Fatalf("keys %v returned with error %v", keys, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no error, yet no key")
		}
		for kid, k := range keys {
			if kid == "" || k.ID != kid {
				t.Fatalf("key filed under %q has kid %q", kid, k.ID)
			}
			switch r := k.Public.(type) {
			case *rsa.PublicKey:
				if r.N.BitLen() < MinRSABits {
					t.Fatalf("kid %q: %d-bit RSA key kept", kid, r.N.BitLen())
				}
			case *ecdsa.PublicKey, ed25519.PublicKey:
			default:
				t.Fatalf("kid %q: kept a %T, which is not a public signature key", kid, k.Public)
			}
			if !slices.ContainsFunc(algs, k.Verifies) {
				t.Fatalf("kid %q: fits none of %v", kid, algs)
			}
			if a := k.Algorithm; a != "" && (!slices.Contains(algs, a) || !Fits(k.Public, a)) {
				t.Fatalf("kid %q: alg %q is not allowed or does not fit its %T", kid, a, k.Public)
			}
			if u := k.usage; u != "" && u != string(jwk.ForSignature) {
				t.Fatalf("kid %q: use %q kept", kid, u)
			}
		}
	})
}
