package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/cert"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// The helpers below build tokens no honest issuer would, for attack tests
// against a validator (this project's, or yours): forged headers, key
// confusion, hand-assembled segments. Each fails the test on error.

var b64 = base64.RawURLEncoding

// Claims returns the claims of a valid token from is at now, as a map to
// break with WithClaims.
func (is *Issuer) Claims(now time.Time) map[string]any {
	return is.iss.Claims(DefaultSubject, now, DefaultLifetime)
}

// WithClaims returns a copy of m with name/value pairs set; a nil value
// removes the claim.
func WithClaims(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// Forge signs claims with key. claims given as a string or []byte are the
// payload exactly (key order, duplicates, wrong types survive); anything
// else is marshalled. headers work as in Sign. Forge checks that the token
// says what the test says it says: every header given is there (removed
// ones are not), and a forged kid is the one asked for.
func Forge(t TB, key jwk.Key, claims any, headers map[string]any) string {
	t.Helper()
	tok, err := Sign(payloadBytes(t, claims), key, headers)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	var got map[string]any
	if b, err := b64.DecodeString(strings.Split(tok, ".")[0]); err != nil || json.Unmarshal(b, &got) != nil {
		t.Fatalf("authtest: cannot read back the header of %s", tok)
	}
	for name, want := range headers {
		v, ok := got[name]
		switch {
		case want == nil && ok:
			t.Fatalf("authtest: header %q = %v; the signer added it back", name, v)
		case want != nil && !ok:
			t.Fatalf("authtest: header %q missing after signing", name)
		case name == jws.KeyIDKey && v != want:
			t.Fatalf("authtest: header kid = %v after signing; want %v", v, want)
		}
	}
	return tok
}

func payloadBytes(t TB, claims any) []byte {
	t.Helper()
	switch c := claims.(type) {
	case []byte:
		return c
	case string:
		return []byte(c)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("authtest: claims: %v", err)
	}
	return b
}

// SignHeader signs a protected header exactly as given (a string or []byte
// of JSON; anything else is marshalled) followed by payloadSegment (already
// base64url), with key and the key's algorithm: a real signature over a
// header no library would write (crit, b64, duplicate names).
func SignHeader(t TB, key jwk.Key, header any, payloadSegment string) string {
	t.Helper()
	input := b64.EncodeToString(payloadBytes(t, header)) + "." + payloadSegment
	signer, err := jws.NewSigner(jwa.SignatureAlgorithm(key.Algorithm().String()))
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		t.Fatalf("authtest: %v", err)
	}
	sig, err := signer.Sign([]byte(input), raw)
	if err != nil {
		t.Fatalf("authtest: signing: %v", err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// Assemble builds header.payload.signature from JSON text and signature
// bytes, for tokens no signer would produce (alg none, stripped or psychic
// signatures).
func Assemble(header, payload string, sig []byte) string {
	return b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(sig)
}

// HMACToken is the classic key-confusion token: HS256/384/512 keyed with
// bytes anyone can fetch, such as the issuer's public key (PublicKeyForms).
func HMACToken(t TB, alg jwa.SignatureAlgorithm, secret []byte, kid string, claims any) string {
	t.Helper()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, kid)
	_ = hdr.Set(jws.TypeKey, "JWT")
	signed, err := jws.Sign(payloadBytes(t, claims), jws.WithKey(alg, secret, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatalf("authtest: signing: %v", err)
	}
	return string(signed)
}

// PublicKeyForms are the byte strings an attacker would try as an HMAC
// secret: key's public half as PEM, DER, the JWK JSON and, by key type, the
// RSA modulus and PKCS #1 PEM, or the EC point.
func PublicKeyForms(t TB, key jwk.Key) map[string][]byte {
	t.Helper()
	pub := Public(t, key)
	var raw any
	if err := pub.Raw(&raw); err != nil {
		t.Fatalf("authtest: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(raw)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	jwkJSON, err := json.Marshal(pub)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	forms := map[string][]byte{
		"PEM": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"DER": der,
		"JWK": jwkJSON,
	}
	switch k := raw.(type) {
	case *rsa.PublicKey:
		forms["n"] = k.N.Bytes()
		forms["PKCS1 PEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k)})
	case *ecdsa.PublicKey:
		point, err := k.Bytes()
		if err != nil {
			t.Fatalf("authtest: %v", err)
		}
		forms["point"] = point
	}
	return forms
}

// SelfSignedChain is an x5c header value for key: a certificate valid
// around now that no one trusts.
func SelfSignedChain(t TB, key jwk.Key, now time.Time) *cert.Chain {
	t.Helper()
	var priv any
	if err := key.Raw(&priv); err != nil {
		t.Fatalf("authtest: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.(crypto.Signer).Public(), priv)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	var chain cert.Chain
	if err := chain.AddString(base64.StdEncoding.EncodeToString(der)); err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return &chain
}

// Respell returns a base64url segment with its last character's unused bits
// set: the same bytes, spelled differently. It reports false when the
// segment has no unused bits (a length of 0 or 1 mod 4) or they are
// already set.
func Respell(part string) (string, bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var unused int
	switch len(part) % 4 {
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	default:
		return "", false
	}
	last := strings.IndexByte(alphabet, part[len(part)-1])
	return part[:len(part)-1] + string(alphabet[last|unused]), last|unused != last
}

// Key is NewKey for tests: it fails the test on error.
func Key(t TB, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	k, err := NewKey(alg)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return k
}

// Public returns key's public half.
func Public(t TB, key jwk.Key) jwk.Key {
	t.Helper()
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return pub
}
