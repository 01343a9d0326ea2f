package devmode

import (
	"net/http"
	"time"

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// AuthzPath is where the playground reads the authorization matrix and
// what the current token may read.
const AuthzPath = "/dev/authz"

// authzReport is the body of AuthzPath: the caller's token as the server
// verified it (null when anonymous), and the matrix with, for every field,
// whether that token may read it.
type authzReport struct {
	Token *tokenInfo   `json:"token"`
	Types []reportType `json:"types"`
}

type tokenInfo struct {
	Subject   string    `json:"sub"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expiresAt"` // RFC 3339
}

type reportType struct {
	Name       string        `json:"name"`
	Kind       string        `json:"kind"`
	Interfaces []string      `json:"interfaces,omitempty"`
	Fields     []reportField `json:"fields"`
}

type reportField struct {
	Name        string            `json:"name"`
	Requirement authz.Requirement `json:"requirement"`
	// Allowed says whether the token may read the field; Code, when it
	// may not, is the extensions.code a query would get (UNAUTHENTICATED,
	// FORBIDDEN).
	Allowed bool   `json:"allowed"`
	Code    string `json:"code,omitempty"`
}

// Authz serves the authorization matrix of the server's policy (mount it at GET
// AuthzPath behind auth.Middleware, with api.WriteError as OnError) with
// the decision for the request's token on every field, made by
// authz.Decide as a query's would be: {"token": {"sub", "scopes",
// "expiresAt"} or null, "types": [{"name", "kind", "interfaces",
// "fields": [{"name", "requirement", "allowed", "code"}]}]}. The token
// travels in the Authorization header, never in the URL; its claims are
// the verified ones, not a client-side decoding. Loopback clients only,
// as for tokens.
func (d *Issuer) Authz() http.Handler {
	return loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := auth.FromContext(r.Context())
		now := time.Now()
		report := authzReport{Types: []reportType{}}
		if claims != nil {
			report.Token = &tokenInfo{Subject: claims.Subject, Scopes: claims.Scopes, ExpiresAt: claims.ExpiresAt.UTC()}
			if report.Token.Scopes == nil {
				report.Token.Scopes = []string{}
			}
		}
		for _, t := range d.policy.Matrix().Types {
			rt := reportType{Name: t.Name, Kind: t.Kind, Interfaces: t.Interfaces, Fields: make([]reportField, len(t.Fields))}
			for i, f := range t.Fields {
				rf := reportField{Name: f.Name, Requirement: f.Requirement, Allowed: true}
				if err := authz.Decide(f.Requirement, claims, now); err != nil {
					rf.Allowed, rf.Code = false, auth.Describe(err).GraphQLCode
				}
				rt.Fields[i] = rf
			}
			report.Types = append(report.Types, rt)
		}
		api.WriteJSON(w, http.StatusOK, report)
	}))
}
