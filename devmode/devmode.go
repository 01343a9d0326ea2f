// Package devmode runs an issuer inside the server when none is configured,
// so that `go run .` works with nothing else installed: it publishes its
// JWKS on the server itself, prints a ready token, and mints fresh ones on
// request. Its signing key is generated at start and lives in memory only.
//
// It also tells the playground who may read what (Authz, at AuthzPath):
// the schema's authorization matrix and the current token's decision on
// every field.
//
// None of it exists in production mode: the server (routes.go) mounts
// JWKS, Token and Authz only when no issuer is configured, and development
// mode binds loopback addresses only. The issuer itself is package issuer.
package devmode

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgql/server/api"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/issuer"
)

// Token lifetimes.
const (
	BannerTokenLifetime = 24 * time.Hour // the token printed at start
	DefaultLifetime     = time.Hour      // GET /dev/token without expires_in
	MaxLifetime         = 24 * time.Hour
)

// Bounds on the scopes GET /dev/token grants, so that every token it mints
// is one the server accepts (far below its credentials cap) and every
// scope a scope-token.
const (
	MaxScopes     = 100 // scopes in one token
	maxScopeBytes = 200 // bytes of one scope
)

// The paths development mode serves.
const (
	JWKSPath  = "/" + issuer.JWKSPath // the issuer's key set, where a key cache looks for it
	TokenPath = "/dev/token"          // where a developer gets a fresh token
)

// DefaultAudience is the "aud" of development tokens unless AUTH0_AUDIENCE
// says otherwise.
const DefaultAudience = "https://graphql-api.dev.local"

// Subject is the "sub" of development tokens.
const Subject = "dev|developer"

// Issuer is the embedded development issuer.
type Issuer struct {
	issuer *issuer.Issuer
	scopes []string
	policy *authz.Policy
}

// New returns an issuer identified by baseURL (the server's own URL, with a
// trailing slash) for tokens with audience aud. scopes are the scopes a
// token gets when the developer asks for none: all the API uses. policy is
// the schema's, which Authz shows.
func New(baseURL, aud string, scopes []string, policy *authz.Policy) (*Issuer, error) {
	is, err := issuer.New(issuer.Options{URL: baseURL, Audience: aud})
	if err != nil {
		return nil, err
	}
	return &Issuer{issuer: is, scopes: scopes, policy: policy}, nil
}

// URL is the issuer identifier ("iss").
func (d *Issuer) URL() string { return d.issuer.URL() }

// Scopes are every scope the API uses: what a token gets unless asked for
// fewer.
func (d *Issuer) Scopes() []string { return d.scopes }

// JWKSURL is where the issuer's keys are published.
func (d *Issuer) JWKSURL() string { return d.issuer.JWKSURL() }

// Mint returns a token granting scopes.
func (d *Issuer) Mint(scopes []string, lifetime time.Duration) (string, error) {
	return d.issuer.AccessToken(Subject, scopes, lifetime)
}

// JWKS serves the issuer's public keys (mount it at GET JWKSPath), so that
// the server's own key cache fetches them as it would an Auth0 tenant's.
func (d *Issuer) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := d.issuer.PublicJWKS()
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// Token serves fresh tokens to loopback clients (mount it at GET
// TokenPath).
func (d *Issuer) Token() http.Handler { return loopbackOnly(http.HandlerFunc(d.serveToken)) }

// serveToken answers GET /dev/token?scope=a+b&expires_in=3600 like an OAuth
// token endpoint would: {"access_token", "token_type", "expires_in", "scope"}.
func (d *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := d.scopes // no scope parameter: every scope; an empty one: none
	if q.Has("scope") {
		scopes = strings.Fields(q.Get("scope"))
		if len(scopes) > MaxScopes || slices.ContainsFunc(scopes, func(s string) bool { return len(s) > maxScopeBytes || !authz.ValidScope(s) }) {
			api.WriteError(w, r, &api.Error{Status: http.StatusBadRequest, Code: "invalid_scope",
				Description: fmt.Sprintf("scope must be at most %d space-separated scope-tokens (RFC 6749 section 3.3: printable ASCII but '\"' and '\\'), each at most %d bytes", MaxScopes, maxScopeBytes)})
			return
		}
	}
	lifetime := DefaultLifetime
	if s := q.Get("expires_in"); s != "" {
		secs, err := strconv.Atoi(s)
		if err != nil || secs < 1 || time.Duration(secs)*time.Second > MaxLifetime {
			api.WriteError(w, r, &api.Error{Status: http.StatusBadRequest, Code: "invalid_request",
				Description: fmt.Sprintf("expires_in must be a number of seconds from 1 to %d", int(MaxLifetime/time.Second))})
			return
		}
		lifetime = time.Duration(secs) * time.Second
	}
	tok, err := d.Mint(scopes, lifetime)
	if err != nil {
		api.WriteError(w, r, &api.Error{Status: http.StatusInternalServerError, Code: "internal_error", Description: "could not mint a token"})
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(lifetime / time.Second),
		"scope":        strings.Join(scopes, " "),
	})
}

// loopbackOnly refuses requests whose Host is not a loopback name: the
// server listens on loopback already, and this also stops a web page that
// rebinds its own DNS name to 127.0.0.1 from collecting tokens.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if name, _, err := net.SplitHostPort(host); err == nil {
			host = name
		}
		host = strings.Trim(host, "[]")
		ip, err := netip.ParseAddr(host)
		if !strings.EqualFold(host, "localhost") && (err != nil || !ip.IsLoopback()) {
			api.WriteError(w, r, &api.Error{Status: http.StatusForbidden, Code: "forbidden", Description: "development tokens are served to localhost only"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// PrintBanner tells the developer, loudly, that this is development mode,
// and gives a token and a curl line that work as printed.
func PrintBanner(w io.Writer, baseURL, audience, token string) {
	u, _ := url.Parse(baseURL)
	gql := u.JoinPath("graphql").String()
	fmt.Fprintf(w, `
================================ DEVELOPMENT MODE ================================
No issuer is configured (AUTH0_DOMAIN / AUTH0_ISSUER_URL), so this server runs its
own issuer with a throwaway key. Tokens it mints are worthless anywhere else.
Do not use development mode in production: it binds loopback only.

  Playground:  %[1]s
  Issuer:      %[1]s   (audience %[2]s)
  New token:   curl -s '%[3]s?scope=read:messages'

Access token (valid %[4]s; all scopes):

%[5]s

Try it:

curl -s %[6]s -H 'Content-Type: application/json' -H 'Authorization: Bearer %[5]s' -d '{"query":"{ publicMessage { text } privateMessage { text } scopedMessage { text } }"}'
===================================================================================

`, baseURL, audience, u.JoinPath(TokenPath).String(), BannerTokenLifetime, token, gql)
}
