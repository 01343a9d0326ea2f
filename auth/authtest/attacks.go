package authtest

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The attack catalogue: tokens built to get past a validator, each with
// the refusal a validator owes it. This project runs every row twice, once
// against its validator (auth) and once against the whole server over a
// socket (attack_test.go), so each case is written once; run it against
// yours.

// Attack is one token and what a validator must make of it. Reason is the
// code of Auth0's quickstarts a refusal carries ("invalid_token",
// "invalid_claims", "token_expired"), or "" for a control that must
// validate.
type Attack struct {
	Name   string
	Token  string
	Reason string
}

// Trap stands in for an attacker's host: it serves the attacker's public
// key as a JWKS at every path and counts the requests it gets, so that a
// validator that follows "jku" or "x5u" shows up.
type Trap struct {
	URL  string
	hits atomic.Int64
}

// NewTrap starts a Trap serving key's public half until the test ends.
func NewTrap(t TB, key jwk.Key) *Trap {
	t.Helper()
	tr := &Trap{}
	set := jwk.NewSet()
	if err := set.AddKey(Public(t, key)); err != nil {
		t.Fatalf("authtest: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tr.hits.Add(1)
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	tr.URL = srv.URL
	return tr
}

// Requests counts the requests the trap has received.
func (tr *Trap) Requests() int64 { return tr.hits.Load() }

// Attacks returns the attacks on is's tokens for a validator at now that
// allows RS256 only (the default) and caps tokens at no less than 8 KiB:
// stripped and re-serialized signatures, keys the token tries to choose
// (kid, jwk, jku, x5u, x5c; jku and x5u point at trap), header extensions
// and typ, claim types jwx would coerce, NumericDates at their edges
// (zero, negative, fractions, exponents, beyond int64 and float64),
// nesting and size, alg none, HMAC
// keyed with the public key, and non-canonical base64url. is must sign
// with RS256.
func (is *Issuer) Attacks(t TB, now time.Time, trap *Trap) []Attack {
	t.Helper()
	key := is.SigningKey()
	kid := key.KeyID()
	base := is.Claims(now)
	good := Forge(t, key, base, nil)
	parts := strings.Split(good, ".")
	hdr, payload, sig := parts[0], parts[1], parts[2]
	attacker := Key(t, jwa.RS256)
	payloadJSON, _ := json.Marshal(base)
	exp := fmt.Sprint(now.Add(time.Hour).Unix())
	dated := func(exp, extra string) []byte { // exp as JSON text
		return []byte(`{"iss":"` + is.URL + `","aud":"` + is.Audience + `","exp":` + exp + extra + `}`)
	}
	rawClaims := func(extra string) []byte { return dated(exp, extra) }
	claims := func(kv ...any) string { return Forge(t, key, WithClaims(base, kv...), nil) }
	headers := func(h map[string]any) string { return Forge(t, key, base, h) }
	byAttacker := func(h map[string]any) string { return Forge(t, attacker, base, h) }
	audiences := func(n int, last string) []string {
		aud := make([]string, 0, n+1)
		for i := range n {
			aud = append(aud, fmt.Sprintf("a%d", i))
		}
		if last != "" {
			aud = append(aud, last)
		}
		return aud
	}
	const invalidToken, invalidClaims, tokenExpired = "invalid_token", "invalid_claims", "token_expired"

	attacks := []Attack{
		{"control: a valid token", good, ""},

		// Signature stripping and serialization tricks.
		{"signature stripped", hdr + "." + payload + ".", invalidToken},
		{"signature stripped, no dot", hdr + "." + payload, invalidToken},
		{"JSON serialization", `{"payload":"` + payload + `","signatures":[{"protected":"` + hdr + `","signature":"` + sig + `"}]}`, invalidToken},
		{"flattened JSON serialization", `{"protected":"` + hdr + `","payload":"` + payload + `","signature":"` + sig + `"}`, invalidToken},
		{"extra segment", good + "." + sig, invalidToken},
		{"JWE-shaped (five segments)", good + ".AAAA.BBBB", invalidToken},
		{"standard base64 characters", hdr + "." + payload + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+/", invalidToken},
		{"padding", hdr + "." + payload + "." + sig + "==", invalidToken},
		{"padding on the payload", hdr + "." + payload + "=." + sig, invalidToken},
		{"percent-encoded", hdr + "." + payload + "." + url.QueryEscape(sig+"+"), invalidToken},
		{"unicode in the token", hdr + "." + payload + ".é" + sig, invalidToken},
		{"tampered payload", hdr + "." + b64.EncodeToString(rawClaims(`,"scope":"read:messages"`)) + "." + sig, invalidToken},
		{"tampered header", b64.EncodeToString([]byte(`{"alg":"RS256","kid":"`+kid+`","typ":"JWT","x":1}`)) + "." + payload + "." + sig, invalidToken},
		{"signature of another token", hdr + "." + payload + "." + strings.Split(claims("sub", "other"), ".")[2], invalidToken},

		// Key selection.
		{"signed by another key under the real kid", byAttacker(map[string]any{"kid": kid}), invalidToken},
		{"unknown kid", byAttacker(nil), invalidToken},
		{"empty kid", headers(map[string]any{"kid": ""}), invalidToken},
		{"no kid", headers(map[string]any{"kid": nil}), invalidToken},
		{"kid path traversal", byAttacker(map[string]any{"kid": "../../../../etc/passwd"}), invalidToken},
		{"kid path traversal to /dev/null", byAttacker(map[string]any{"kid": "../../../../../../dev/null"}), invalidToken},
		{"kid SQL injection", byAttacker(map[string]any{"kid": "' OR 1=1 --"}), invalidToken},
		{"kid command injection", byAttacker(map[string]any{"kid": "x|curl 127.0.0.1;$(id)"}), invalidToken},
		{"kid of 4000 bytes", byAttacker(map[string]any{"kid": strings.Repeat("k", 4000)}), invalidToken},
		{"unicode kid", byAttacker(map[string]any{"kid": "ключ\u202e\ufeff"}), invalidToken},
		{"attacker key embedded as jwk", byAttacker(map[string]any{"jwk": Public(t, attacker)}), invalidToken},
		{"attacker key as jwk under the real kid", byAttacker(map[string]any{"kid": kid, "jwk": Public(t, attacker)}), invalidToken},
		{"jku at the attacker", byAttacker(map[string]any{"jku": trap.URL + "/jwks.json"}), invalidToken},
		{"jku at the attacker under the real kid", byAttacker(map[string]any{"kid": kid, "jku": trap.URL + "/jwks.json"}), invalidToken},
		{"x5u at the attacker", byAttacker(map[string]any{"x5u": trap.URL + "/cert.pem"}), invalidToken},
		{"x5c with the attacker's certificate", byAttacker(map[string]any{"x5c": SelfSignedChain(t, attacker, now)}), invalidToken},
		{"x5c under the real kid", byAttacker(map[string]any{"kid": kid, "x5c": SelfSignedChain(t, attacker, now)}), invalidToken},
		{"ES256 by the attacker under the RSA kid (not an allowed alg)", Forge(t, Key(t, jwa.ES256), base, map[string]any{"kid": kid}), invalidToken},
		{"PS256 by the issuer's own key (not an allowed alg)", headers(map[string]any{"alg": "PS256"}), invalidToken},

		// Header extensions and typ.
		{"crit with an unknown name", headers(map[string]any{"crit": []string{"urn:x:policy"}, "urn:x:policy": "allow"}), invalidToken},
		{"crit naming a registered name", headers(map[string]any{"crit": []string{"exp"}, "exp": 1}), invalidToken},
		{"crit b64 false", SignHeader(t, key, `{"alg":"RS256","kid":"`+kid+`","b64":false,"crit":["b64"]}`, payload), invalidToken},
		{"b64 false without crit", SignHeader(t, key, `{"alg":"RS256","kid":"`+kid+`","b64":false}`, payload), invalidToken},
		{"control: hand-signed", SignHeader(t, key, `{"alg":"RS256","kid":"`+kid+`"}`, payload), ""},
		{"typ JWT", headers(map[string]any{"typ": "JWT"}), ""},
		{"typ jwt in lower case", headers(map[string]any{"typ": "jwt"}), ""},
		{"typ at+jwt", headers(map[string]any{"typ": "at+jwt"}), ""},
		{"typ application/at+jwt", headers(map[string]any{"typ": "application/at+jwt"}), ""},
		{"no typ", headers(map[string]any{"typ": nil}), ""},
		{"typ JWE", headers(map[string]any{"typ": "JWE"}), invalidToken},
		{"typ jose+json", headers(map[string]any{"typ": "jose+json"}), invalidToken},
		{"typ JOSE", headers(map[string]any{"typ": "JOSE"}), invalidToken},
		{"typ dpop+jwt", headers(map[string]any{"typ": "dpop+jwt"}), invalidToken},
		{"typ secevent+jwt", headers(map[string]any{"typ": "secevent+jwt"}), invalidToken},
		{"typ id_token+jwt", headers(map[string]any{"typ": "id_token+jwt"}), invalidToken},
		{"typ at+jwt with a parameter", headers(map[string]any{"typ": "at+jwt; x=1"}), invalidToken},

		// Claim types that jwx would coerce.
		{"exp as a string", claims("exp", "9999999999"), invalidClaims},
		{"exp as a float", claims("exp", float64(now.Add(time.Hour).Unix())+0.25), ""},
		{"exp as an object", claims("exp", map[string]any{"n": 9999999999}), invalidClaims},
		{"exp as a bool", claims("exp", true), invalidClaims},
		{"exp as an array", claims("exp", []int64{9999999999}), invalidClaims},
		{"exp null", Forge(t, key, rawClaims(`,"exp":null`), nil), invalidClaims},
		{"exp string hidden behind EXP", Forge(t, key, []byte(`{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":"9999999999","EXP":1}`), nil), invalidClaims},
		{"nbf as a string", claims("nbf", "0"), invalidClaims},
		{"iat as a string", claims("iat", "0"), invalidClaims},
		{"aud as a number", claims("aud", 1), invalidClaims},
		{"aud as an object", claims("aud", map[string]any{"0": is.Audience}), invalidClaims},
		{"aud array with a number", claims("aud", []any{is.Audience, 7}), invalidClaims},
		{"aud array with null", claims("aud", []any{nil, is.Audience}), invalidClaims},
		{"aud array nested", claims("aud", []any{[]string{is.Audience}}), invalidClaims},
		{"iss as an array", claims("iss", []string{is.URL}), invalidClaims},
		{"sub as a number", claims("sub", 42), invalidClaims},
		{"scope as an array (SCOPE_CLAIMS: a string or an array)", claims("scope", []string{"read:messages"}), ""},
		{"scope as a number", claims("scope", 1), invalidClaims},
		{"scope as an object", claims("scope", map[string]any{"read:messages": true}), invalidClaims},
		{"scope array with a number", claims("scope", []any{"read:messages", 1}), invalidClaims},
		{"scope null", Forge(t, key, rawClaims(`,"scope":null`), nil), invalidClaims},
		{"permissions as a space-separated string", claims("permissions", "read:messages write:messages"), ""},
		{"permissions with a number", claims("permissions", []any{"read:messages", 1}), invalidClaims},
		{"permissions with null", claims("permissions", []any{"read:messages", nil}), invalidClaims},
		{"permissions null", Forge(t, key, rawClaims(`,"permissions":null`), nil), invalidClaims},

		// NumericDates at their edges: each is a time or makes the token
		// invalid, never wraps, and is never read as absent. An expired
		// token is refused as a whole (401), not passed on for the
		// directives to deny field by field.
		{"exp 0", Forge(t, key, dated("0", ""), nil), tokenExpired},
		{"exp -0", Forge(t, key, dated("-0", ""), nil), tokenExpired},
		{"exp 1e9 (2001)", Forge(t, key, dated("1e9", ""), nil), tokenExpired},
		{"exp negative", Forge(t, key, dated("-1", ""), nil), invalidClaims},
		{"exp after year 9999", Forge(t, key, dated("253402300800", ""), nil), invalidClaims},
		{"exp 9223372036800000000", Forge(t, key, dated("9223372036800000000", ""), nil), invalidClaims},
		{"exp 1e400 (beyond float64)", Forge(t, key, dated("1e400", ""), nil), invalidClaims},
		{"exp with a leading zero (not JSON)", Forge(t, key, dated("0"+exp, ""), nil), invalidToken},
		{"exp NaN (not JSON)", Forge(t, key, dated("NaN", ""), nil), invalidToken},
		{"exp in exponent notation", Forge(t, key, dated(exp+"0e-1", ""), nil), ""},
		{"exp with a fraction", Forge(t, key, dated(exp+".5", ""), nil), ""},
		{"nbf 9223372036800000000 (overflows time.Time into the past)", Forge(t, key, dated(exp, `,"nbf":9223372036800000000`), nil), invalidClaims},
		{"iat 9223372036800000000", Forge(t, key, dated(exp, `,"iat":9223372036800000000`), nil), invalidClaims},
		{"nbf 1E+10 (2286)", Forge(t, key, dated(exp, `,"nbf":1E+10`), nil), invalidClaims},
		{"iat negative", Forge(t, key, dated(exp, `,"iat":-1`), nil), invalidClaims},
		{"nbf 0 and iat 0", Forge(t, key, dated(exp, `,"nbf":0,"iat":0`), nil), ""},

		// Size and nesting.
		{"deeply nested JSON in the payload, attacker-signed", Forge(t, attacker, rawClaims(`,"x":`+strings.Repeat("[", 2500)+strings.Repeat("]", 2500)), nil), invalidToken},
		{"deeply nested JSON in the payload, issuer-signed", Forge(t, key, rawClaims(`,"x":`+strings.Repeat("[", 2500)+strings.Repeat("]", 2500)), nil), ""},
		{"deeply nested JSON in the header", Assemble(`{"alg":"RS256","kid":"`+kid+`","x":`+strings.Repeat(`{"a":`, 800)+`1`+strings.Repeat("}", 800)+`}`, string(payloadJSON), []byte("sig")), invalidToken},
		{"unbalanced JSON in the header", Assemble(`{"alg":"RS256","kid":"`+kid+`","x":`+strings.Repeat("[", 3000), string(payloadJSON), []byte("sig")), invalidToken},
		{"400 audiences, ours not among them", claims("aud", audiences(400, "")), invalidClaims},
		{"400 audiences, ours last", claims("aud", audiences(400, is.Audience)), ""},
	}
	// alg none, every spelling, naming the real key, with an empty and a
	// non-empty signature, and with the real one.
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := `{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`
		attacks = append(attacks,
			Attack{"alg " + alg + ", empty signature", Assemble(h, string(payloadJSON), nil), invalidToken},
			Attack{"alg " + alg + ", non-empty signature", Assemble(h, string(payloadJSON), []byte("x")), invalidToken},
			Attack{"alg " + alg + " with the real signature", b64.EncodeToString([]byte(h)) + "." + payload + "." + sig, invalidToken},
		)
	}
	// HS256/384/512 keyed with the issuer's public key, in every form.
	for form, secret := range PublicKeyForms(t, key) {
		for _, alg := range []jwa.SignatureAlgorithm{jwa.HS256, jwa.HS384, jwa.HS512} {
			attacks = append(attacks, Attack{fmt.Sprintf("%s keyed with the public key (%s)", alg, form), HMACToken(t, alg, secret, kid, base), invalidToken})
		}
	}
	// The same token spelled with non-zero padding bits.
	for i, part := range parts {
		if alt, ok := Respell(part); ok {
			q := append([]string(nil), parts...)
			q[i] = alt
			attacks = append(attacks, Attack{fmt.Sprintf("non-canonical base64 in segment %d", i), strings.Join(q, "."), invalidToken})
		}
	}
	return attacks
}

// ConfusionAttacks returns the algorithm-confusion attacks on is's tokens
// for a validator at now that allows several algorithms (RS256, PS256,
// ES256, EdDSA): whatever it allows, a token's alg must fit the key its kid
// names, and that key's own "alg". Tokens signed by other key types under
// is's kid, PS256 with is's own RSA key (pinned to RS256 by its "alg"),
// HS256 keyed with is's public key and, for an EC issuer, "psychic"
// signatures (CVE-2022-21449: r = s = 0 verified anything in Java 15-18).
func (is *Issuer) ConfusionAttacks(t TB, now time.Time) []Attack {
	t.Helper()
	key := is.SigningKey()
	kid := key.KeyID()
	c := is.Claims(now)
	attacks := []Attack{{"control: " + key.Algorithm().String() + " from the issuer", Forge(t, key, c, nil), ""}}
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.PS256, jwa.ES256, jwa.ES384, jwa.EdDSA} {
		attacks = append(attacks, Attack{string(alg) + " by the attacker under the issuer's kid", Forge(t, Key(t, alg), c, map[string]any{"kid": kid}), "invalid_token"})
	}
	for form, secret := range PublicKeyForms(t, key) {
		attacks = append(attacks, Attack{"HS256 keyed with the issuer's public key (" + form + ")", HMACToken(t, jwa.HS256, secret, kid, c), "invalid_token"})
	}
	switch jwa.SignatureAlgorithm(key.Algorithm().String()) {
	case jwa.RS256:
		attacks = append(attacks, Attack{"PS256 signed by the issuer's RS256 key", Forge(t, key, c, map[string]any{"alg": "PS256"}), "invalid_token"})
	case jwa.ES256:
		p, _ := json.Marshal(c)
		h := `{"alg":"ES256","kid":"` + kid + `","typ":"JWT"}`
		n, _ := new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16) // the order of P-256
		order := n.FillBytes(make([]byte, 32))
		for name, sig := range map[string][]byte{
			"r=s=0":              make([]byte, 64),
			"r=s=0 DER":          {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00},
			"r=s=n":              append(append([]byte(nil), order...), order...),
			"r=0, s=1":           append(make([]byte, 32), big.NewInt(1).FillBytes(make([]byte, 32))...),
			"one byte":           {0},
			"r=s=0, 65 bytes":    make([]byte, 65),
			"r=s=0, 128 bytes":   make([]byte, 128),
			"all ones":           []byte(strings.Repeat("\xff", 64)),
			"r=s=0 as RS256 sig": make([]byte, 256),
		} {
			attacks = append(attacks, Attack{"psychic signature " + name, Assemble(h, string(p), sig), "invalid_token"})
		}
	}
	return attacks
}
