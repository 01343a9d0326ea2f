// Package issuer is the signing side of an OAuth 2.0 authorization server,
// just enough of one for development: it generates signing keys, mints
// access tokens shaped like Auth0's, and publishes the public keys as a JSON
// Web Key Set (RFC 7517). Keys live in memory only and never leave the
// process; rotating keeps or drops the old ones.
//
// Development mode (package devmode) runs one inside the server. Tests use
// it through auth/authtest, which adds an httptest server, misbehaviour on
// demand and the helpers that forge tokens no issuer would mint; none of
// that is linked into the server.
package issuer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// JWKSPath is where an issuer publishes its key set, relative to its URL:
// Auth0's convention, and most OIDC providers'.
const JWKSPath = ".well-known/jwks.json"

// JWKSURL returns where the issuer identified by issuerURL publishes its
// key set by that convention: issuerURL, one slash, JWKSPath.
func JWKSURL(issuerURL string) string {
	return strings.TrimSuffix(issuerURL, "/") + "/" + JWKSPath
}

// Options configures New.
type Options struct {
	URL       string                 // required: the issuer identifier ("iss"), e.g. "https://tenant.auth0.com/"
	Audience  string                 // required: the "aud" of minted tokens
	Algorithm jwa.SignatureAlgorithm // signing algorithm; "" means RS256 (RS*, PS*, ES*, EdDSA work)
}

// Issuer signs tokens and publishes the matching public keys. It is safe
// for concurrent use.
type Issuer struct {
	url, audience string
	alg           jwa.SignatureAlgorithm

	mu   sync.Mutex
	keys []jwk.Key // private keys; keys[0] signs, all are published
}

// New returns an issuer with a fresh signing key.
func New(opts Options) (*Issuer, error) {
	if opts.URL == "" || opts.Audience == "" {
		return nil, errors.New("issuer: URL and Audience are required")
	}
	if opts.Algorithm == "" {
		opts.Algorithm = jwa.RS256
	}
	key, err := NewKey(opts.Algorithm)
	if err != nil {
		return nil, err
	}
	return &Issuer{url: opts.URL, audience: opts.Audience, alg: opts.Algorithm, keys: []jwk.Key{key}}, nil
}

// URL is the issuer identifier, the "iss" of minted tokens.
func (is *Issuer) URL() string { return is.url }

// Audience is the "aud" of minted tokens.
func (is *Issuer) Audience() string { return is.audience }

// JWKSURL is the URL of the issuer's key set.
func (is *Issuer) JWKSURL() string { return JWKSURL(is.url) }

// NewKey generates a private signing key for alg (RSA keys are 2048 bits)
// with a random kid and its "alg" and "use" set, for issuers and for tests
// that sign with a key no issuer published.
func NewKey(alg jwa.SignatureAlgorithm) (jwk.Key, error) {
	var raw any
	var err error
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case jwa.ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.ES384:
		raw, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jwa.ES512:
		raw, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jwa.EdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("issuer: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	kid := make([]byte, 12)
	_, _ = rand.Read(kid)
	for _, kv := range [][2]any{{jwk.KeyIDKey, fmt.Sprintf("%x", kid)}, {jwk.AlgorithmKey, alg}, {jwk.KeyUsageKey, jwk.ForSignature}} {
		if err := key.Set(kv[0].(string), kv[1]); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// SigningKey returns the private key that currently signs tokens.
func (is *Issuer) SigningKey() jwk.Key {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[0]
}

// Rotate makes a new key the signing key. With keepOld the previous keys stay
// published (a graceful rotation); without, only the new key is.
func (is *Issuer) Rotate(keepOld bool) (jwk.Key, error) {
	key, err := NewKey(is.alg)
	if err != nil {
		return nil, err
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if keepOld {
		is.keys = append([]jwk.Key{key}, is.keys...)
	} else {
		is.keys = []jwk.Key{key}
	}
	return key, nil
}

// PublicJWKS returns the JSON key set the issuer publishes: the public
// halves of its keys.
func (is *Issuer) PublicJWKS() ([]byte, error) {
	is.mu.Lock()
	keys := append([]jwk.Key(nil), is.keys...)
	is.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(pub); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}

// Claims returns the claims of an access token for subject, issued at now
// and valid for lifetime: "iss", "aud", "sub", "iat" and "exp" (NumericDate,
// RFC 7519 section 4.1), as a map to add scopes to.
func (is *Issuer) Claims(subject string, now time.Time, lifetime time.Duration) map[string]any {
	return map[string]any{
		"iss": is.url,
		"aud": is.audience,
		"sub": subject,
		"iat": now.Unix(),
		"exp": now.Add(lifetime).Unix(),
	}
}

// AccessToken mints a token for subject, valid from now for lifetime, whose
// space-separated "scope" claim grants scopes (none: an empty "scope"). Its
// protected header is the signing key's "alg" and "kid", and "typ" JWT.
func (is *Issuer) AccessToken(subject string, scopes []string, lifetime time.Duration) (string, error) {
	claims := is.Claims(subject, time.Now(), lifetime)
	claims["scope"] = strings.Join(scopes, " ")
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	key := is.SigningKey()
	// Given the jwk.Key itself, jws takes "kid" from the key.
	signed, err := jws.Sign(payload, jws.WithKey(is.alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("issuer: signing: %w", err)
	}
	return string(signed), nil
}
