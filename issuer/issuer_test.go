package issuer_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/authgql/server/issuer"
)

func newIssuer(t *testing.T, alg jwa.SignatureAlgorithm) *issuer.Issuer {
	t.Helper()
	is, err := issuer.New(issuer.Options{URL: "http://127.0.0.1:8080/", Audience: "https://api.example", Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// publicSet parses what the issuer publishes and checks that it carries
// no private key material.
func publicSet(t *testing.T, is *issuer.Issuer) jwk.Set {
	t.Helper()
	b, err := is.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`} {
		if strings.Contains(string(b), private) {
			t.Fatalf("the published key set carries private member %s: %s", private, b)
		}
	}
	set, err := jwk.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestAccessToken: a minted token verifies with the published key set and
// says what it was asked to, in Auth0's shape.
func TestAccessToken(t *testing.T) {
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.ES256, jwa.EdDSA} {
		t.Run(alg.String(), func(t *testing.T) {
			is := newIssuer(t, alg)
			tok, err := is.AccessToken("dev|someone", []string{"read:a", "write:b"}, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify([]byte(tok), jws.WithKeySet(publicSet(t, is), jws.WithRequireKid(true)))
			if err != nil {
				t.Fatalf("the token does not verify with the published keys: %v", err)
			}
			msg, err := jws.Parse([]byte(tok))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Signatures()[0].ProtectedHeaders()
			if h.Algorithm() != alg || h.KeyID() != is.SigningKey().KeyID() || h.Type() != "JWT" {
				t.Errorf("header alg %q kid %q typ %q; want %q, the signing key's kid, JWT", h.Algorithm(), h.KeyID(), h.Type(), alg)
			}
			var c struct {
				Iss, Aud, Sub, Scope string
				Iat, Exp             int64
			}
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatal(err)
			}
			if c.Iss != is.URL() || c.Aud != is.Audience() || c.Sub != "dev|someone" || c.Scope != "read:a write:b" || c.Exp-c.Iat != 600 {
				t.Errorf("claims = %+v", c)
			}
			if d := time.Since(time.Unix(c.Iat, 0)); d < -time.Minute || d > time.Minute {
				t.Errorf("iat is %s away from now", d)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	is := newIssuer(t, "")
	first := is.SigningKey().KeyID()
	if _, err := is.Rotate(true); err != nil {
		t.Fatal(err)
	}
	set := publicSet(t, is)
	if _, ok := set.LookupKeyID(first); !ok || set.Len() != 2 || is.SigningKey().KeyID() == first {
		t.Errorf("after a graceful rotation: %d keys, old key kept %v, signing with the old key %v", set.Len(), ok, is.SigningKey().KeyID() == first)
	}
	if _, err := is.Rotate(false); err != nil {
		t.Fatal(err)
	}
	if set := publicSet(t, is); set.Len() != 1 {
		t.Errorf("after a hard rotation: %d keys published; want 1", set.Len())
	}
}

func TestNew(t *testing.T) {
	for _, opts := range []issuer.Options{{Audience: "a"}, {URL: "http://127.0.0.1/"}, {URL: "u", Audience: "a", Algorithm: jwa.HS256}} {
		if _, err := issuer.New(opts); err == nil {
			t.Errorf("New(%+v) = nil error", opts)
		}
	}
	if got := newIssuer(t, "").JWKSURL(); got != "http://127.0.0.1:8080/.well-known/jwks.json" {
		t.Errorf("JWKSURL = %q", got)
	}
}
