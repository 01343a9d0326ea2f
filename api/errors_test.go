package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/api"
	"github.com/authgql/server/auth"
)

// TestWriteError: every kind of refusal becomes the same JSON shape, with
// its status and headers, and nothing of an internal error's text.
func TestWriteError(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		write      func(http.ResponseWriter, *http.Request)
		status     int
		body       map[string]string
		header     map[string]string
	}{
		{"auth error on a hello-world route", "/api/messages/admin", func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, r, &auth.Error{Reason: auth.ReasonInsufficientScope, RequiredScopes: [][]string{{"read:x"}}})
		}, 403, map[string]string{"code": "insufficient_scope", "description": `You don't have access to this resource: it requires the scope "read:x"`, "message": "Permission denied"},
			map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope", scope="read:x"`}},
		{"auth error elsewhere", "/api/private", func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, r, &auth.Error{Reason: auth.ReasonTokenExpired, Err: errors.New(`"exp" not satisfied`)})
		}, 401, map[string]string{"code": "token_expired", "description": "token is expired"},
			map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
		{"api error", "/dev/token", func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, r, &api.Error{Status: 400, Code: "invalid_request", Description: "expires_in is wrong"})
		}, 400, map[string]string{"code": "invalid_request", "description": "expires_in is wrong"}, nil},
		{"internal error", "/api/messages/public", func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, r, errors.New("pq: password authentication failed for admin"))
		}, 500, map[string]string{"code": "internal_error", "description": "internal server error", "message": "Internal Server Error"}, nil},
		{"not found", "/api/messages/nope", api.NotFound,
			404, map[string]string{"code": "not_found", "description": "No route for /api/messages/nope", "message": "Not Found"}, nil},
		{"method not allowed", "/api/public", api.MethodNotAllowed,
			405, map[string]string{"code": "method_not_allowed", "description": "DELETE is not allowed here; use GET"}, map[string]string{"Allow": "GET, HEAD"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			method := http.MethodGet
			if tt.status == http.StatusMethodNotAllowed {
				method = http.MethodDelete
			}
			tt.write(rec, httptest.NewRequest(method, tt.path, nil))
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tt.status {
				t.Errorf("status = %d; want %d", rec.Code, tt.status)
			}
			if diff := cmp.Diff(tt.body, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			want := map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
			for k, v := range tt.header {
				want[k] = v
			}
			for k, v := range want {
				if g := rec.Header().Get(k); g != v {
					t.Errorf("%s = %q; want %q", k, g, v)
				}
			}
		})
	}
}

// TestNotFoundBounded: a 404 names the path, but no more than its start,
// however long the path a client sends.
func TestNotFoundBounded(t *testing.T) {
	long := "/api/" + strings.Repeat("a", 500_000)
	rec := httptest.NewRecorder()
	api.NotFound(rec, httptest.NewRequest(http.MethodGet, long, nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusNotFound {
		t.Fatalf("404 = %d %s", rec.Code, rec.Body)
	}
	if rec.Body.Len() > 300 || !strings.HasPrefix(body["description"], "No route for /api/aaa") {
		t.Errorf("404 for a %d-byte path has a %d-byte body: %.80s", len(long), rec.Body.Len(), rec.Body)
	}
}
