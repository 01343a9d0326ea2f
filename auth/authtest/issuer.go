// Package authtest is a fake OAuth 2.0 / OIDC issuer for tests, in the spirit
// of net/http/httptest: real keys, a real JWKS over HTTP, and access tokens
// shaped like Auth0's, minted with options.
//
// NewServer starts an issuer on a loopback httptest server and closes it
// when the test ends; point the server under test at its URL and JWKSURL.
// The issuer can also misbehave on purpose (rotate keys, go down, serve
// garbage, count requests) to test key-set handling, and the helpers of
// forge.go build tokens no honest issuer would.
//
// The honest part (keys, minting, the key set) is package issuer, which
// development mode runs inside the server, so that what a developer sees
// locally is what tests exercise. This package wraps it for tests and is
// never linked into the server.
package authtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/authgql/server/issuer"
)

// JWKSPath is where an issuer serves its key set, relative to its URL.
const JWKSPath = issuer.JWKSPath

// DefaultSubject is the "sub" of minted tokens unless Subject says otherwise.
const DefaultSubject = "auth0|authtest-user"

// TB is the part of testing.TB that the helpers use; *testing.T, *testing.B
// and *testing.F satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Issuer signs tokens and publishes the matching public keys (an
// issuer.Issuer), and misbehaves when told to.
type Issuer struct {
	URL      string // the "iss" of minted tokens, with a trailing slash
	Audience string // the default "aud"

	iss *issuer.Issuer

	mu          sync.Mutex
	status      int    // if non-zero, the JWKS endpoint answers this status
	body        []byte // if non-nil, the JWKS endpoint answers this body
	cacheCtl    string
	delay       time.Duration
	jwksHits    atomic.Int64
	closeServer func()
}

// IssuerOptions configures NewIssuer.
type IssuerOptions struct {
	URL       string                 // required: the issuer identifier, e.g. "https://tenant.auth0.com/"
	Audience  string                 // default "aud" of minted tokens; "" means "https://api.authtest.example"
	Algorithm jwa.SignatureAlgorithm // signing algorithm; "" means RS256 (ES256, ES384, ES512, EdDSA, PS256 also work)
}

// NewIssuer returns an issuer with a fresh signing key.
func NewIssuer(opts IssuerOptions) (*Issuer, error) {
	if opts.URL == "" {
		return nil, errors.New("authtest: issuer URL is required")
	}
	if opts.Audience == "" {
		opts.Audience = "https://api.authtest.example"
	}
	is, err := issuer.New(issuer.Options(opts))
	if err != nil {
		return nil, err
	}
	return &Issuer{URL: is.URL(), Audience: is.Audience(), iss: is}, nil
}

// NewServer starts an issuer on a loopback HTTP server (plain http is
// accepted for loopback issuers) and stops it when the test ends.
func NewServer(t TB, opts ...IssuerOptions) *Issuer {
	t.Helper()
	var o IssuerOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	srv := httptest.NewUnstartedServer(nil)
	o.URL = "http://" + srv.Listener.Addr().String() + "/"
	is, err := NewIssuer(o)
	if err != nil {
		srv.Close()
		t.Fatalf("authtest: %v", err)
	}
	srv.Config.Handler = is.Handler()
	srv.Start()
	is.closeServer = srv.Close
	t.Cleanup(srv.Close)
	return is
}

// JWKSURL is the URL of the issuer's key set.
func (is *Issuer) JWKSURL() string { return is.iss.JWKSURL() }

// NewKey is issuer.NewKey: a private signing key for alg with a random kid,
// for tests that sign with a key the issuer never published.
func NewKey(alg jwa.SignatureAlgorithm) (jwk.Key, error) { return issuer.NewKey(alg) }

// ReplacementKey returns a new private key for alg under kid, and the JSON
// key set publishing it alone, for SetBody: the issuer replacing a key
// under the same kid (after a compromise, say).
func ReplacementKey(alg jwa.SignatureAlgorithm, kid string) (jwk.Key, []byte, error) {
	key, err := issuer.NewKey(alg)
	if err != nil {
		return nil, nil, err
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(set)
	return key, body, err
}

// SigningKey returns the private key that currently signs tokens.
func (is *Issuer) SigningKey() jwk.Key { return is.iss.SigningKey() }

// Rotate makes a new key the signing key. With keepOld the previous keys stay
// published (a graceful rotation); without, only the new key is.
func (is *Issuer) Rotate(keepOld bool) (jwk.Key, error) { return is.iss.Rotate(keepOld) }

// PublicJWKS returns the JSON key set the issuer publishes.
func (is *Issuer) PublicJWKS() ([]byte, error) { return is.iss.PublicJWKS() }

// SetDown makes the JWKS endpoint answer 503 (true) or work again (false).
func (is *Issuer) SetDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.status = 0
	if down {
		is.status = http.StatusServiceUnavailable
	}
}

// SetBody makes the JWKS endpoint answer body with 200 instead of the real
// key set (garbage, oversized, unusable keys); nil restores the real set.
func (is *Issuer) SetBody(body []byte) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.body = body
}

// SetCacheControl sets the Cache-Control header of JWKS responses.
func (is *Issuer) SetCacheControl(v string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.cacheCtl = v
}

// SetDelay makes the JWKS endpoint wait d before answering.
func (is *Issuer) SetDelay(d time.Duration) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.delay = d
}

// JWKSRequests counts the requests the JWKS endpoint has received.
func (is *Issuer) JWKSRequests() int64 { return is.jwksHits.Load() }

// Close stops the issuer's server, if NewServer started one, so that its
// address refuses connections.
func (is *Issuer) Close() {
	if is.closeServer != nil {
		is.closeServer()
	}
}

// Handler serves the key set at /.well-known/jwks.json, where a client
// derives it from the issuer URL (the path prefix of URL is stripped first).
func (is *Issuer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/"+JWKSPath) || r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		is.ServeJWKS(w, r)
	})
}

// ServeJWKS answers with the key set (or the misbehaviour set up for it).
func (is *Issuer) ServeJWKS(w http.ResponseWriter, r *http.Request) {
	is.jwksHits.Add(1)
	is.mu.Lock()
	status, body, cacheCtl, delay := is.status, is.body, is.cacheCtl, is.delay
	is.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if body == nil {
		var err error
		if body, err = is.PublicJWKS(); err != nil {
			http.Error(w, "key set unavailable", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if cacheCtl != "" {
		w.Header().Set("Cache-Control", cacheCtl)
	}
	_, _ = w.Write(body)
}

// Sign signs payload with the given private key and protected headers; alg
// and kid come from the key unless headers set them, and a nil value
// removes a header. Attack tests use it to build tokens no real issuer
// would.
func Sign(payload []byte, key jwk.Key, headers map[string]any) (string, error) {
	hdr := jws.NewHeaders()
	alg := jwa.SignatureAlgorithm(key.Algorithm().String())
	for name, v := range map[string]any{jws.KeyIDKey: key.KeyID(), jws.TypeKey: "JWT"} {
		if err := hdr.Set(name, v); err != nil {
			return "", err
		}
	}
	for name, v := range headers {
		if name == jws.AlgorithmKey {
			alg = jwa.SignatureAlgorithm(fmt.Sprint(v))
			continue
		}
		if v == nil {
			_ = hdr.Remove(name)
			continue
		}
		if err := hdr.Set(name, v); err != nil {
			return "", fmt.Errorf("authtest: header %q: %w", name, err)
		}
	}
	// Sign with the raw key: given a jwk.Key, jws would copy the key's own
	// kid over the header, and tests that forge a kid would test nothing.
	var raw any
	if err := key.Raw(&raw); err != nil {
		return "", fmt.Errorf("authtest: key: %w", err)
	}
	signed, err := jws.Sign(payload, jws.WithKey(alg, raw, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("authtest: signing: %w", err)
	}
	return string(signed), nil
}
