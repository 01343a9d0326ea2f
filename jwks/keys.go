package jwks

import (
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

// parse reads a JWK Set and keeps the usable public keys, by kid. A set with
// no usable key is an error, so that a broken response never replaces good
// keys.
func (c *Cache) parse(body []byte) (map[string]jwk.Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwks: not a JWK Set: %w", err)
	}
	keys := make(map[string]jwk.Key, len(set.Keys))
	dups := map[string]bool{} // kids seen more than once, refused for good
	for i, raw := range set.Keys {
		key, err := c.usableKey(raw)
		if err != nil {
			c.opts.Logger.Warn("jwks: skipping key", "url", c.opts.URL, "index", i, "reason", err)
			continue
		}
		if _, dup := keys[key.KeyID()]; dup || dups[key.KeyID()] {
			// Two keys under one kid would make verification depend on order.
			// Remembering the kid keeps a third key from bringing it back.
			c.opts.Logger.Warn("jwks: skipping key", "url", c.opts.URL, "index", i, "reason", "duplicate kid "+key.KeyID())
			delete(keys, key.KeyID())
			dups[key.KeyID()] = true
			continue
		}
		keys[key.KeyID()] = key
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks: no usable key among %d", len(set.Keys))
	}
	return keys, nil
}

func (c *Cache) usableKey(raw json.RawMessage) (jwk.Key, error) {
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("unparsable key: %w", err)
	}
	if key.KeyID() == "" {
		return nil, errors.New("no kid")
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("kid %q: use %q", key.KeyID(), use)
	}
	if ops := key.KeyOps(); len(ops) > 0 && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, fmt.Errorf("kid %q: key_ops %v lacks verify", key.KeyID(), ops)
	}
	// A JWKS should hold public keys only; if it leaks a private one, use its
	// public half and never the secret.
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("kid %q: kty %q has no public key", key.KeyID(), key.KeyType())
	}
	if err := checkStrength(pub); err != nil {
		return nil, fmt.Errorf("kid %q: %w", key.KeyID(), err)
	}
	if alg := key.Algorithm().String(); alg != "" {
		sa := jwa.SignatureAlgorithm(alg)
		if !slices.Contains(c.opts.Algorithms, sa) {
			return nil, fmt.Errorf("kid %q: alg %q is not allowed", key.KeyID(), alg)
		}
		if !Fits(pub, sa) {
			return nil, fmt.Errorf("kid %q: alg %q does not fit kty %q", key.KeyID(), alg, key.KeyType())
		}
	} else if !slices.ContainsFunc(c.opts.Algorithms, func(a jwa.SignatureAlgorithm) bool { return Fits(pub, a) }) {
		return nil, fmt.Errorf("kid %q: kty %q fits no allowed algorithm", key.KeyID(), key.KeyType())
	}
	return pub, nil
}

func checkStrength(key jwk.Key) error {
	var raw any
	if err := key.Raw(&raw); err != nil {
		return fmt.Errorf("unusable key material: %w", err)
	}
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA modulus of %d bits is below %d", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("kty %q is not a signature key type", key.KeyType())
	}
	return nil
}

// Fits reports whether key can verify signatures made with alg: RS* and PS*
// need RSA, ESxxx its own curve, EdDSA Ed25519. Checking this before
// verifying is what stops algorithm confusion between key types.
func Fits(key jwk.Key, alg jwa.SignatureAlgorithm) bool {
	var raw any
	if err := key.Raw(&raw); err != nil {
		return false
	}
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		_, ok := raw.(*rsa.PublicKey)
		return ok
	case jwa.ES256:
		return curveIs(raw, elliptic.P256())
	case jwa.ES384:
		return curveIs(raw, elliptic.P384())
	case jwa.ES512:
		return curveIs(raw, elliptic.P521())
	case jwa.EdDSA:
		_, ok := raw.(ed25519.PublicKey)
		return ok
	}
	return false
}

func curveIs(raw any, c elliptic.Curve) bool {
	k, ok := raw.(*ecdsa.PublicKey)
	return ok && k.Curve == c
}
