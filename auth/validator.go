package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/authgql/server/jwks"
)

// MaxClockSkew is the most clock difference with the issuer that the
// validator tolerates on exp, nbf and iat, and the default.
const MaxClockSkew = 60 * time.Second

// DefaultCacheSize is how many validated tokens the server remembers
// unless TOKEN_CACHE_SIZE says otherwise. A zero Config.CacheSize disables
// the cache.
const DefaultCacheSize = 10000

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
	Now       func() time.Time // nil means time.Now
}

// Validator checks access tokens against one issuer and audience.
type Validator struct {
	cfg   Config
	keys  *jwks.Cache
	cache *tokenCache // nil when disabled
}

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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Validator{cfg: cfg, keys: keys, cache: newTokenCache(cfg.CacheSize)}, nil
}

// Ready reports whether the validator has keys to verify tokens with.
func (v *Validator) Ready() bool { return v.keys.Ready() }

// Validate verifies raw, a compact JWS, and returns its claims, or an *Error
// whose Reason is ReasonUnavailable, ReasonTokenExpired, ReasonInvalidClaims
// or ReasonInvalidToken. Transports call Authenticate, which reads the
// token out of the credentials they carry and then calls Validate.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	if !v.keys.Ready() {
		return nil, v.unavailable(jwks.ErrNotReady)
	}
	if err := checkCompact(raw, v.cfg.MaxCredentialsBytes); err != nil {
		return nil, &Error{Reason: ReasonInvalidToken, Err: err}
	}
	now := v.cfg.Now()
	if c, ok := v.cache.get(raw, now, v.keys.Has); ok {
		return c, nil
	}
	var kid string
	payload, err := jws.Verify([]byte(raw), jws.WithCompact(), jws.WithContext(ctx),
		jws.WithKeyProvider(jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, msg *jws.Message) error {
			kid = sig.ProtectedHeaders().KeyID()
			return v.fetchKey(ctx, sink, sig, msg)
		})))
	if err != nil {
		if errors.Is(err, jwks.ErrNotReady) {
			return nil, v.unavailable(err)
		}
		return nil, &Error{Reason: ReasonInvalidToken, Err: err}
	}
	claims, err := v.claims(payload)
	if err != nil {
		return nil, err
	}
	v.cache.put(raw, kid, claims, now)
	return claims, nil
}

func (v *Validator) unavailable(err error) *Error {
	return &Error{Reason: ReasonUnavailable, Err: err, RetryAfter: v.keys.RetryAfter()}
}

// fetchKey is the jws.KeyProvider: it checks the protected header and hands
// jws exactly one key and one algorithm, both chosen by us, never by the
// token. The key is the raw public key the key set parsed when it was
// loaded, so jws converts nothing per token.
func (v *Validator) fetchKey(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg := h.Algorithm()
	if !slices.Contains(v.cfg.Algorithms, alg) {
		return fmt.Errorf("alg %q is not allowed", alg)
	}
	if crit := h.Critical(); crit != nil {
		return fmt.Errorf("unsupported crit extensions %q", crit)
	}
	if _, ok := h.Get("b64"); ok {
		return errors.New("b64 header is not supported")
	}
	if typ := h.Type(); typ != "" && !strings.EqualFold(typ, "JWT") && !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return fmt.Errorf("typ %q is not a JWT", typ)
	}
	kid := h.KeyID()
	if kid == "" {
		return errors.New("no kid")
	}
	key, err := v.keys.Lookup(ctx, kid)
	if err != nil {
		return err
	}
	if key.Algorithm != "" && key.Algorithm != alg {
		return fmt.Errorf("alg %q does not match key %q's alg %q", alg, kid, key.Algorithm)
	}
	if !jwks.Fits(key.Public, alg) {
		return fmt.Errorf("alg %q does not fit key %q of kty %q", alg, kid, key.Type)
	}
	sink.Key(alg, key.Public)
	return nil
}

// claims checks the JSON types of the claims that jwx would coerce (it
// accepts "exp":"123") on the verified payload, then has jwx validate their
// values.
func (v *Validator) claims(payload []byte) (*Claims, error) {
	invalid := func(err error) error { return &Error{Reason: ReasonInvalidClaims, Err: err} }
	// Claim names are case-sensitive (RFC 7519 section 4) and jwx reads them
	// exactly, but encoding/json matches struct fields case-insensitively
	// (and with Unicode folding): decoding into a struct would let a later
	// "SCOPE" or "ſcope" stand in for "scope", or an "EXP" number hide a
	// string "exp" from the type checks. A map keeps the names exact.
	var c map[string]json.RawMessage
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, &Error{Reason: ReasonInvalidToken, Err: fmt.Errorf("payload: %w", err)}
	}
	var scope string
	var permissions []string
	switch {
	case c["exp"] == nil:
		return nil, invalid(errors.New(`"exp" is required`))
	case !isNumber(c["exp"]) || !optional(c["nbf"], isNumber) || !optional(c["iat"], isNumber):
		return nil, invalid(errors.New(`"exp", "nbf" and "iat" must be numbers`))
	case !optional(c["iss"], isString) || !optional(c["sub"], isString):
		return nil, invalid(errors.New(`"iss" and "sub" must be strings`))
	case !optional(c["aud"], isString) && !decodeStrings(c["aud"], new([]string)):
		return nil, invalid(errors.New(`"aud" must be a string or an array of strings`))
	case c["scope"] != nil && !(isString(c["scope"]) && json.Unmarshal(c["scope"], &scope) == nil):
		return nil, invalid(errors.New(`"scope" must be a string`))
	case c["permissions"] != nil && !decodeStrings(c["permissions"], &permissions):
		return nil, invalid(errors.New(`"permissions" must be an array of strings`))
	}

	tok, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer), jwt.WithAudience(v.cfg.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(v.cfg.ClockSkew), jwt.WithClock(jwt.ClockFunc(v.cfg.Now)))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired()):
		return nil, &Error{Reason: ReasonTokenExpired, Err: err}
	case err != nil:
		return nil, invalid(err)
	}
	return &Claims{
		Subject:    tok.Subject(),
		Issuer:     tok.Issuer(),
		Audience:   tok.Audience(),
		ExpiresAt:  tok.Expiration(),
		ValidUntil: tok.Expiration().Add(v.cfg.ClockSkew),
		IssuedAt:   tok.IssuedAt(),
		Scopes:     mergeScopes(scope, permissions),
	}, nil
}

func optional(m json.RawMessage, is func(json.RawMessage) bool) bool { return m == nil || is(m) }

func isNumber(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) > 0 && (m[0] == '-' || m[0] >= '0' && m[0] <= '9')
}

func isString(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) > 0 && m[0] == '"'
}

// decodeStrings decodes a JSON array of strings into dst and reports whether
// m was exactly that: encoding/json would turn null, or a null element, into
// "" without complaint.
func decodeStrings(m json.RawMessage, dst *[]string) bool {
	var elems []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(m), []byte("[")) && json.Unmarshal(m, &elems) == nil &&
		!slices.ContainsFunc(elems, func(e json.RawMessage) bool { return !isString(e) }) {
		return json.Unmarshal(m, dst) == nil
	}
	return false
}
