// Package jsonhttp writes the JSON responses of the non-GraphQL routes, so
// that every one of them has the same headers.
package jsonhttp

import (
	"encoding/json"
	"net/http"
)

// Write sends body as JSON with status. Responses are never cached: they
// answer to a token, or say something about the server's state.
func Write(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
