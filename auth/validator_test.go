package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

// testNow is the validator's clock in these tests: years from the real
// time, so that a validator reading time.Now instead of Config.Now fails
// the expiry rows.
var testNow = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

var b64 = base64.RawURLEncoding

// runKeys runs a key cache for is until the test ends and waits for its
// first fetch.
func runKeys(t testing.TB, is *authtest.Issuer, algs ...jwa.SignatureAlgorithm) *jwks.Cache {
	t.Helper()
	keys, err := jwks.New(jwks.Options{URL: is.JWKSURL(), Algorithms: algs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		keys.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.Now().Add(5 * time.Second)
	for !keys.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("key cache for %s not ready", is.JWKSURL())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return keys
}

// newValidator returns a validator for is at testNow; algs nil means RS256.
func newValidator(t testing.TB, is *authtest.Issuer, algs ...jwa.SignatureAlgorithm) *auth.Validator {
	t.Helper()
	v, err := auth.NewValidator(auth.Config{
		Issuer:     is.URL,
		Audience:   is.Audience,
		Algorithms: algs,
		Now:        func() time.Time { return testNow },
	}, runKeys(t, is, algs...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantReason checks that err is the refusal with reason (and so matches
// ErrInvalidToken and ErrUnauthorized).
func wantReason(t *testing.T, err error, reason auth.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("Validate accepted the token; want %s", reason)
	}
	var e *auth.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T); want *auth.Error", err, err)
	}
	if e.Reason != reason {
		t.Errorf("Reason = %s; want %s (err: %v)", e.Reason, reason, err)
	}
	if !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("errors.Is(err, ErrInvalidToken) = false for %v", err)
	}
	if !errors.Is(err, auth.ErrUnauthorized) {
		t.Errorf("errors.Is(err, ErrUnauthorized) = false for %v", err)
	}
	// What a client would see never carries the cause.
	if d := auth.Describe(err); strings.Contains(d.Description, e.Error()) || (e.Err != nil && strings.Contains(d.Description, e.Err.Error())) {
		t.Errorf("client description %q leaks the cause", d.Description)
	}
}

func TestValidate(t *testing.T) {
	is := authtest.NewServer(t)
	v := newValidator(t, is)
	key := is.SigningKey()
	kid := key.KeyID()
	base := is.Claims(testNow)
	good := authtest.Forge(t, key, base, nil)
	attacker := authtest.Key(t, jwa.RS256)
	attackerEC := authtest.Key(t, jwa.ES256)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }

	// jku and x5u must never be fetched: this server counts attempts.
	var fetched sync.Map
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Store(r.URL.Path, true)
		set := jwk.NewSet()
		_ = set.AddKey(authtest.Public(t, attacker))
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(trap.Close)

	parts := strings.Split(good, ".")
	hdr, payload, sig := parts[0], parts[1], parts[2]

	type row struct {
		name   string
		token  string
		reason auth.Reason // "" means valid
	}
	rows := []row{
		// The baseline and what must stay valid.
		{"valid", good, ""},
		{"aud array containing the audience", authtest.Forge(t, key, authtest.WithClaims(base, "aud", []string{"https://other.example", is.Audience}), nil), ""},
		{"exp as a float", authtest.Forge(t, key, authtest.WithClaims(base, "exp", float64(at(time.Hour))+0.5), nil), ""},
		{"exp 59s ago (skew)", authtest.Forge(t, key, authtest.WithClaims(base, "exp", at(-59*time.Second)), nil), ""},
		{"nbf 59s ahead (skew)", authtest.Forge(t, key, authtest.WithClaims(base, "nbf", at(59*time.Second)), nil), ""},
		{"iat 59s ahead (skew)", authtest.Forge(t, key, authtest.WithClaims(base, "iat", at(59*time.Second)), nil), ""},
		{"no iat", authtest.Forge(t, key, authtest.WithClaims(base, "iat", nil), nil), ""},
		{"no sub", authtest.Forge(t, key, authtest.WithClaims(base, "sub", nil), nil), ""},
		{"typ at+jwt", authtest.Forge(t, key, base, map[string]any{"typ": "at+jwt"}), ""},
		{"typ application/at+jwt", authtest.Forge(t, key, base, map[string]any{"typ": "application/at+jwt"}), ""},
		{"typ jwt in lower case", authtest.Forge(t, key, base, map[string]any{"typ": "jwt"}), ""},
		{"no typ", authtest.Forge(t, key, base, map[string]any{"typ": nil}), ""},
		{"empty scope and permissions", authtest.Forge(t, key, authtest.WithClaims(base, "scope", "", "permissions", []string{}), nil), ""},
		{"deeply nested private claim", authtest.Forge(t, key, `{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":`+fmt.Sprint(at(time.Hour))+`,"x":`+strings.Repeat("[", 1500)+strings.Repeat("]", 1500)+`}`, nil), ""},

		// exp, nbf, iat.
		{"expired 61s ago", authtest.Forge(t, key, authtest.WithClaims(base, "exp", at(-61*time.Second)), nil), auth.ReasonTokenExpired},
		{"expired a year ago", authtest.Forge(t, key, authtest.WithClaims(base, "exp", at(-365*24*time.Hour)), nil), auth.ReasonTokenExpired},
		{"no exp", authtest.Forge(t, key, authtest.WithClaims(base, "exp", nil), nil), auth.ReasonInvalidClaims},
		{"nbf 61s ahead", authtest.Forge(t, key, authtest.WithClaims(base, "nbf", at(61*time.Second)), nil), auth.ReasonInvalidClaims},
		{"iat 61s ahead", authtest.Forge(t, key, authtest.WithClaims(base, "iat", at(61*time.Second)), nil), auth.ReasonInvalidClaims},

		// iss and aud.
		{"wrong iss", authtest.Forge(t, key, authtest.WithClaims(base, "iss", "https://evil.example/"), nil), auth.ReasonInvalidClaims},
		{"iss without its trailing slash", authtest.Forge(t, key, authtest.WithClaims(base, "iss", strings.TrimSuffix(is.URL, "/")), nil), auth.ReasonInvalidClaims},
		{"iss in upper case", authtest.Forge(t, key, authtest.WithClaims(base, "iss", strings.ToUpper(is.URL)), nil), auth.ReasonInvalidClaims},
		{"no iss", authtest.Forge(t, key, authtest.WithClaims(base, "iss", nil), nil), auth.ReasonInvalidClaims},
		{"wrong aud", authtest.Forge(t, key, authtest.WithClaims(base, "aud", "https://other.example"), nil), auth.ReasonInvalidClaims},
		{"aud with a suffix", authtest.Forge(t, key, authtest.WithClaims(base, "aud", is.Audience+"x"), nil), auth.ReasonInvalidClaims},
		{"no aud", authtest.Forge(t, key, authtest.WithClaims(base, "aud", nil), nil), auth.ReasonInvalidClaims},
		{"empty aud array", authtest.Forge(t, key, authtest.WithClaims(base, "aud", []string{}), nil), auth.ReasonInvalidClaims},

		// Claim types jwx would coerce.
		{"exp as a string", authtest.Forge(t, key, authtest.WithClaims(base, "exp", "9999999999"), nil), auth.ReasonInvalidClaims},
		{"exp as an object", authtest.Forge(t, key, authtest.WithClaims(base, "exp", map[string]any{"$date": 9999999999}), nil), auth.ReasonInvalidClaims},
		{"exp as a bool", authtest.Forge(t, key, authtest.WithClaims(base, "exp", true), nil), auth.ReasonInvalidClaims},
		{"exp as an array", authtest.Forge(t, key, authtest.WithClaims(base, "exp", []int64{9999999999}), nil), auth.ReasonInvalidClaims},
		{"exp null", authtest.Forge(t, key, `{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":null}`, nil), auth.ReasonInvalidClaims},
		{"nbf as a string", authtest.Forge(t, key, authtest.WithClaims(base, "nbf", "0"), nil), auth.ReasonInvalidClaims},
		{"iat as a string", authtest.Forge(t, key, authtest.WithClaims(base, "iat", "0"), nil), auth.ReasonInvalidClaims},
		{"aud as a number", authtest.Forge(t, key, authtest.WithClaims(base, "aud", 42), nil), auth.ReasonInvalidClaims},
		{"aud as an object", authtest.Forge(t, key, authtest.WithClaims(base, "aud", map[string]any{"aud": is.Audience}), nil), auth.ReasonInvalidClaims},
		{"aud array with a number", authtest.Forge(t, key, authtest.WithClaims(base, "aud", []any{is.Audience, 1}), nil), auth.ReasonInvalidClaims},
		{"aud array with null", authtest.Forge(t, key, authtest.WithClaims(base, "aud", []any{is.Audience, nil}), nil), auth.ReasonInvalidClaims},
		{"aud array nested", authtest.Forge(t, key, authtest.WithClaims(base, "aud", []any{[]string{is.Audience}}), nil), auth.ReasonInvalidClaims},
		{"iss as an array", authtest.Forge(t, key, authtest.WithClaims(base, "iss", []string{is.URL}), nil), auth.ReasonInvalidClaims},
		{"sub as a number", authtest.Forge(t, key, authtest.WithClaims(base, "sub", 12345), nil), auth.ReasonInvalidClaims},
		{"scope as an array", authtest.Forge(t, key, authtest.WithClaims(base, "scope", []string{"read:messages"}), nil), auth.ReasonInvalidClaims},
		{"scope as a number", authtest.Forge(t, key, authtest.WithClaims(base, "scope", 1), nil), auth.ReasonInvalidClaims},
		{"permissions as a string", authtest.Forge(t, key, authtest.WithClaims(base, "permissions", "read:messages"), nil), auth.ReasonInvalidClaims},
		{"permissions with a number", authtest.Forge(t, key, authtest.WithClaims(base, "permissions", []any{"read:messages", 1}), nil), auth.ReasonInvalidClaims},
		{"permissions with null", authtest.Forge(t, key, authtest.WithClaims(base, "permissions", []any{"read:messages", nil}), nil), auth.ReasonInvalidClaims},
		{"permissions null", authtest.Forge(t, key, `{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":`+fmt.Sprint(at(time.Hour))+`,"permissions":null}`, nil), auth.ReasonInvalidClaims},
		// Claim names are case-sensitive: "EXP" is some other claim and
		// must not hide the string "exp" from the type check.
		{"exp string hidden behind EXP", authtest.Forge(t, key, `{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":"9999999999","EXP":1}`, nil), auth.ReasonInvalidClaims},

		// Payloads that are not a claims object.
		{"payload is an array", authtest.Forge(t, key, `[]`, nil), auth.ReasonInvalidToken},
		{"payload is a string", authtest.Forge(t, key, `"hello"`, nil), auth.ReasonInvalidToken},
		{"payload is not JSON", authtest.Forge(t, key, `exp=9999999999`, nil), auth.ReasonInvalidToken},
		{"payload is null", authtest.Forge(t, key, `null`, nil), auth.ReasonInvalidClaims},

		// Signature and key.
		{"signed by another key under the real kid", authtest.Forge(t, attacker, base, map[string]any{"kid": kid}), auth.ReasonInvalidToken},
		{"unknown kid", authtest.Forge(t, attacker, base, nil), auth.ReasonInvalidToken},
		{"empty kid", authtest.SignHeader(t, key, map[string]any{"alg": "RS256", "typ": "JWT", "kid": ""}, payload), auth.ReasonInvalidToken},
		{"no kid", authtest.SignHeader(t, key, map[string]any{"alg": "RS256", "typ": "JWT"}, payload), auth.ReasonInvalidToken},
		{"control: hand-signed with the real kid", authtest.SignHeader(t, key, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}, payload), ""},
		{"kid path traversal", authtest.Forge(t, attacker, base, map[string]any{"kid": "../../../../etc/passwd"}), auth.ReasonInvalidToken},
		{"kid SQL injection", authtest.Forge(t, attacker, base, map[string]any{"kid": "' OR 1=1 --"}), auth.ReasonInvalidToken},
		{"kid of 3000 bytes", authtest.Forge(t, attacker, base, map[string]any{"kid": strings.Repeat("k", 3000)}), auth.ReasonInvalidToken},
		{"tampered payload", hdr + "." + b64.EncodeToString([]byte(`{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":9999999999,"scope":"admin"}`)) + "." + sig, auth.ReasonInvalidToken},
		{"tampered header", b64.EncodeToString([]byte(`{"alg":"RS256","kid":"`+kid+`","typ":"JWT","x":1}`)) + "." + payload + "." + sig, auth.ReasonInvalidToken},
		{"signature of another token", hdr + "." + payload + "." + strings.Split(authtest.Forge(t, key, authtest.WithClaims(base, "sub", "other"), nil), ".")[2], auth.ReasonInvalidToken},
		{"attacker key embedded as jwk", authtest.Forge(t, attacker, base, map[string]any{"jwk": authtest.Public(t, attacker)}), auth.ReasonInvalidToken},
		{"attacker key embedded as jwk under the real kid", authtest.Forge(t, attacker, base, map[string]any{"kid": kid, "jwk": authtest.Public(t, attacker)}), auth.ReasonInvalidToken},
		{"jku pointing at the attacker", authtest.Forge(t, attacker, base, map[string]any{"jku": trap.URL + "/jku"}), auth.ReasonInvalidToken},
		{"x5u pointing at the attacker", authtest.Forge(t, attacker, base, map[string]any{"x5u": trap.URL + "/x5u"}), auth.ReasonInvalidToken},
		{"x5c with the attacker's certificate", authtest.Forge(t, attacker, base, map[string]any{"x5c": authtest.SelfSignedChain(t, attacker, testNow)}), auth.ReasonInvalidToken},
		{"x5c under the real kid", authtest.Forge(t, attacker, base, map[string]any{"kid": kid, "x5c": authtest.SelfSignedChain(t, attacker, testNow)}), auth.ReasonInvalidToken},
		{"ES256 by the attacker under the RSA kid", authtest.Forge(t, attackerEC, base, map[string]any{"kid": kid}), auth.ReasonInvalidToken},

		// Header extensions and typ.
		{"crit with an unknown name", authtest.Forge(t, key, base, map[string]any{"crit": []string{"exp"}, "exp": 1}), auth.ReasonInvalidToken},
		{"crit b64 false", authtest.SignHeader(t, key, map[string]any{"alg": "RS256", "kid": kid, "b64": false, "crit": []string{"b64"}}, payload), auth.ReasonInvalidToken},
		{"b64 false without crit", authtest.SignHeader(t, key, map[string]any{"alg": "RS256", "kid": kid, "b64": false}, payload), auth.ReasonInvalidToken},
		{"typ JWE", authtest.Forge(t, key, base, map[string]any{"typ": "JWE"}), auth.ReasonInvalidToken},
		{"typ jose+json", authtest.Forge(t, key, base, map[string]any{"typ": "jose+json"}), auth.ReasonInvalidToken},
		{"typ JOSE", authtest.Forge(t, key, base, map[string]any{"typ": "JOSE"}), auth.ReasonInvalidToken},
		{"typ id_token", authtest.Forge(t, key, base, map[string]any{"typ": "id_token+jwt"}), auth.ReasonInvalidToken},
		{"typ at+jwt with a parameter", authtest.Forge(t, key, base, map[string]any{"typ": "at+jwt; x=1"}), auth.ReasonInvalidToken},

		// Shape, before any JSON is read.
		{"empty", "", auth.ReasonInvalidToken},
		{"not a JWT", "not-a-jwt", auth.ReasonInvalidToken},
		{"two parts", hdr + "." + payload, auth.ReasonInvalidToken},
		{"signature stripped", hdr + "." + payload + ".", auth.ReasonInvalidToken},
		{"four parts", good + ".x", auth.ReasonInvalidToken},
		{"five parts (JWE shape)", good + ".x.y", auth.ReasonInvalidToken},
		{"empty header", "." + payload + "." + sig, auth.ReasonInvalidToken},
		{"empty payload", hdr + ".." + sig, auth.ReasonInvalidToken},
		{"padding", hdr + "." + payload + "." + sig + "==", auth.ReasonInvalidToken},
		{"standard base64 alphabet", hdr + "." + payload + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+/", auth.ReasonInvalidToken},
		{"space inside", hdr + "." + payload + ". " + sig, auth.ReasonInvalidToken},
		{"newline inside", hdr + "." + payload + ".\n" + sig, auth.ReasonInvalidToken},
		{"NUL inside", hdr + "\x00." + payload + "." + sig, auth.ReasonInvalidToken},
		{"unicode inside", hdr + "." + payload + ".é" + sig, auth.ReasonInvalidToken},
		{"JSON serialization", jsonSerialization(t, good), auth.ReasonInvalidToken},
		{"flattened JSON serialization", `{"protected":"` + hdr + `","payload":"` + payload + `","signature":"` + sig + `"}`, auth.ReasonInvalidToken},
		{"over MaxCredentialsBytes", authtest.Forge(t, key, authtest.WithClaims(base, "pad", strings.Repeat("p", auth.DefaultMaxCredentialsBytes)), nil), auth.ReasonInvalidToken},
	}

	// alg none, every spelling, with and without a signature.
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := `{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`
		p, _ := json.Marshal(base)
		rows = append(rows,
			row{"alg " + alg + " without signature", authtest.Assemble(h, string(p), nil), auth.ReasonInvalidToken},
			row{"alg " + alg + " with a signature", authtest.Assemble(h, string(p), []byte("signature")), auth.ReasonInvalidToken},
			row{"alg " + alg + " with the real signature", b64.EncodeToString([]byte(h)) + "." + payload + "." + sig, auth.ReasonInvalidToken},
		)
	}
	// HMAC keyed with the public key, every form of it.
	for form, secret := range authtest.PublicKeyForms(t, key) {
		for _, alg := range []jwa.SignatureAlgorithm{jwa.HS256, jwa.HS384, jwa.HS512} {
			rows = append(rows, row{fmt.Sprintf("%s keyed with the public key as %s", alg, form), authtest.HMACToken(t, alg, secret, kid, base), auth.ReasonInvalidToken})
		}
	}
	// A real token whose last character in any part carries non-zero
	// padding bits decodes to the same bytes; it must not validate.
	for i, part := range parts {
		if alt, ok := authtest.Respell(part); ok {
			q := append([]string(nil), parts...)
			q[i] = alt
			rows = append(rows, row{fmt.Sprintf("non-canonical base64 in part %d", i), strings.Join(q, "."), auth.ReasonInvalidToken})
		}
	}

	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(context.Background(), tt.token)
			if tt.reason == "" {
				if err != nil || c == nil {
					t.Fatalf("Validate = %v, %v; want claims", c, err)
				}
				return
			}
			if c != nil {
				t.Errorf("claims %+v returned with an error", c)
			}
			wantReason(t, err, tt.reason)
		})
	}

	fetched.Range(func(path, _ any) bool {
		t.Errorf("the validator fetched the attacker's %s", path)
		return true
	})
}

func jsonSerialization(t testing.TB, compact string) string {
	t.Helper()
	msg, err := jws.Parse([]byte(compact))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNonCanonicalBase64 builds tokens until every part has spare bits, so
// that the row above is not skipped by chance of length.
func TestNonCanonicalBase64(t *testing.T) {
	is := authtest.NewServer(t)
	v := newValidator(t, is)
	covered := map[int]bool{}
	for sub := 0; len(covered) < 3 && sub < 64; sub++ {
		tok := authtest.Forge(t, is.SigningKey(), authtest.WithClaims(is.Claims(testNow), "sub", strings.Repeat("s", sub)), map[string]any{"x": strings.Repeat("h", sub%3)})
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatalf("canonical token: %v", err)
		}
		parts := strings.Split(tok, ".")
		for i, part := range parts {
			alt, ok := authtest.Respell(part)
			if !ok {
				continue
			}
			covered[i] = true
			q := append([]string(nil), parts...)
			q[i] = alt
			if _, err := v.Validate(context.Background(), strings.Join(q, ".")); err == nil {
				t.Fatalf("part %d spelled %q instead of %q validated", i, alt[len(alt)-1:], part[len(part)-1:])
			}
		}
	}
	if len(covered) < 3 {
		t.Fatalf("only parts %v ever had spare bits", covered)
	}
}

func TestValidateClaims(t *testing.T) {
	is := authtest.NewServer(t)
	v := newValidator(t, is)
	key := is.SigningKey()
	exp := testNow.Add(time.Hour).Unix()
	for _, tt := range []struct {
		name    string
		payload string
		want    *auth.Claims
	}{
		{"scope and permissions merged", fmt.Sprintf(`{"iss":%q,"aud":[%q,"https://x"],"sub":"u1","exp":%d,"iat":%d,"scope":"openid  read:messages openid","permissions":["write:messages","read:messages"]}`, is.URL, is.Audience, exp, testNow.Unix()),
			&auth.Claims{Subject: "u1", Issuer: is.URL, Audience: []string{is.Audience, "https://x"}, ExpiresAt: time.Unix(exp, 0), IssuedAt: testNow,
				Scopes: []string{"openid", "read:messages", "write:messages"}}},
		// Claim names are case-sensitive: a later "SCOPE" or "Permissions"
		// is some other claim and grants nothing (encoding/json would fold
		// them onto "scope" and "permissions").
		{"SCOPE is not scope", fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"u2","exp":%d,"scope":"read","SCOPE":"read:messages","Permissions":["read:messages"],"ſcope":"admin"}`, is.URL, is.Audience, exp),
			&auth.Claims{Subject: "u2", Issuer: is.URL, Audience: []string{is.Audience}, ExpiresAt: time.Unix(exp, 0), Scopes: []string{"read"}}},
		{"duplicate scope: the last one counts, as in jwx", fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"u3","exp":%d,"scope":"read:messages","scope":"read"}`, is.URL, is.Audience, exp),
			&auth.Claims{Subject: "u3", Issuer: is.URL, Audience: []string{is.Audience}, ExpiresAt: time.Unix(exp, 0), Scopes: []string{"read"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(context.Background(), authtest.Forge(t, key, tt.payload, nil))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c, cmpClaims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpClaims compares times as instants and ignores fields derived from the
// others (ValidUntil, when present, is ExpiresAt plus the skew).
var cmpClaims = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ValidUntil" }, cmp.Ignore()),
}

// TestAlgorithmConfusion: with several algorithms allowed, a token's alg
// must fit the key its kid names, and the key's own "alg" when it has one.
func TestAlgorithmConfusion(t *testing.T) {
	multi := []jwa.SignatureAlgorithm{jwa.RS256, jwa.PS256, jwa.ES256, jwa.EdDSA}
	rsaIs := authtest.NewServer(t)
	ecIs := authtest.NewServer(t, authtest.IssuerOptions{Algorithm: jwa.ES256})
	// An issuer that publishes its RSA key without "alg": only the key type
	// stands between an ES256 token and that key.
	bareIs := authtest.NewServer(t)
	bare, err := json.Marshal(map[string]any{"keys": []json.RawMessage{withoutAlg(t, bareIs.SigningKey())}})
	if err != nil {
		t.Fatal(err)
	}
	bareIs.SetBody(bare)

	rsaV := newValidator(t, rsaIs, multi...)
	ecV := newValidator(t, ecIs, multi...)
	bareV := newValidator(t, bareIs, multi...)
	bareRS256 := newValidator(t, bareIs) // the default: RS256 only

	attRSA, attEC, attEd := authtest.Key(t, jwa.RS256), authtest.Key(t, jwa.ES256), authtest.Key(t, jwa.EdDSA)
	rsaKid, ecKid, bareKid := rsaIs.SigningKey().KeyID(), ecIs.SigningKey().KeyID(), bareIs.SigningKey().KeyID()

	type row struct {
		name  string
		v     *auth.Validator
		token string
		ok    bool
	}
	rows := []row{
		{"control: RS256 from the RSA issuer", rsaV, authtest.Forge(t, rsaIs.SigningKey(), rsaIs.Claims(testNow), nil), true},
		{"control: ES256 from the EC issuer", ecV, authtest.Forge(t, ecIs.SigningKey(), ecIs.Claims(testNow), nil), true},
		{"control: RS256 under a key without alg", bareV, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), nil), true},
		// PS256 with the issuer's own key verifies, but the JWKS pins that
		// key to RS256.
		{"PS256 signed by the issuer's RS256 key", rsaV, authtest.Forge(t, rsaIs.SigningKey(), rsaIs.Claims(testNow), map[string]any{"alg": "PS256"}), false},
		{"PS256 by the attacker under the RSA kid", rsaV, authtest.Forge(t, attRSA, rsaIs.Claims(testNow), map[string]any{"alg": "PS256", "kid": rsaKid}), false},
		{"ES256 by the attacker under the RSA kid", rsaV, authtest.Forge(t, attEC, rsaIs.Claims(testNow), map[string]any{"kid": rsaKid}), false},
		{"EdDSA by the attacker under the RSA kid", rsaV, authtest.Forge(t, attEd, rsaIs.Claims(testNow), map[string]any{"kid": rsaKid}), false},
		// The key says nothing about its algorithm, so only the configured
		// list stands between the issuer's own key and an algorithm the
		// operator did not allow.
		{"control: RS256 under a key without alg, RS256 only", bareRS256, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), nil), true},
		{"PS256 by the issuer's key without alg, RS256 only", bareRS256, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), map[string]any{"alg": "PS256"}), false},
		{"RS512 by the issuer's key without alg, RS256 only", bareRS256, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), map[string]any{"alg": "RS512"}), false},
		{"control: PS256 by the issuer's key without alg, PS256 allowed", bareV, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), map[string]any{"alg": "PS256"}), true},
		{"ES256 by the attacker under an RSA kid without alg", bareV, authtest.Forge(t, attEC, bareIs.Claims(testNow), map[string]any{"kid": bareKid}), false},
		{"EdDSA by the attacker under an RSA kid without alg", bareV, authtest.Forge(t, attEd, bareIs.Claims(testNow), map[string]any{"kid": bareKid}), false},
		{"RS256 by the attacker under the EC kid", ecV, authtest.Forge(t, attRSA, ecIs.Claims(testNow), map[string]any{"kid": ecKid}), false},
		{"ES256 by the attacker under the EC kid", ecV, authtest.Forge(t, attEC, ecIs.Claims(testNow), map[string]any{"kid": ecKid}), false},
		{"ES384 (not allowed) under the EC kid", ecV, authtest.Forge(t, authtest.Key(t, jwa.ES384), ecIs.Claims(testNow), map[string]any{"kid": ecKid}), false},
	}
	// CVE-2022-21449, "psychic signatures": r = s = 0 must never verify.
	ecPayload, _ := json.Marshal(ecIs.Claims(testNow))
	ecHeader := `{"alg":"ES256","kid":"` + ecKid + `","typ":"JWT"}`
	order := elliptic256Order()
	for name, sig := range map[string][]byte{
		"r=s=0":              make([]byte, 64),
		"r=s=0 DER":          {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00},
		"r=s=n":              append(pad32(order), pad32(order)...),
		"r=0, s=1":           append(make([]byte, 32), pad32(big.NewInt(1))...),
		"one byte":           {0},
		"r=s=0, 65 bytes":    make([]byte, 65),
		"r=s=0, 128 bytes":   make([]byte, 128),
		"all ones":           []byte(strings.Repeat("\xff", 64)),
		"r=s=0 as RS256 sig": make([]byte, 256),
	} {
		rows = append(rows, row{"psychic signature " + name, ecV, authtest.Assemble(ecHeader, string(ecPayload), sig), false})
	}
	for form, secret := range authtest.PublicKeyForms(t, ecIs.SigningKey()) {
		rows = append(rows, row{"HS256 keyed with the EC public key as " + form, ecV, authtest.HMACToken(t, jwa.HS256, secret, ecKid, ecIs.Claims(testNow)), false})
	}

	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.v.Validate(context.Background(), tt.token)
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantReason(t, err, auth.ReasonInvalidToken)
		})
	}
}

func withoutAlg(t testing.TB, key jwk.Key) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(authtest.Public(t, key))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "alg")
	b, _ = json.Marshal(m)
	return b
}

func elliptic256Order() *big.Int {
	n, _ := new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
	return n
}

func pad32(n *big.Int) []byte {
	b := make([]byte, 32)
	return n.FillBytes(b)
}

// TestKeylessTokensCostNoFetch: a token without a usable kid is refused
// before the key cache is asked, so it cannot make the cache refetch.
func TestKeylessTokensCostNoFetch(t *testing.T) {
	is := authtest.NewServer(t)
	v := newValidator(t, is)
	payload := strings.Split(authtest.Forge(t, is.SigningKey(), is.Claims(testNow), nil), ".")[1]
	before := is.JWKSRequests()
	for _, tok := range []string{
		authtest.SignHeader(t, is.SigningKey(), map[string]any{"alg": "RS256", "typ": "JWT"}, payload),
		authtest.SignHeader(t, is.SigningKey(), map[string]any{"alg": "RS256", "typ": "JWT", "kid": ""}, payload),
		authtest.SignHeader(t, is.SigningKey(), map[string]any{"alg": "HS256", "kid": "unknown"}, payload),
		authtest.SignHeader(t, is.SigningKey(), map[string]any{"alg": "RS256", "kid": "unknown", "crit": []string{"x"}}, payload),
	} {
		_, err := v.Validate(context.Background(), tok)
		wantReason(t, err, auth.ReasonInvalidToken)
	}
	if n := is.JWKSRequests() - before; n != 0 {
		t.Errorf("tokens refused on their header alone cost %d JWKS requests; want 0", n)
	}
	// Whereas an unknown kid does ask (once), so that rotation is seen.
	_, err := v.Validate(context.Background(), authtest.Forge(t, authtest.Key(t, jwa.RS256), is.Claims(testNow), nil))
	wantReason(t, err, auth.ReasonInvalidToken)
	if n := is.JWKSRequests() - before; n != 1 {
		t.Errorf("an unknown kid cost %d JWKS requests; want 1", n)
	}
}

// TestNotReady: while no key has been loaded, every token (good or bad) is
// "try again later", which is not an invalid token.
func TestNotReady(t *testing.T) {
	is := authtest.NewServer(t)
	is.SetDown(true)
	keys, err := jwks.New(jwks.Options{URL: is.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); keys.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience}, keys)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ready() {
		t.Fatal("Ready with the issuer down")
	}
	for _, tok := range []string{is.Token(t), "garbage"} {
		_, err := v.Validate(context.Background(), tok)
		var e *auth.Error
		if !errors.As(err, &e) || e.Reason != auth.ReasonUnavailable {
			t.Fatalf("Validate(%.20s…) err = %v; want %s", tok, err, auth.ReasonUnavailable)
		}
		if errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("an unavailable key set reads as an invalid token")
		}
		if e.RetryAfter < time.Second {
			t.Errorf("RetryAfter = %s; want at least 1s", e.RetryAfter)
		}
		if got := auth.Describe(err).Status; got != http.StatusServiceUnavailable {
			t.Errorf("status = %d; want 503", got)
		}
	}
}

// TestConcurrentValidation: 50 requests at once cost no JWKS request when
// the key is known, and one when it is new (a rotation), and all succeed.
func TestConcurrentValidation(t *testing.T) {
	is := authtest.NewServer(t)
	v := newValidator(t, is)
	validateAll := func(tok string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for range 50 {
			wg.Go(func() {
				_, err := v.Validate(context.Background(), tok)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Validate: %v", err)
			}
		}
	}
	start := is.JWKSRequests()
	validateAll(authtest.Forge(t, is.SigningKey(), is.Claims(testNow), nil))
	if n := is.JWKSRequests() - start; n != 0 {
		t.Errorf("50 validations of a known key cost %d JWKS requests; want 0", n)
	}
	next, err := is.Rotate(true)
	if err != nil {
		t.Fatal(err)
	}
	is.SetDelay(50 * time.Millisecond)
	validateAll(authtest.Forge(t, next, is.Claims(testNow), nil))
	if n := is.JWKSRequests() - start; n != 1 {
		t.Errorf("50 validations after a rotation cost %d JWKS requests; want 1", n)
	}
}

func TestNewValidatorRefuses(t *testing.T) {
	is := authtest.NewServer(t)
	keys, err := jwks.New(jwks.Options{URL: is.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	good := auth.Config{Issuer: is.URL, Audience: is.Audience}
	for _, tt := range []struct {
		name string
		cfg  auth.Config
		keys *jwks.Cache
	}{
		{"no issuer", auth.Config{Audience: "a"}, keys},
		{"no audience", auth.Config{Issuer: "i"}, keys},
		{"no key cache", good, nil},
		{"HS256", auth.Config{Issuer: "i", Audience: "a", Algorithms: []jwa.SignatureAlgorithm{jwa.RS256, jwa.HS256}}, keys},
		{"none", auth.Config{Issuer: "i", Audience: "a", Algorithms: []jwa.SignatureAlgorithm{jwa.NoSignature}}, keys},
		{"skew above 60s", auth.Config{Issuer: "i", Audience: "a", ClockSkew: 61 * time.Second}, keys},
		{"negative skew", auth.Config{Issuer: "i", Audience: "a", ClockSkew: -time.Second}, keys},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := auth.NewValidator(tt.cfg, tt.keys); err == nil {
				t.Errorf("NewValidator(%+v) = %v, nil; want an error", tt.cfg, v)
			}
		})
	}
	if _, err := auth.NewValidator(good, keys); err != nil {
		t.Errorf("NewValidator(good): %v", err)
	}
}

func TestHasScope(t *testing.T) {
	c := &auth.Claims{Scopes: []string{"openid", "read:messages", "write:messages_all"}}
	for _, tt := range []struct {
		scope string
		want  bool
	}{
		{"read:messages", true},
		{"openid", true},
		{"write:messages_all", true},
		{"write:messages", false}, // substring of a granted scope
		{"read:messages_all", false},
		{"read:messages ", false},
		{" read:messages", false},
		{"read", false},
		{"messages", false},
		{"read:", false},
		{"READ:MESSAGES", false},
		{"read:messages openid", false},
		{"", false},
		{"*", false},
	} {
		if got := c.HasScope(tt.scope); got != tt.want {
			t.Errorf("HasScope(%q) = %v; want %v", tt.scope, got, tt.want)
		}
	}
	var none *auth.Claims
	if none.HasScope("read:messages") {
		t.Error("nil claims grant a scope")
	}
	if (&auth.Claims{Scopes: []string{""}}).HasScope("") {
		t.Error(`HasScope("") = true`)
	}
}
