// Package api serves the REST routes of the samples this server grew from,
// so that their existing clients work unchanged: the Flask API quickstart's
// /api/public, /api/private and /api/private-scoped, and the hello-world API
// sample's /api/messages/{public,protected,admin}.
//
// Everything under /api/ answers JSON, errors, 404 and 405 included. Access
// is decided by auth.Require, the same check the GraphQL directives use.
package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/jsonhttp"
	"github.com/authgql/server/messages"
)

// Scopes the routes require.
const (
	ScopeReadMessages      = "read:messages"
	ScopeReadAdminMessages = "read:admin-messages"
)

// Scopes lists the scopes the routes require.
func Scopes() []string { return []string{ScopeReadMessages, ScopeReadAdminMessages} }

// Register adds the routes to mux. authn authenticates the request (see
// auth.Middleware, with WriteError as its OnError); public routes skip it,
// as in the samples, so a stale token never breaks them.
func Register(mux *http.ServeMux, authn func(http.Handler) http.Handler) {
	guarded := func(scope string, body any) http.Handler { return authn(require(scope, body)) }

	mux.Handle("/api/public", get(reply(map[string]string{"message": messages.Public})))
	mux.Handle("/api/private", get(guarded("", map[string]string{"message": messages.Private})))
	mux.Handle("/api/private-scoped", get(guarded(ScopeReadMessages, map[string]string{"message": messages.Scoped})))

	mux.Handle("/api/messages/public", get(reply(map[string]string{"text": messages.HelloPublic})))
	mux.Handle("/api/messages/protected", get(guarded("", map[string]string{"text": messages.HelloProtected})))
	mux.Handle("/api/messages/admin", get(guarded(ScopeReadAdminMessages, map[string]string{"text": messages.HelloAdmin})))

	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jsonhttp.Write(w, http.StatusNotFound, problem(r, "not_found", "No route for "+r.URL.Path, "Not Found"))
	}))
}

func reply(body any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, body)
	})
}

func require(scope string, body any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := auth.Require(r.Context(), scope); err != nil {
			WriteError(w, r, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, body)
	})
}

// get answers 405 in JSON, with Allow, to anything but GET and HEAD: the
// mux's own 405 is plain text.
func get(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			jsonhttp.Write(w, http.StatusMethodNotAllowed, problem(r, "method_not_allowed", r.Method+" is not allowed here; use GET", "Method Not Allowed"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// WriteError answers a refused or failed request: the status, headers and
// description from auth.Describe, as {"code", "description"}, plus the
// hello-world sample's "message" on its routes.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	resp := auth.Describe(err)
	code := "internal_error"
	var authErr *auth.Error
	if errors.As(err, &authErr) {
		code = string(authErr.Reason)
	}
	auth.SetHeaders(w.Header(), err)
	jsonhttp.Write(w, resp.Status, problem(r, code, resp.Description, resp.Message))
}

func problem(r *http.Request, code, description, message string) map[string]string {
	body := map[string]string{"code": code, "description": description}
	if strings.HasPrefix(r.URL.Path, "/api/messages/") {
		body["message"] = message
	}
	return body
}
