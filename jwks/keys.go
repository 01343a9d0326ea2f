package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// MinRSABits is the shortest RSA modulus accepted (RFC 7518 section 3.3).
const MinRSABits = 2048

// Key is a verification key of the set, converted from its JWK once, when
// the set is loaded: verifying a token hands the raw key to jws, so that
// nothing is converted per request. A Key is never modified after loading;
// callers must not modify it either.
type Key struct {
	ID string // "kid", never empty
	// Algorithm is the JWK's "alg" (always one of Options.Algorithms), or ""
	// when the JWK has none: then only Options.Algorithms and the key type
	// limit what it verifies.
	Algorithm jwa.SignatureAlgorithm
	// Public is the public key: *rsa.PublicKey (at least MinRSABits),
	// *ecdsa.PublicKey or ed25519.PublicKey. A private key that an issuer
	// leaked is reduced to its public half.
	Public crypto.PublicKey
	// Type is the JWK's "kty", for messages.
	Type jwa.KeyType

	usage string // the JWK's "use", "" or "sig" (kept for tests)
}

// Verifies reports whether k may verify a signature made with alg: alg is
// k's own "alg" when it has one, and fits k's type (Fits).
func (k *Key) Verifies(alg jwa.SignatureAlgorithm) bool {
	return (k.Algorithm == "" || k.Algorithm == alg) && Fits(k.Public, alg)
}

// parse reads a JWK Set and keeps the usable public keys, by kid. A set with
// no usable key is an error, so that a broken response never replaces good
// keys.
func (c *Cache) parse(body []byte) (map[string]*Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwks: not a JWK Set: %w", err)
	}
	keys := make(map[string]*Key, len(set.Keys))
	dups := map[string]bool{} // kids seen more than once, refused for good
	for i, raw := range set.Keys {
		key, err := c.usableKey(raw)
		if err != nil {
			c.opts.Logger.Warn("jwks: skipping key", "url", c.opts.URL, "index", i, "reason", err)
			continue
		}
		if _, dup := keys[key.ID]; dup || dups[key.ID] {
			// Two keys under one kid would make verification depend on order.
			// Remembering the kid keeps a third key from bringing it back.
			c.opts.Logger.Warn("jwks: skipping key", "url", c.opts.URL, "index", i, "reason", "duplicate kid "+key.ID)
			delete(keys, key.ID)
			dups[key.ID] = true
			continue
		}
		keys[key.ID] = key
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks: no usable key among %d", len(set.Keys))
	}
	c.keepIdentities(keys)
	return keys, nil
}

// keepIdentities replaces each key of a freshly parsed set that the
// current set holds unchanged (same kid, alg, kty, use and public key) by
// the current *Key, so that a *Key stays the same value for as long as
// the issuer publishes that key: holders of a *Key (the validator's
// caches) tell "still published" from "replaced under the same kid" by
// comparing pointers (Current(kid) == key).
func (c *Cache) keepIdentities(keys map[string]*Key) {
	cur := c.keys.Load()
	if cur == nil {
		return
	}
	for kid, k := range keys {
		old, ok := (*cur)[kid]
		if !ok || old.Algorithm != k.Algorithm || old.Type != k.Type || old.usage != k.usage {
			continue
		}
		if pub, ok := old.Public.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(k.Public) {
			keys[kid] = old
		}
	}
}

func (c *Cache) usableKey(raw json.RawMessage) (*Key, error) {
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("unparsable key: %w", err)
	}
	kid := key.KeyID()
	if kid == "" {
		return nil, errors.New("no kid")
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("kid %q: use %q", kid, use)
	}
	if ops := key.KeyOps(); len(ops) > 0 && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, fmt.Errorf("kid %q: key_ops %v lacks verify", kid, ops)
	}
	// A JWKS should hold public keys only; if it leaks a private one, use its
	// public half and never the secret.
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("kid %q: kty %q has no public key", kid, key.KeyType())
	}
	var public crypto.PublicKey
	if err := pub.Raw(&public); err != nil {
		return nil, fmt.Errorf("kid %q: unusable key material: %w", kid, err)
	}
	if err := checkStrength(public, key.KeyType()); err != nil {
		return nil, fmt.Errorf("kid %q: %w", kid, err)
	}
	k := &Key{ID: kid, Public: public, Type: key.KeyType(), usage: key.KeyUsage()}
	if alg := key.Algorithm().String(); alg != "" {
		k.Algorithm = jwa.SignatureAlgorithm(alg)
		if !slices.Contains(c.opts.Algorithms, k.Algorithm) {
			return nil, fmt.Errorf("kid %q: alg %q is not allowed", kid, alg)
		}
		if !Fits(public, k.Algorithm) {
			return nil, fmt.Errorf("kid %q: alg %q does not fit kty %q", kid, alg, key.KeyType())
		}
	} else if !slices.ContainsFunc(c.opts.Algorithms, func(a jwa.SignatureAlgorithm) bool { return Fits(public, a) }) {
		return nil, fmt.Errorf("kid %q: kty %q fits no allowed algorithm", kid, key.KeyType())
	}
	return k, nil
}

func checkStrength(public crypto.PublicKey, kty jwa.KeyType) error {
	switch k := public.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA modulus of %d bits is below %d", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("kty %q is not a signature key type", kty)
	}
	return nil
}

// Fits reports whether public, a raw public key, can verify signatures made
// with alg: RS* and PS* need *rsa.PublicKey, ESxxx an *ecdsa.PublicKey on
// its own curve, EdDSA an ed25519.PublicKey. Checking this before verifying
// is what stops algorithm confusion between key types.
func Fits(public crypto.PublicKey, alg jwa.SignatureAlgorithm) bool {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		_, ok := public.(*rsa.PublicKey)
		return ok
	case jwa.ES256:
		return curveIs(public, elliptic.P256())
	case jwa.ES384:
		return curveIs(public, elliptic.P384())
	case jwa.ES512:
		return curveIs(public, elliptic.P521())
	case jwa.EdDSA:
		_, ok := public.(ed25519.PublicKey)
		return ok
	}
	return false
}

func curveIs(public crypto.PublicKey, c elliptic.Curve) bool {
	k, ok := public.(*ecdsa.PublicKey)
	return ok && k.Curve == c
}
