// Package api is the server's REST surface: the handlers of the routes of
// the samples this server grew from, so that their existing clients work
// unchanged (the Flask API quickstart's /api/public, /api/private and
// /api/private-scoped, and the hello-world API sample's
// /api/messages/{public,protected,admin}), and, in errors.go, the one
// writer of every JSON body the server sends that is not GraphQL. routes.go
// at the root mounts the handlers.
//
// Everything answers JSON, errors, 404 and 405 included. Access is decided
// by authz.Require, with the one rule (authz.Decide) GraphQL fields are
// decided by.
package api

import (
	"net/http"

	"github.com/authgql/server/authz"
)

// Scopes the routes require.
const (
	ScopeReadMessages      = "read:messages"
	ScopeReadAdminMessages = "read:admin-messages"
)

// Scopes lists the scopes the routes require.
func Scopes() []string { return []string{ScopeReadMessages, ScopeReadAdminMessages} }

// Reply answers 200 with body as JSON.
func Reply(body any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, body)
	})
}

// Require answers 200 with body as JSON once the request meets need
// (authz.Require), and refuses through onError (WriteError, or a wrapper
// that also counts refusals) otherwise: 401 without a token, 403
// insufficient_scope with RFC 6750's scope attribute without the scopes.
// It decides from the claims that authentication put in the context: wrap
// it in auth.Middleware, with the same onError as OnError.
func Require(need authz.Requirement, body any, onError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authz.Require(r.Context(), need); err != nil {
			onError(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, body)
	})
}

// GetOnly passes GET and HEAD requests to h and answers any other method
// with MethodNotAllowed, before h (and so before authentication) runs.
func GetOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			MethodNotAllowed(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
