package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"

	"github.com/authgql/server/internal/jsonscan"
)

// Run with: go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 20s ./auth
// (scripts/fuzz.sh runs every target). Seeds are in f.Add calls and in
// testdata/fuzz/<Target>/.

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"", " ", "Bearer a.b.c", "bearer  a.b.c ", "BEARER\ta.b.c", "Bearer", "Bearer a b",
		"Basic dXNlcjpwYXNz", "Bearer\u00a0a.b.c", "Bearer\u2028a.b.c", "Bearer \x00", "Bearer a,Bearer b",
		"Bearer " + strings.Repeat("x", 300), "\xffBearer a", "Bearer a\xff\xfe",
	} {
		f.Add(s, 0)
		f.Add(s, 256)
	}
	f.Fuzz(func(t *testing.T, header string, maxBytes int) {
		maxBytes %= 1 << 14 // negative and zero mean the default
		tok, err := bearerToken(header, maxBytes)
		limit := maxBytes
		if limit <= 0 {
			limit = DefaultMaxCredentialsBytes
		}
		fields := strings.Fields(header)
		wellFormed := len(fields) == 2 && strings.EqualFold(fields[0], "Bearer")
		if err != nil {
			// Malformed: invalid_header, whatever the length. Well-formed
			// but over the cap: an invalid token. Blank over the cap:
			// invalid_header.
			want := ReasonInvalidHeader
			if wellFormed {
				want = ReasonInvalidToken
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != want {
				t.Fatalf("err = %v; want an *Error with reason %s", err, want)
			}
			if wellFormed && len(header) <= limit || len(fields) == 0 && len(header) <= limit {
				t.Fatalf("header %q within the %d-byte cap refused: %v", header, limit, err)
			}
			if tok != "" {
				t.Fatalf("token %q returned with an error", tok)
			}
			return
		}
		if len(header) > limit {
			t.Fatalf("a %d-byte header over the %d-byte cap was accepted (token %q)", len(header), limit, tok)
		}
		if tok == "" {
			if len(strings.Fields(header)) != 0 {
				t.Fatalf("non-blank header %q read as no token", header)
			}
			return
		}
		if strings.ContainsFunc(tok, unicode.IsSpace) {
			t.Fatalf("token %q contains white space", tok)
		}
		if !strings.Contains(header, tok) {
			t.Fatalf("token %q is not part of the header %q", tok, header)
		}
		if f := strings.Fields(header); len(f) != 2 || !strings.EqualFold(f[0], "Bearer") || f[1] != tok {
			t.Fatalf("header %q is not exactly Bearer + token, yet gave %q", header, tok)
		}
	})
}

// fuzzSeed makes the Ed25519 key the same in every fuzz worker process, so
// that the valid seed tokens are valid wherever the fuzzer mutates them.
var fuzzSeed = []byte("authgql FuzzValidate fixed seed!") // 32 bytes

// fuzzNow is the validator's clock, fixed for the same reason.
var fuzzNow = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

type fuzzFixture struct {
	v     *Validator
	valid map[string]bool // the tokens that are supposed to validate
	seeds []string
}

// newFuzzFixture serves a JWKS with a fixed Ed25519 key and a fresh RSA
// key on 127.0.0.1, and mints the seed tokens.
func newFuzzFixture(f testing.TB) *fuzzFixture {
	f.Helper()
	edRaw := ed25519.NewKeyFromSeed(fuzzSeed)
	ed, err := jwk.FromRaw(edRaw)
	if err != nil {
		f.Fatal(err)
	}
	_ = ed.Set(jwk.KeyIDKey, "fuzz-ed25519")
	_ = ed.Set(jwk.AlgorithmKey, jwa.EdDSA)
	rsaKey, err := authtest.NewKey(jwa.RS256)
	if err != nil {
		f.Fatal(err)
	}
	set := jwk.NewSet()
	for _, k := range []jwk.Key{ed, rsaKey} {
		pub, err := k.PublicKey()
		if err != nil {
			f.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	body, err := json.Marshal(set)
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	f.Cleanup(srv.Close)
	const issuer, audience = "https://fuzz.authtest.example/", "https://api.authtest.example"

	keys, err := jwks.New(jwks.Options{URL: srv.URL, Algorithms: []jwa.SignatureAlgorithm{jwa.RS256, jwa.EdDSA}, MissInterval: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); keys.Run(ctx) }()
	f.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(5 * time.Second); !keys.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.Fatal("key cache not ready")
		}
	}
	v, err := NewValidator(Config{Issuer: issuer, Audience: audience, Algorithms: []jwa.SignatureAlgorithm{jwa.RS256, jwa.EdDSA},
		Now: func() time.Time { return fuzzNow }}, keys)
	if err != nil {
		f.Fatal(err)
	}

	fx := &fuzzFixture{v: v, valid: map[string]bool{}}
	claims := func(extra map[string]any) []byte {
		c := map[string]any{"iss": issuer, "aud": audience, "sub": "auth0|fuzz", "iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix()}
		for k, v := range extra {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		return b
	}
	mint := func(key jwk.Key, payload []byte, valid bool) {
		tok, err := authtest.Sign(payload, key, nil)
		if err != nil {
			f.Fatal(err)
		}
		fx.seeds = append(fx.seeds, tok)
		if valid {
			if _, err := v.Validate(context.Background(), tok); err != nil {
				f.Fatalf("seed token does not validate: %v", err)
			}
			fx.valid[tok] = true
		}
	}
	for _, k := range []jwk.Key{ed, rsaKey} {
		mint(k, claims(nil), true)
		mint(k, claims(map[string]any{"scope": "openid read:messages", "permissions": []string{"write:messages"}}), true)
		mint(k, claims(map[string]any{"aud": []string{"x", audience}}), true)
		mint(k, claims(map[string]any{"exp": fuzzNow.Add(-time.Hour).Unix()}), false)
		mint(k, claims(map[string]any{"aud": "https://other.example"}), false)
		mint(k, claims(map[string]any{"exp": "9999999999"}), false)
	}
	b64 := base64.RawURLEncoding
	fx.seeds = append(fx.seeds, "", "a.b.c", "...", b64.EncodeToString([]byte(`{"alg":"none"}`))+"."+b64.EncodeToString(claims(nil))+".")
	return fx
}

func FuzzValidate(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, s := range fx.seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := fx.v.Validate(context.Background(), raw)
		if err == nil {
			if !fx.valid[raw] {
				t.Fatalf("a token that was never issued validated: %q (claims %+v)", raw, c)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %v (%T); want *Error", err, err)
		}
		switch e.Reason {
		case ReasonInvalidToken, ReasonInvalidClaims, ReasonTokenExpired:
		default:
			t.Fatalf("reason %s for %q", e.Reason, raw)
		}
		if c != nil {
			t.Fatalf("claims returned with error %v", err)
		}
	})
}

// FuzzValidateMutations applies the fuzzer's bytes as edits to a valid
// token (flip, insert, delete at a position), which reaches the signature
// and claim checks far more often than random strings do.
func FuzzValidateMutations(f *testing.F) {
	fx := newFuzzFixture(f)
	var valid []string
	for tok := range fx.valid {
		valid = append(valid, tok)
	}
	slices.Sort(valid)
	f.Add(uint8(0), uint16(0), uint8(0), byte('A'))
	f.Add(uint8(1), uint16(20), uint8(1), byte('.'))
	f.Add(uint8(2), uint16(200), uint8(2), byte('='))
	f.Add(uint8(3), uint16(9999), uint8(0), byte(0))
	f.Fuzz(func(t *testing.T, which uint8, pos uint16, op uint8, b byte) {
		orig := valid[int(which)%len(valid)]
		i := int(pos) % (len(orig) + 1)
		var raw string
		switch op % 4 {
		case 0: // replace
			if i == len(orig) {
				return
			}
			raw = orig[:i] + string([]byte{b}) + orig[i+1:]
		case 1: // insert
			raw = orig[:i] + string([]byte{b}) + orig[i:]
		case 2: // delete
			if i == len(orig) {
				return
			}
			raw = orig[:i] + orig[i+1:]
		case 3: // flip a bit of the decoded part, re-encoded canonically
			parts := strings.Split(orig, ".")
			p := int(b) % 3
			dec, err := base64.RawURLEncoding.DecodeString(parts[p])
			if err != nil || len(dec) == 0 {
				t.Fatal(err)
			}
			j := i % len(dec)
			dec[j] ^= 1 << (b % 8)
			parts[p] = base64.RawURLEncoding.EncodeToString(dec)
			raw = strings.Join(parts, ".")
		}
		if raw == orig {
			return
		}
		if c, err := fx.v.Validate(context.Background(), raw); err == nil {
			t.Fatalf("edited token validated:\n orig %q\n edit %q\n claims %+v", orig, raw, c)
		}
	})
}

// FuzzScopes: a scope is granted only if it is exactly an element of the
// "scope" claim split on spaces (RFC 6749 section 3.3: only %x20
// separates) or of "permissions".
func FuzzScopes(f *testing.F) {
	f.Add("openid read:messages", "write:messages", "", "read:messages")
	f.Add("read:messages_all", "", "", "read:messages")
	f.Add("read:messages", "", "", "read")
	f.Add("a  b\tc\u00a0d", "e f", "", "e f")
	f.Add("", "", "", "")
	f.Add(" ", " ", "", " ")
	f.Fuzz(func(t *testing.T, scope, perm1, perm2, want string) {
		strs := scope + perm1 + perm2
		parts := []scopeSpan{
			{span{0, len(scope)}, true},
			{span{len(scope), len(scope) + len(perm1)}, false},
			{span{len(scope) + len(perm1), len(strs)}, false},
		}
		c := &Claims{Scopes: mergeScopes(parts, strs)}
		exact := want != "" && (slices.Contains(strings.Split(scope, " "), want) || want == perm1 || want == perm2)
		if got := c.HasScope(want); got != exact {
			t.Fatalf("scope %q, permissions [%q %q]: HasScope(%q) = %v; want %v (Scopes %q)", scope, perm1, perm2, want, got, exact, c.Scopes)
		}
		seen := map[string]bool{}
		for _, s := range c.Scopes {
			if s == "" {
				t.Fatalf("empty scope in %q", c.Scopes)
			}
			if seen[s] {
				t.Fatalf("duplicate scope %q in %q", s, c.Scopes)
			}
			seen[s] = true
			if !slices.Contains(strings.Split(scope, " "), s) && s != perm1 && s != perm2 {
				t.Fatalf("scope %q granted from nowhere (%q, [%q %q])", s, scope, perm1, perm2)
			}
		}
	})
}

// TestFuzzSeedsAreValid keeps the committed seed corpus honest: the
// deterministic Ed25519 tokens in testdata still validate, so FuzzValidate
// starts from tokens that reach the signature and claim checks.
func TestFuzzSeedsAreValid(t *testing.T) {
	fx := newFuzzFixture(t)
	for _, name := range []string{"valid-eddsa", "valid-eddsa-scopes"} {
		seed := readSeed(t, "testdata/fuzz/FuzzValidate/"+name)
		if !fx.valid[seed] {
			t.Errorf("seed %s is not one of the valid tokens the fixture mints: %q", name, seed)
		}
	}
}

// readSeed reads a one-string seed file in the Go fuzz corpus format.
func readSeed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
		t.Fatalf("%s is not a one-string corpus file", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// FuzzNumericDate: the conversion of a NumericDate agrees with exact
// rational arithmetic (math/big) on every JSON number: a time in [0,
// MaxNumericDate] truncated to the nanosecond, or refused; and it never
// panics on other input.
func FuzzNumericDate(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "0.0", "1", "-1", "1.5", "1e9", "1E+10", "1e-9", "1e-10", "15E8", "0.15e10",
		"253402300799", "253402300799.999999999", "253402300800", "9223372036800000000",
		"9223372036854775807", "18446744073709551616", "1e400", "-1e-400", "1e99999999999999999999",
		"123456789.123456789123", "00", "NaN", "", "-", "1e", ".5",
	} {
		f.Add(s)
	}
	maxDate := new(big.Rat).SetInt64(MaxNumericDate + 1)
	billion := big.NewRat(1e9, 1)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := numericDate([]byte(s)) // any input: must not panic
		if !isJSONNumberText(s) {
			return
		}
		if ok && (got.Unix() < 0 || got.Unix() > MaxNumericDate) {
			t.Fatalf("numericDate(%q) = %v, out of range", s, got)
		}
		if exponentTooLarge(s) {
			// math/big would build a number of that many digits. With an
			// exponent of a million or more, and fewer digits than that,
			// a value is 0 or out of range.
			if ok && got.UnixNano() != 0 && len(s) < 1e6 {
				t.Fatalf("numericDate(%q) = %v; want 0 or out of range", s, got)
			}
			return
		}
		r, okRat := new(big.Rat).SetString(s)
		if !okRat {
			t.Fatalf("math/big cannot read the JSON number %q", s)
		}
		if inRange := r.Sign() >= 0 && r.Cmp(maxDate) < 0; ok != inRange {
			t.Fatalf("numericDate(%q) in range = %v; want %v", s, ok, inRange)
		}
		if !ok {
			return
		}
		ns := new(big.Rat).Mul(r, billion)
		want := new(big.Int).Quo(ns.Num(), ns.Denom()) // truncated: r >= 0
		if gotNs := new(big.Int).Add(new(big.Int).Mul(big.NewInt(got.Unix()), big.NewInt(1e9)), big.NewInt(int64(got.Nanosecond()))); gotNs.Cmp(want) != 0 {
			t.Fatalf("numericDate(%q) = %v (%s ns); want %s ns", s, got, gotNs, want)
		}
	})
}

// isJSONNumberText reports whether s is exactly one JSON number.
func isJSONNumberText(s string) bool {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return false
	}
	n, ok := v.(json.Number)
	return ok && string(n) == s
}

// exponentTooLarge reports whether s has an exponent of a million or more
// (in absolute value).
func exponentTooLarge(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return false
	}
	return len(strings.TrimLeft(strings.TrimLeft(s[i+1:], "+-"), "0")) > 6
}

// FuzzScanClaims: the one-pass claims scanner accepts exactly the payloads
// encoding/json reads as an object (or null), and finds for each claim the
// validator reads the same JSON text as encoding/json's map, which also
// decodes escaped names and keeps the last of duplicate ones.
func FuzzScanClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://x/","aud":["a","b"],"exp":1e9,"scope":"a b","permissions":["p"]}`,
		`{"exp":1,"exp":"x"}`, `{"\u0065xp":1,"EXP":2,"ſcope":"a"}`, `null`, ` { } `, `[]`, `"x"`, `{"a":[[[{}]]]}`,
		`{"a":"\ud83d\ude00","sub":"\ud800","iss":"\xff"}`, `{"a":1}x`, `{"a":01}`, `{"a":tru}`, `{"a":"\x01"}`,
		`{"a":1,}`, `{,}`, `{"a" 1}`, `{"aud":[null]}`, "{\"a\":\"\\u00e9\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		rc, err := scanClaims(payload, DefaultScopeClaims())
		var m map[string]json.RawMessage
		jsonErr := json.Unmarshal(payload, &m)
		if (err == nil) != (jsonErr == nil) {
			t.Fatalf("scanClaims(%q) err = %v; encoding/json: %v", payload, err, jsonErr)
		}
		if err != nil {
			return
		}
		for name, got := range map[string][]byte{"exp": rc.exp, "nbf": rc.nbf, "iat": rc.iat, "iss": rc.iss, "sub": rc.sub,
			"aud": rc.aud, "scope": rc.scopes[0], "permissions": rc.scopes[1]} {
			want, ok := m[name]
			if ok != (got != nil) || !bytes.Equal(got, want) {
				t.Fatalf("scanClaims(%q).%s = %q; encoding/json: %q (present %v)", payload, name, got, want, ok)
			}
			if got == nil {
				continue
			}
			var s string
			if json.Unmarshal(got, &s) == nil {
				if b := new(strings.Builder); !jsonscan.AppendString(b, got) || b.String() != s {
					t.Fatalf("%s %q decodes to %q; encoding/json: %q", name, got, b.String(), s)
				}
			}
		}
	})
}
