package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
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

// TestValidate: the validator rule by rule, at testNow, then the attack
// catalogue (authtest.Attacks), which attack_test.go also runs against the
// whole server; each row without the token and failure caches, then
// three times with them, so that no answer changes when it comes from a
// cache.
func TestValidate(t *testing.T) {
	is := authtest.NewServer(t)
	v := newValidator(t, is)
	key := is.SigningKey()
	base := is.Claims(testNow)
	good := authtest.Forge(t, key, base, nil)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	claims := func(kv ...any) string { return authtest.Forge(t, key, authtest.WithClaims(base, kv...), nil) }
	trap := authtest.NewTrap(t, authtest.Key(t, jwa.RS256))

	parts := strings.Split(good, ".")
	hdr, payload, sig := parts[0], parts[1], parts[2]

	rows := []validateRow{
		// The baseline and what must stay valid.
		{"valid", good, ""},
		{"aud array containing the audience", claims("aud", []string{"https://other.example", is.Audience}), ""},
		{"exp 59s ago (skew)", claims("exp", at(-59*time.Second)), ""},
		{"nbf 59s ahead (skew)", claims("nbf", at(59*time.Second)), ""},
		{"iat 59s ahead (skew)", claims("iat", at(59*time.Second)), ""},
		{"no iat", claims("iat", nil), ""},
		{"no sub", claims("sub", nil), ""},
		{"empty scope and permissions", claims("scope", "", "permissions", []string{}), ""},

		// exp, nbf, iat.
		{"expired 61s ago", claims("exp", at(-61*time.Second)), auth.ReasonTokenExpired},
		{"expired a year ago", claims("exp", at(-365*24*time.Hour)), auth.ReasonTokenExpired},
		{"no exp", claims("exp", nil), auth.ReasonInvalidClaims},
		{"nbf 61s ahead", claims("nbf", at(61*time.Second)), auth.ReasonInvalidClaims},
		{"iat 61s ahead", claims("iat", at(61*time.Second)), auth.ReasonInvalidClaims},

		// iss and aud.
		{"wrong iss", claims("iss", "https://evil.example/"), auth.ReasonInvalidClaims},
		{"iss without its trailing slash", claims("iss", strings.TrimSuffix(is.URL, "/")), auth.ReasonInvalidClaims},
		{"iss in upper case", claims("iss", strings.ToUpper(is.URL)), auth.ReasonInvalidClaims},
		{"no iss", claims("iss", nil), auth.ReasonInvalidClaims},
		{"wrong aud", claims("aud", "https://other.example"), auth.ReasonInvalidClaims},
		{"aud with a suffix", claims("aud", is.Audience+"x"), auth.ReasonInvalidClaims},
		{"no aud", claims("aud", nil), auth.ReasonInvalidClaims},
		{"empty aud array", claims("aud", []string{}), auth.ReasonInvalidClaims},

		// Payloads that are not a claims object.
		{"payload is an array", authtest.Forge(t, key, `[]`, nil), auth.ReasonInvalidToken},
		{"payload is a string", authtest.Forge(t, key, `"hello"`, nil), auth.ReasonInvalidToken},
		{"payload is not JSON", authtest.Forge(t, key, `exp=9999999999`, nil), auth.ReasonInvalidToken},
		{"payload is null", authtest.Forge(t, key, `null`, nil), auth.ReasonInvalidClaims},

		// Shape, before any JSON is read (what an Authorization header
		// could not carry, or would carry as a malformed header).
		{"empty", "", auth.ReasonInvalidToken},
		{"not a JWT", "not-a-jwt", auth.ReasonInvalidToken},
		{"empty header", "." + payload + "." + sig, auth.ReasonInvalidToken},
		{"empty payload", hdr + ".." + sig, auth.ReasonInvalidToken},
		{"space inside", hdr + "." + payload + ". " + sig, auth.ReasonInvalidToken},
		{"newline inside", hdr + "." + payload + ".\n" + sig, auth.ReasonInvalidToken},
		{"NUL inside", hdr + "\x00." + payload + "." + sig, auth.ReasonInvalidToken},
		{"JSON serialization by jws", jsonSerialization(t, good), auth.ReasonInvalidToken},
		{"over MaxCredentialsBytes", claims("pad", strings.Repeat("p", auth.DefaultMaxCredentialsBytes)), auth.ReasonInvalidToken},
	}
	rows = append(rows, numericDateRows(t, is)...)
	for _, a := range is.Attacks(t, testNow, trap) {
		rows = append(rows, validateRow{"attack: " + a.Name, a.Token, auth.Reason(a.Reason)})
	}

	// The same rows through validators with the token and failure caches
	// on, each token three times, and no answer may differ from the
	// uncached one. Through a new validator per row: a valid token enters
	// the token cache at its second validation and is a hit at the third,
	// once, and a refused one is never a hit. Through one validator shared
	// by all rows, in order: no token is answered from another's entry
	// (a forged signature over a payload that validated before, say).
	// (TestFailureCache shows that a failed signature is refused from the
	// failure cache the second time.)
	withCaches := auth.Config{
		Issuer: is.URL, Audience: is.Audience, CacheSize: 1000, FailureCacheSize: 1000,
		Now: func() time.Time { return testNow },
	}
	keys := runKeys(t, is)
	shared, sharedHits := countingValidator(t, withCaches, keys)

	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			check := func(c *auth.Claims, err error) *auth.Claims {
				t.Helper()
				if tt.reason == "" {
					if err != nil || c == nil {
						t.Fatalf("Validate = %v, %v; want claims", c, err)
					}
					return c
				}
				if c != nil {
					t.Errorf("claims %+v returned with an error", c)
				}
				wantReason(t, err, tt.reason)
				return nil
			}
			first := check(v.Validate(context.Background(), tt.token))
			thrice := func(cached *auth.Validator) {
				t.Helper()
				for range 3 {
					again := check(cached.Validate(context.Background(), tt.token))
					if diff := cmp.Diff(first, again, cmpClaims); diff != "" {
						t.Errorf("claims through the caches differ (-uncached +cached):\n%s", diff)
					}
				}
			}
			cached, hits := countingValidator(t, withCaches, keys)
			thrice(cached)
			want := 0
			if tt.reason == "" {
				want = 1
			}
			if n := hits(); n != want {
				t.Errorf("token cache hits = %d in three validations; want %d", n, want)
			}
			before := sharedHits()
			thrice(shared)
			if hits := sharedHits() - before; tt.reason != "" && hits != 0 {
				t.Errorf("a refused token was a hit %d times in the shared token cache", hits)
			}
		})
	}

	if n := trap.Requests(); n != 0 {
		t.Errorf("the validator made %d requests to the attacker's host (jku/x5u followed); want 0", n)
	}
}

// validateRow is a token and the reason Validate must refuse it with ("":
// valid).
type validateRow struct {
	name   string
	token  string
	reason auth.Reason
}

// numericDateRows: "exp", "nbf" and "iat" at every edge of a NumericDate
// (RFC 7519 section 2: a JSON number of seconds since the epoch, fractions
// allowed). Each value is either a time, judged against testNow with the
// 60 s skew, or makes the token invalid: negative values, values past
// auth.MaxNumericDate (9999-12-31T23:59:59Z) and values beyond what an
// int64 or a float64 holds are invalid_claims; text that is not a JSON
// number makes the payload not JSON, invalid_token. The values are written
// into the payload as they are, not through a float.
func numericDateRows(t testing.TB, is *authtest.Issuer) []validateRow {
	t.Helper()
	base := is.Claims(testNow)
	// with returns a token whose claim name is the JSON text value.
	with := func(name, value string) string {
		b, err := json.Marshal(authtest.WithClaims(base, name, nil))
		if err != nil {
			t.Fatal(err)
		}
		return authtest.Forge(t, is.SigningKey(), string(b[:len(b)-1])+`,"`+name+`":`+value+`}`, nil)
	}
	now := testNow.Unix()
	at := func(d float64) string { return strconv.FormatFloat(float64(now)+d, 'f', -1, 64) }
	const (
		valid    = auth.Reason("")
		expired  = auth.ReasonTokenExpired
		claims   = auth.ReasonInvalidClaims
		notJSON  = auth.ReasonInvalidToken
		maxDate  = "253402300799" // auth.MaxNumericDate
		pastMax  = "253402300800"
		int64Max = "9223372036854775807"
	)
	rows := []validateRow{}
	add := func(name string, reason auth.Reason, values ...string) {
		for _, v := range values {
			rows = append(rows, validateRow{fmt.Sprintf("%s %s", name, v), with(strings.Fields(name)[0], v), reason})
		}
	}
	// exp: a time in the past is token_expired, whatever its spelling.
	add("exp", expired, "0", "-0", "0.0", "-0.0", "0e5", "1e-400", "1", "1e9", "1E+9", "1.0e9", at(-60), at(-60.5), at(-3600.25))
	add("exp", valid, at(-59.5), at(3600.5), at(3600)+".000000000001", "1E+10", "2e10", maxDate, maxDate+".999999999", strconv.Itoa(int(now+3600))+"e0",
		strconv.Itoa(int(now+3600))+"0e-1", "0."+strconv.Itoa(int(now+3600))+"e10", strconv.Itoa(int(now+3600))+"000000000e-9")
	add("exp", claims, "-1", "-0.5", "-1e-9", "-1e9", pastMax, "253402300799.9999999999e1", "1e12", "1e400", int64Max, "9223372036800000000",
		"18446744073709551616", "1e99999999999999999999", "-1e99999999999999999999")
	add("exp", notJSON, "01", "0"+at(3600), "+"+at(3600), ".5", "1.", "1e", "1e+", "NaN", "Infinity", "-Infinity", "0x7fffffff", at(3600)+"-")
	// nbf and iat: a time not after now+skew is fine, including 0 and the
	// distant past; beyond that, or out of range, invalid_claims.
	for _, name := range []string{"nbf", "iat"} {
		add(name, valid, "0", "-0", "0.5", "1e-7", "1", "1e9", "1.5e9", at(59.5), at(-3600.75))
		add(name, claims, at(60.5), at(3600), "1E+10", maxDate, pastMax, "-1", "-1e-9", "-0.000000001e9", "1e400", int64Max,
			"9223372036800000000", "9223372036854775808", "1e99999999999999999999")
		add(name, notJSON, "00", "-", "NaN", "Infinity", "1.e5")
	}
	return rows
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
// The RSA and EC issuers get authtest's catalogue (attack_test.go runs it
// against the whole server too); a key published without "alg" is this
// test's own case.
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

	bareV := newValidator(t, bareIs, multi...)
	bareRS256 := newValidator(t, bareIs) // the default: RS256 only

	attEC, attEd := authtest.Key(t, jwa.ES256), authtest.Key(t, jwa.EdDSA)
	bareKid := bareIs.SigningKey().KeyID()

	type row struct {
		name  string
		v     *auth.Validator
		token string
		ok    bool
	}
	rows := []row{
		{"control: RS256 under a key without alg", bareV, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), nil), true},
		// The key says nothing about its algorithm, so only the configured
		// list stands between the issuer's own key and an algorithm the
		// operator did not allow.
		{"control: RS256 under a key without alg, RS256 only", bareRS256, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), nil), true},
		{"PS256 by the issuer's key without alg, RS256 only", bareRS256, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), map[string]any{"alg": "PS256"}), false},
		{"RS512 by the issuer's key without alg, RS256 only", bareRS256, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), map[string]any{"alg": "RS512"}), false},
		{"control: PS256 by the issuer's key without alg, PS256 allowed", bareV, authtest.Forge(t, bareIs.SigningKey(), bareIs.Claims(testNow), map[string]any{"alg": "PS256"}), true},
		{"ES256 by the attacker under an RSA kid without alg", bareV, authtest.Forge(t, attEC, bareIs.Claims(testNow), map[string]any{"kid": bareKid}), false},
		{"EdDSA by the attacker under an RSA kid without alg", bareV, authtest.Forge(t, attEd, bareIs.Claims(testNow), map[string]any{"kid": bareKid}), false},
	}
	for name, is := range map[string]*authtest.Issuer{"RSA issuer": rsaIs, "EC issuer": ecIs} {
		v := newValidator(t, is, multi...)
		for _, a := range is.ConfusionAttacks(t, testNow) {
			rows = append(rows, row{name + ": " + a.Name, v, a.Token, a.Reason == ""})
		}
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
		{"no scope claims", auth.Config{Issuer: "i", Audience: "a", ScopeClaims: []string{}}, keys},
		{"a registered claim grants scopes", auth.Config{Issuer: "i", Audience: "a", ScopeClaims: []string{"scope", "sub"}}, keys},
		{"a scope claim twice", auth.Config{Issuer: "i", Audience: "a", ScopeClaims: []string{"scope", "scope"}}, keys},
		{"too many scope claims", auth.Config{Issuer: "i", Audience: "a", ScopeClaims: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}}, keys},
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

// TestScopeClaims: the claims that grant scopes are configurable
// (SCOPE_CLAIMS): each may be a space-separated string or an array of
// strings, namespaced names work, claims not named grant nothing, and a
// named claim of any other type makes the token invalid_claims.
func TestScopeClaims(t *testing.T) {
	is := authtest.NewServer(t)
	const roles = "https://example.com/roles"
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience, ScopeClaims: []string{roles, "scp"},
		Now: func() time.Time { return testNow }}, runKeys(t, is))
	if err != nil {
		t.Fatal(err)
	}
	key := is.SigningKey()
	base := is.Claims(testNow)
	for _, tt := range []struct {
		name   string
		claims map[string]any
		want   []string // the scopes granted, in order
		reason auth.Reason
	}{
		{"a namespaced array and a string", authtest.WithClaims(base, roles, []string{"admin", "read:users"}, "scp", "read:audit admin"),
			[]string{"admin", "read:users", "read:audit"}, ""},
		{"the namespaced claim as a string", authtest.WithClaims(base, roles, " read:users  admin "), []string{"read:users", "admin"}, ""},
		{"scp as an array", authtest.WithClaims(base, "scp", []string{"read:users"}), []string{"read:users"}, ""},
		{"claims not named grant nothing", authtest.WithClaims(base, "scope", "read:users", "permissions", []string{"admin"}), []string{}, ""},
		{"a named claim of another type", authtest.WithClaims(base, roles, map[string]any{"admin": true}), nil, auth.ReasonInvalidClaims},
		{"a number in the array", authtest.WithClaims(base, "scp", []any{"admin", 1}), nil, auth.ReasonInvalidClaims},
		{"null", authtest.WithClaims(base, "scp", []any{nil}), nil, auth.ReasonInvalidClaims},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(context.Background(), authtest.Forge(t, key, tt.claims, nil))
			if tt.reason != "" {
				wantReason(t, err, tt.reason)
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !slices.Equal(c.Scopes, tt.want) && !(len(c.Scopes) == 0 && len(tt.want) == 0) {
				t.Errorf("Scopes = %q; want %q", c.Scopes, tt.want)
			}
		})
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
