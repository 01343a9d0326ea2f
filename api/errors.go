package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/authgql/server/auth"
)

// This file writes every JSON body the server sends that is not GraphQL:
// the REST routes' answers and refusals, 404 and 405 on any path, a
// recovered panic, the health routes, development mode's routes and the
// playground's refusals. Package graph writes the GraphQL ones.

// WriteJSON sends body as JSON with status. Responses are never cached:
// they answer to a token, or say something about the server's state.
func WriteJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Error is a refusal that has nothing to do with a token, shown to the
// client as it is: Status, and Code and Description in the body.
type Error struct {
	Status      int    // HTTP status
	Code        string // "code", snake_case like auth's reasons
	Description string // client-safe "description"
}

func (e *Error) Error() string { return "api: " + e.Code + ": " + e.Description }

// WriteError answers a refused or failed request with
// {"code", "description"}, plus the hello-world sample's "message" on its
// routes (/api/messages/*):
//   - an *auth.Error with the status, headers (WWW-Authenticate,
//     Retry-After) and texts of auth.Describe, its Reason as the code;
//   - an *Error as it says, with the status text as "message";
//   - anything else as 500 internal_error with a generic text, whatever err
//     says.
//
// It is the OnError of auth.Middleware on REST routes.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var status int
	var code, description, message string
	var apiErr *Error
	if errors.As(err, &apiErr) {
		status, code, description, message = apiErr.Status, apiErr.Code, apiErr.Description, http.StatusText(apiErr.Status)
	} else {
		resp := auth.Describe(err)
		status, code, description, message = resp.Status, "internal_error", resp.Description, resp.Message
		var authErr *auth.Error
		if errors.As(err, &authErr) {
			code = string(authErr.Reason)
		}
		auth.SetHeaders(w.Header(), err)
	}
	body := map[string]string{"code": code, "description": description}
	if strings.HasPrefix(r.URL.Path, "/api/messages/") {
		body["message"] = message
	}
	WriteJSON(w, status, body)
}

// maxEchoedPath bounds how much of a request's path a 404 repeats, so
// that no answer grows with what a client sends.
const maxEchoedPath = 100

// NotFound answers a request for a path no route serves: 404 not_found,
// naming the path (its first maxEchoedPath bytes).
func NotFound(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if len(path) > maxEchoedPath {
		path = strings.ToValidUTF8(path[:maxEchoedPath], "") + "…"
	}
	WriteError(w, r, &Error{Status: http.StatusNotFound, Code: "not_found", Description: "No route for " + path})
}

// MethodNotAllowed answers a request whose method is not GET or HEAD on a
// route that serves only those: 405 method_not_allowed, with Allow (the
// mux's own 405 is plain text).
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	WriteError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Description: r.Method + " is not allowed here; use GET"})
}
