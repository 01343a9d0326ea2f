package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/authgql/server/internal/jsonscan"
	"github.com/authgql/server/jwks"
	"github.com/authgql/server/metrics"
)

// MaxClockSkew is the most clock difference with the issuer that the
// validator tolerates on exp, nbf and iat, and the default.
const MaxClockSkew = 60 * time.Second

// DefaultCacheSize is how many validated tokens the server remembers
// unless TOKEN_CACHE_SIZE says otherwise. A zero Config.CacheSize disables
// the cache.
const DefaultCacheSize = 10000

// DefaultFailureCacheSize is how many tokens whose signature failed the
// server remembers unless TOKEN_FAILURE_CACHE_SIZE says otherwise: about
// 100 bytes each.
const DefaultFailureCacheSize = 10000

// DefaultCacheBytes bounds the memory the token cache holds when
// Config.CacheBytes is zero: 16 MiB. A typical access token costs about
// 500 bytes (487 of heap measured by BenchmarkTokenCacheFill for the perf
// harness's tokens), so DefaultCacheSize binds first, at about 5 MB; a
// token with 1,000 permissions costs some 55 KB, and this bound keeps about
// 300 of them rather than 10,000 (550 MB).
const DefaultCacheBytes = 16 << 20

// DefaultScopeClaims are the claims that grant scopes unless
// Config.ScopeClaims (SCOPE_CLAIMS) names others: OAuth's space-separated
// "scope" (RFC 8693 section 4.2, RFC 9068 section 2.2.3) and the
// "permissions" array that Auth0's RBAC adds.
func DefaultScopeClaims() []string { return []string{"scope", "permissions"} }

// MaxScopeClaims is how many claims Config.ScopeClaims may name.
const MaxScopeClaims = 8

// registeredClaims are the claims the validator checks, which cannot grant
// scopes too (RFC 7519 section 4.1).
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// Config configures a Validator. Zero values mean the documented defaults.
type Config struct {
	Issuer     string                   // required; matched exactly
	Audience   string                   // required; "aud" must contain it
	Algorithms []jwa.SignatureAlgorithm // allowed token algorithms; nil means jwks.DefaultAlgorithm
	ClockSkew  time.Duration            // 0 means MaxClockSkew; larger values are refused
	// MaxCredentialsBytes caps the credentials Authenticate reads (the
	// Authorization value, "Bearer <token>"), and so the token Validate
	// reads, before any parsing; 0 means DefaultMaxCredentialsBytes.
	MaxCredentialsBytes int
	// CacheSize is how many validated tokens are remembered so that a token
	// sent again is not verified again (see tokenCache); 0 disables, and
	// the server's default is DefaultCacheSize.
	CacheSize int
	// FailureCacheSize is how many tokens whose signature failed are
	// remembered, so that the same bad token sent again is refused without
	// a signature check (see failureCache); 0 disables, and the server's
	// default is DefaultFailureCacheSize.
	FailureCacheSize int
	// CacheBytes bounds the memory those tokens' claims hold, in bytes
	// (estimated: strings, slices and a fixed overhead per entry); 0 means
	// DefaultCacheBytes.
	CacheBytes int
	// ScopeClaims are the claims whose union grants scopes, in order; each
	// may be a space-separated string or an array of strings in a token
	// (anything else makes the token invalid_claims), and any name works,
	// namespaced ones ("https://example.com/roles") included. At most
	// MaxScopeClaims, none of the registered claims; nil means
	// DefaultScopeClaims.
	ScopeClaims []string
	Now         func() time.Time // nil means time.Now
	Metrics     *metrics.Metrics // token cache hits and misses; nil means none
}

// Validator checks access tokens against one issuer and audience.
type Validator struct {
	cfg      Config
	keys     *jwks.Cache
	headers  headerCache
	hash     *digester
	cache    *tokenCache   // nil when disabled
	failures *failureCache // nil when disabled
}

// digest is the key of raw in both caches.
func (v *Validator) digest(raw string) [sha256.Size]byte { return v.hash.sum(raw) }

// AllowedAlgorithms returns the algorithms Config.Algorithms may list: the
// asymmetric ones. HMAC is never allowed, because a verifier's "secret"
// would be the issuer's public key, which anyone can fetch; nor is "none".
func AllowedAlgorithms() []jwa.SignatureAlgorithm {
	return []jwa.SignatureAlgorithm{
		jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA,
	}
}

// NewValidator returns a Validator that takes keys from keys.
func NewValidator(cfg Config, keys *jwks.Cache) (*Validator, error) {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("auth: issuer is required"))
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("auth: audience is required"))
	}
	if keys == nil {
		errs = append(errs, errors.New("auth: a key cache is required"))
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []jwa.SignatureAlgorithm{jwks.DefaultAlgorithm}
	}
	allowed := AllowedAlgorithms()
	for _, a := range cfg.Algorithms {
		if !slices.Contains(allowed, a) {
			errs = append(errs, fmt.Errorf("auth: algorithm %q is not allowed", a))
		}
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = MaxClockSkew
	}
	if cfg.ClockSkew < 0 || cfg.ClockSkew > MaxClockSkew {
		errs = append(errs, fmt.Errorf("auth: clock skew %s is outside [0, %s]", cfg.ClockSkew, MaxClockSkew))
	}
	if cfg.MaxCredentialsBytes <= 0 {
		cfg.MaxCredentialsBytes = DefaultMaxCredentialsBytes
	}
	if cfg.ScopeClaims == nil {
		cfg.ScopeClaims = DefaultScopeClaims()
	}
	for _, err := range CheckScopeClaims(cfg.ScopeClaims) {
		errs = append(errs, fmt.Errorf("auth: scope claims: %w", err))
	}
	if cfg.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("auth: cache bytes %d is negative", cfg.CacheBytes))
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Validator{cfg: cfg, keys: keys, hash: newDigester(),
		cache:    newTokenCache(cfg.CacheSize, cfg.CacheBytes),
		failures: newFailureCache(cfg.FailureCacheSize)}, nil
}

// Ready reports whether the validator has keys to verify tokens with.
func (v *Validator) Ready() bool { return v.keys.Ready() }

// Validate verifies raw, a compact JWS, and returns its claims, or an *Error
// whose Reason is ReasonUnavailable, ReasonTokenExpired, ReasonInvalidClaims
// or ReasonInvalidToken. Transports call Authenticate, which reads the
// token out of the credentials they carry and then calls Validate.
//
// The claims may be shared with other requests that sent the same token
// (see tokenCache): callers must not modify them.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	if !v.keys.Ready() {
		return nil, v.unavailable(jwks.ErrNotReady)
	}
	if len(raw) > v.cfg.MaxCredentialsBytes {
		return nil, v.tooLong(len(raw))
	}
	if strings.Count(raw, ".") != 2 {
		// Not a compact JWS: refused before it costs a digest.
		return nil, &Error{Reason: ReasonInvalidToken, Err: errNotCompact}
	}
	now := v.cfg.Now()
	sum := v.digest(raw)
	// A hit is a string that passed every check below before, byte for
	// byte, so only what can change since is checked again: the time and
	// the key set (and checkCompact's pass over every byte is saved).
	if c, ok := v.cache.get(sum, now, v.keys.Current); ok {
		v.cfg.Metrics.TokenCacheHit()
		return c, nil
	}
	if v.cache != nil {
		v.cfg.Metrics.TokenCacheMiss()
	}
	// So is a string whose signature failed before with a key still in
	// the key set: it fails again, without a signature check.
	if v.failures.failed(sum, v.keys) {
		return nil, &Error{Reason: ReasonInvalidToken, Err: errSignatureFailedBefore}
	}
	if err := checkCompact(raw); err != nil {
		return nil, &Error{Reason: ReasonInvalidToken, Err: err}
	}
	payload, key, err := v.verify(ctx, raw)
	if err != nil {
		var sigErr *signatureError
		switch {
		case errors.Is(err, jwks.ErrNotReady):
			return nil, v.unavailable(err)
		case errors.As(err, &sigErr):
			v.failures.add(sum, sigErr.key)
		}
		return nil, &Error{Reason: ReasonInvalidToken, Err: err}
	}
	claims, strs, err := v.claims(payload, now)
	if err != nil {
		return nil, err
	}
	if v.cache.admit(sum) {
		v.cache.put(sum, key, claims, entryCost(key.ID, strs, claims), now)
	}
	return claims, nil
}

// errSignatureFailedBefore is the cause of a refusal from the failure
// cache.
var errSignatureFailedBefore = errors.New("the signature did not verify before, with the same key")

// signatureError is a signature that did not verify with key, the one the
// token's kid names.
type signatureError struct {
	key *jwks.Key
	err error
}

func (e *signatureError) Error() string {
	return fmt.Sprintf("signature does not verify with key %q: %v", e.key.ID, e.err)
}

func (e *signatureError) Unwrap() error { return e.err }

// verify checks the signature of raw, a compact JWS that checkCompact
// accepted, and returns its decoded payload and the key that verified it.
// jwx does the JWS work: it splits the compact form, parses the protected
// header (parseHeader, once per distinct header), and its algorithm's
// verifier checks the signature over the JWS Signing Input, which in the compact form is exactly raw up to the second
// period (RFC 7515 section 7.1); keyFor chooses the key. Going through
// these rather than jws.Verify saves jws.Verify's decoding of the payload
// into a message and its encoding of header and payload back into base64
// to rebuild that same Signing Input: a seventh of an uncached validation.
func (v *Validator) verify(ctx context.Context, raw string) ([]byte, *jwks.Key, error) {
	// One copy of raw, which jwx splits in place: the Signing Input is
	// then a prefix of it, and the segments decode without more copies.
	buf := []byte(raw)
	protected, payload, signature, err := jws.SplitCompact(buf)
	if err != nil {
		return nil, nil, err
	}
	hdr, ok := v.headers.get(protected)
	if !ok {
		hdr = v.parseHeader(protected)
		v.headers.put(protected, hdr)
	}
	if hdr.err != nil {
		return nil, nil, hdr.err
	}
	key, err := v.keyFor(ctx, hdr)
	if err != nil {
		return nil, nil, err
	}
	alg := hdr.alg
	sig, err := decodeSegment(signature)
	if err != nil {
		return nil, nil, fmt.Errorf("signature: %w", err)
	}
	verifier, err := jws.NewVerifier(alg)
	if err != nil {
		return nil, nil, err
	}
	n := len(protected) + 1 + len(payload)
	signingInput := buf[:n:n] // capped: nothing can append into the payload and signature after it
	if err := verifier.Verify(signingInput, sig, key.Public); err != nil {
		return nil, nil, &signatureError{key: key, err: err}
	}
	decoded, err := decodeSegment(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("payload: %w", err)
	}
	return decoded, key, nil
}

// b64 is the base64url of JWS segments (RFC 7515 section 2), which
// checkCompact has already found canonical.
var b64 = base64.RawURLEncoding

// decodeSegment decodes one base64url segment of a compact JWS into a new
// slice, which never shares memory with segment; nil on error.
func decodeSegment(segment []byte) ([]byte, error) {
	out := make([]byte, b64.DecodedLen(len(segment)))
	n, err := b64.Decode(out, segment)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// tooLong is the refusal of a token of n bytes, over the cap: an invalid
// token (RFC 6750's invalid_token: "malformed or otherwise invalid"), and
// the message names the cap so that an operator knows what to raise.
func (v *Validator) tooLong(n int) *Error {
	return &Error{Reason: ReasonInvalidToken,
		Detail: fmt.Sprintf("Bearer token is larger than the %d-byte limit", v.cfg.MaxCredentialsBytes),
		Err:    fmt.Errorf("token of %d bytes exceeds %d", n, v.cfg.MaxCredentialsBytes)}
}

func (v *Validator) unavailable(err error) *Error {
	return &Error{Reason: ReasonUnavailable, Err: err, RetryAfter: v.keys.RetryAfter()}
}

// parseHeader parses a protected header (its base64url segment) with jwx
// and checks it: the algorithm must be allowed, no "crit" or "b64"
// extension, "typ" absent or a JWT, a "kid". The result depends on the
// bytes alone, so it is cached (headerCache), refusals included.
func (v *Validator) parseHeader(segment []byte) header {
	headerJSON, err := decodeSegment(segment)
	if err != nil {
		return header{err: fmt.Errorf("protected header: %w", err)}
	}
	h := jws.NewHeaders()
	if err := h.UnmarshalJSON(headerJSON); err != nil {
		return header{err: fmt.Errorf("protected header: %w", err)}
	}
	alg := h.Algorithm()
	if !slices.Contains(v.cfg.Algorithms, alg) {
		return header{err: fmt.Errorf("alg %q is not allowed", alg)}
	}
	if crit := h.Critical(); crit != nil {
		return header{err: fmt.Errorf("unsupported crit extensions %q", crit)}
	}
	if _, ok := h.Get("b64"); ok {
		return header{err: errors.New("b64 header is not supported")}
	}
	if typ := h.Type(); typ != "" && !strings.EqualFold(typ, "JWT") && !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return header{err: fmt.Errorf("typ %q is not a JWT", typ)}
	}
	if h.KeyID() == "" {
		return header{err: errors.New("no kid")}
	}
	return header{alg: alg, kid: h.KeyID()}
}

// keyFor chooses the one key the signature must verify with, ours, never
// the token's: the one hdr's kid names in the issuer's key set (the raw
// public key it parsed when it was loaded, so nothing is converted per
// token), which hdr's algorithm must fit.
func (v *Validator) keyFor(ctx context.Context, hdr header) (*jwks.Key, error) {
	key, err := v.keys.Lookup(ctx, hdr.kid)
	if err != nil {
		return nil, err
	}
	if !key.Verifies(hdr.alg) {
		return nil, fmt.Errorf("alg %q is not for key %q (alg %q, kty %q)", hdr.alg, hdr.kid, key.Algorithm, key.Type)
	}
	return key, nil
}

// CheckScopeClaims returns a problem per name in names that cannot grant
// scopes (Config.ScopeClaims): an empty one, a registered claim, one named
// twice; and one if there are none or more than MaxScopeClaims.
func CheckScopeClaims(names []string) []error {
	var errs []error
	if len(names) == 0 || len(names) > MaxScopeClaims {
		errs = append(errs, fmt.Errorf("%d claims named; name 1 to %d", len(names), MaxScopeClaims))
	}
	for i, n := range names {
		switch {
		case n == "":
			errs = append(errs, errors.New("a claim name is empty"))
		case slices.Contains(registeredClaims, n):
			errs = append(errs, fmt.Errorf("%q is a registered claim (RFC 7519), not one that grants scopes", n))
		case slices.Contains(names[:i], n):
			errs = append(errs, fmt.Errorf("%q is named twice", n))
		}
	}
	return errs
}

// claims checks the claims of a verified payload, decoded once (scanClaims)
// by exact name, and returns them, and the length of the one string their
// strings are sliced from: the JSON types of the claims read (jwx would
// coerce "exp":"123"), then the times at now, iss and aud.
func (v *Validator) claims(payload []byte, now time.Time) (*Claims, int, error) {
	invalid := func(err error) error { return &Error{Reason: ReasonInvalidClaims, Err: err} }
	rc, err := scanClaims(payload, v.cfg.ScopeClaims)
	if err != nil {
		return nil, 0, &Error{Reason: ReasonInvalidToken, Err: err}
	}

	// Types, and the dates as times.
	if rc.exp == nil {
		return nil, 0, invalid(errors.New(`"exp" is required`))
	}
	exp, ok := date(rc.exp)
	nbf, nbfOK := optionalDate(rc.nbf)
	iat, iatOK := optionalDate(rc.iat)
	if !ok || !nbfOK || !iatOK {
		return nil, 0, invalid(fmt.Errorf(`"exp", "nbf" and "iat" must be numbers of seconds in [0, %d]`, MaxNumericDate))
	}
	// The strings are decoded into one buffer and sliced from one string:
	// one allocation for all of them, and only what the claims keep.
	var buf strings.Builder
	size := len(rc.sub) + len(rc.aud)
	for _, sc := range rc.scopes {
		size += len(sc)
	}
	buf.Grow(size)
	var sub span
	if rc.iss != nil && !jsonscan.IsString(rc.iss) || rc.sub != nil && !appendSpan(&buf, rc.sub, &sub) {
		return nil, 0, invalid(errors.New(`"iss" and "sub" must be strings`))
	}
	// A scope claim is a space-separated string (split later) or an array
	// of strings (each element whole).
	var scopes []scopeSpan
	for i, name := range v.cfg.ScopeClaims {
		raw := rc.scopes[i]
		switch {
		case raw == nil:
		case jsonscan.IsString(raw):
			scopes = append(scopes, scopeSpan{split: true})
			appendSpan(&buf, raw, &scopes[len(scopes)-1].span)
		case !jsonscan.Elements(raw, func(elem []byte) bool {
			scopes = append(scopes, scopeSpan{})
			return appendSpan(&buf, elem, &scopes[len(scopes)-1].span)
		}):
			return nil, 0, invalid(fmt.Errorf("%q must be a space-separated string or an array of strings", name))
		}
	}
	var aud []span
	switch {
	case rc.aud == nil: // no audience: refused below
	case jsonscan.IsString(rc.aud):
		appendSpan(&buf, rc.aud, appendOne(&aud))
	case !appendSpans(&buf, rc.aud, &aud):
		return nil, 0, invalid(errors.New(`"aud" must be a string or an array of strings`))
	}

	// Values, in jwx's order: the times first (iat, exp, nbf), so that an
	// expired token is token_expired whatever is wrong with its issuer or
	// audience; claims of the wrong type were refused above.
	skew := v.cfg.ClockSkew
	switch {
	case iat.IsSet && now.Before(iat.Time.Add(-skew)):
		return nil, 0, invalid(errors.New(`"iat" is in the future`))
	case !now.Before(exp.Time.Add(skew)):
		return nil, 0, &Error{Reason: ReasonTokenExpired, Err: errors.New(`"exp" has passed`)}
	case nbf.IsSet && now.Before(nbf.Time.Add(-skew)):
		return nil, 0, invalid(errors.New(`"nbf" is in the future`))
	case rc.iss == nil || !jsonStringIs(rc.iss, v.cfg.Issuer):
		return nil, 0, invalid(errors.New(`"iss" is not the issuer`))
	}
	strs := buf.String()
	audience := make([]string, len(aud))
	for i, a := range aud {
		audience[i] = a.in(strs)
	}
	if !slices.Contains(audience, v.cfg.Audience) {
		return nil, 0, invalid(errors.New(`"aud" does not contain the audience`))
	}
	return &Claims{
		Subject:    sub.in(strs),
		Issuer:     v.cfg.Issuer, // equal to "iss", and shared
		Audience:   audience,
		ExpiresAt:  exp.Time,
		ValidUntil: exp.Time.Add(skew),
		IssuedAt:   iat.Time,
		Scopes:     mergeScopes(scopes, strs),
	}, len(strs), nil
}

// optionalTime is a NumericDate claim that may be absent.
type optionalTime struct {
	Time  time.Time // zero when absent
	IsSet bool
}

// date converts a present NumericDate claim; false when it is not a number
// in range.
func date(v []byte) (optionalTime, bool) {
	if !jsonscan.IsNumber(v) {
		return optionalTime{}, false
	}
	t, ok := numericDate(v)
	return optionalTime{t, ok}, ok
}

func optionalDate(v []byte) (optionalTime, bool) {
	if v == nil {
		return optionalTime{}, true
	}
	return date(v)
}

// scopeSpan is a scope claim's string, or one element of a scope claim's
// array, in the claims' string buffer; split says it is space-separated.
type scopeSpan struct {
	span
	split bool
}

// span is where a decoded string sits in the claims' string buffer.
type span struct{ start, end int }

func (s span) in(strs string) string { return strs[s.start:s.end] }

// appendSpan decodes v, a JSON string, into buf and records where it went
// in dst; false when v is not a string.
func appendSpan(buf *strings.Builder, v []byte, dst *span) bool {
	dst.start = buf.Len()
	ok := jsonscan.AppendString(buf, v)
	dst.end = buf.Len()
	return ok
}

// appendSpans decodes v, a JSON array of strings, into buf and appends
// where each went to dst; false when v is anything else, including an
// array holding null or another non-string.
func appendSpans(buf *strings.Builder, v []byte, dst *[]span) bool {
	*dst = (*dst)[:0]
	return jsonscan.Elements(v, func(elem []byte) bool { return appendSpan(buf, elem, appendOne(dst)) })
}

// appendOne grows *spans by one and returns the new element.
func appendOne(spans *[]span) *span {
	*spans = append(*spans, span{})
	return &(*spans)[len(*spans)-1]
}

// jsonStringIs reports whether v, a scanned JSON value, is the string want,
// however it is escaped.
func jsonStringIs(v []byte, want string) bool {
	if jsonscan.IsString(v) && jsonscan.Plain(v) {
		return string(v[1:len(v)-1]) == want // no allocation
	}
	str, ok := jsonscan.String(v)
	return ok && str == want
}
