package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/auth/authtest"
)

// TestRESTRoutes covers the REST part of SPEC.md's Responses section for
// every route: success bodies and texts, every failure code, the
// hello-world "message", and the WWW-Authenticate header on every 401/403.
func TestRESTRoutes(t *testing.T) {
	ts := startServer(t, nil)
	is := ts.Issuer
	noScope := bearer(is.Token(t))
	readMessages := bearer(is.Token(t, authtest.Scope("read:messages")))
	admin := bearer(is.Token(t, authtest.Permissions("read:admin-messages")))
	expired := bearer(is.Token(t, authtest.ExpiresAt(time.Now().Add(-time.Hour))))
	wrongAud := bearer(is.Token(t, authtest.Audience("https://other.example")))

	const (
		public    = "Hello from a public endpoint! You don't need to be authenticated to see this."
		private   = "Hello from a private endpoint! You need to be authenticated to see this."
		scoped    = "Hello from a private endpoint! You need to be authenticated and have a scope of read:messages to see this."
		helloPub  = "This is a public message."
		helloProt = "This is a protected message."
		helloAdm  = "This is an admin message."
	)
	type row struct {
		path, authorization string
		status              int
		body                map[string]string // exact, except "description" is only checked to be non-empty
		challenge           string
	}
	fail := func(code string) map[string]string { return map[string]string{"code": code} }
	hello := func(code, msg string) map[string]string { return map[string]string{"code": code, "message": msg} }
	rows := []row{
		{"/api/public", "", 200, map[string]string{"message": public}, ""},
		{"/api/public", "Bearer garbage", 200, map[string]string{"message": public}, ""},
		{"/api/private", noScope, 200, map[string]string{"message": private}, ""},
		{"/api/private", "", 401, fail("authorization_header_missing"), "Bearer"},
		{"/api/private", "Basic abc", 401, fail("invalid_header"), `Bearer error="invalid_request"`},
		{"/api/private", "Bearer", 401, fail("invalid_header"), `Bearer error="invalid_request"`},
		{"/api/private", "Bearer a b", 401, fail("invalid_header"), `Bearer error="invalid_request"`},
		{"/api/private", "Bearer not.a.jwt", 401, fail("invalid_token"), `Bearer error="invalid_token"`},
		{"/api/private", expired, 401, fail("token_expired"), `Bearer error="invalid_token"`},
		{"/api/private", wrongAud, 401, fail("invalid_claims"), `Bearer error="invalid_token"`},
		{"/api/private-scoped", readMessages, 200, map[string]string{"message": scoped}, ""},
		{"/api/private-scoped", noScope, 403, fail("insufficient_scope"), `Bearer error="insufficient_scope", scope="read:messages"`},
		{"/api/private-scoped", "", 401, fail("authorization_header_missing"), "Bearer"},
		{"/api/messages/public", "", 200, map[string]string{"text": helloPub}, ""},
		{"/api/messages/protected", noScope, 200, map[string]string{"text": helloProt}, ""},
		{"/api/messages/protected", "", 401, hello("authorization_header_missing", "Requires authentication"), "Bearer"},
		{"/api/messages/protected", "Bearer not.a.jwt", 401, hello("invalid_token", "Bad credentials"), `Bearer error="invalid_token"`},
		{"/api/messages/protected", "Token x", 401, hello("invalid_header", "Bad credentials"), `Bearer error="invalid_request"`},
		{"/api/messages/protected", expired, 401, hello("token_expired", "Bad credentials"), `Bearer error="invalid_token"`},
		{"/api/messages/admin", admin, 200, map[string]string{"text": helloAdm}, ""},
		{"/api/messages/admin", readMessages, 403, hello("insufficient_scope", "Permission denied"), `Bearer error="insufficient_scope", scope="read:admin-messages"`},
		{"/api/messages/admin", wrongAud, 401, hello("invalid_claims", "Bad credentials"), `Bearer error="invalid_token"`},
	}
	for _, tt := range rows {
		t.Run(tt.path+" "+shorten(tt.authorization), func(t *testing.T) {
			r := do(t, http.MethodGet, ts.URL+tt.path[1:], "", map[string]string{"Authorization": tt.authorization})
			checkREST(t, r, tt.status, tt.body)
			if got := r.Header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q; want %q", got, tt.challenge)
			}
		})
	}

	t.Run("404 is JSON", func(t *testing.T) {
		r := do(t, http.MethodGet, ts.URL+"api/nope", "", nil)
		checkREST(t, r, 404, fail("not_found"))
		r = do(t, http.MethodGet, ts.URL+"api/messages/nope", "", nil)
		checkREST(t, r, 404, hello("not_found", "Not Found"))
		// Every other path answers the same way, the playground's included.
		for _, path := range []string{"nope", "playground/nope", "playground/assets/nope.js", "dev/token"} {
			checkREST(t, do(t, http.MethodGet, ts.URL+path, "", nil), 404, fail("not_found"))
		}
	})
	t.Run("405 is JSON", func(t *testing.T) {
		r := do(t, http.MethodPost, ts.URL+"api/private", `{}`, map[string]string{"Authorization": noScope})
		checkREST(t, r, 405, fail("method_not_allowed"))
		if r.Header.Get("Allow") == "" {
			t.Errorf("405 without Allow")
		}
		r = do(t, http.MethodDelete, ts.URL+"api/messages/admin", "", nil)
		checkREST(t, r, 405, hello("method_not_allowed", "Method Not Allowed"))
	})
}

func shorten(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

// TestMethodNotAllowedEverywhere: every route that serves GET answers
// another method with a JSON 405 and Allow, not a 404, in both modes.
func TestMethodNotAllowedEverywhere(t *testing.T) {
	prod := startServer(t, nil)
	dev := runServer(t, map[string]string{"PORT": "0"})
	dev.waitReady(t)
	for _, tt := range []struct {
		ts     *testServer
		method string
		path   string
	}{
		{prod, http.MethodPost, "healthz"},
		{prod, http.MethodDelete, "readyz"},
		{prod, http.MethodPost, ""},
		{prod, http.MethodPut, "playground/"},
		{prod, http.MethodPost, "api/public"},
		{dev, http.MethodPost, "dev/token"},
		{dev, http.MethodPost, "dev/authz"},
		{dev, http.MethodDelete, ".well-known/jwks.json"},
	} {
		r := do(t, tt.method, tt.ts.URL+tt.path, "", nil)
		var body map[string]any
		if r.Status != http.StatusMethodNotAllowed || json.Unmarshal(r.Body, &body) != nil || body["code"] != "method_not_allowed" ||
			!strings.Contains(r.Header.Get("Allow"), "GET") {
			t.Errorf("%s /%s = %d %s (Allow %q); want a JSON 405 with Allow", tt.method, tt.path, r.Status, r.Body, r.Header.Get("Allow"))
		}
	}
}

// TestUncleanPathsAnswerJSON: a path with dot segments or repeated slashes
// gets the JSON 404 of an unknown path, not ServeMux's HTML redirect.
func TestUncleanPathsAnswerJSON(t *testing.T) {
	ts := startServer(t, nil)
	for _, p := range []string{"/api/../api/public", "/api//public", "/./healthz", "//graphql"} {
		// Sent as written: net/http's client does not clean paths.
		r := rawGET(t, ts, p)
		if !strings.HasPrefix(r, "HTTP/1.1 404") || !strings.Contains(r, `"code":"not_found"`) || !strings.Contains(r, "application/json") {
			t.Errorf("GET %s = %.200q; want a JSON 404", p, r)
		}
	}
	if r := rawGET(t, ts, "/api/public"); !strings.HasPrefix(r, "HTTP/1.1 200") {
		t.Errorf("GET /api/public = %.100q", r)
	}
}

// rawGET sends GET path exactly as written and returns the raw response.
func rawGET(t *testing.T, ts *testServer, path string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimSuffix(strings.TrimPrefix(ts.URL, "http://"), "/"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
	b, _ := io.ReadAll(conn)
	return string(b)
}
