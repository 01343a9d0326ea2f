package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestCORS: origins come from CLIENT_ORIGIN_URL; Authorization and
// Content-Type are allowed; preflight is answered before authentication.
func TestCORS(t *testing.T) {
	ts := startServer(t, map[string]string{"CLIENT_ORIGIN_URL": "https://app.example.com, http://localhost:4040"})
	preflight := func(origin, path string) response {
		return do(t, http.MethodOptions, ts.URL+path, "", map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "authorization, content-type",
		})
	}
	for _, path := range []string{"graphql", "api/private-scoped", "api/messages/admin"} {
		r := preflight("https://app.example.com", path)
		if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("preflight %s from an allowed origin = %d, ACAO %q", path, r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
		if h := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "authorization") || !strings.Contains(h, "content-type") {
			t.Errorf("preflight %s allows headers %q", path, h)
		}
		if r.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("preflight %s went through authentication", path)
		}
		r = preflight("https://evil.example", path)
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s from a foreign origin allowed", path)
		}
	}
	r := do(t, http.MethodPost, ts.URL+"graphql", `{"query":"{ privateMessage { text } }"}`, map[string]string{
		"Origin": "http://localhost:4040", "Authorization": bearer(ts.Issuer.Token(t))})
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:4040" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("actual request: ACAO %q, credentials %q", r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Allow-Credentials"))
	}
	// A refusal also carries CORS headers, so the browser lets the client read the 401.
	r = do(t, http.MethodGet, ts.URL+"api/private", "", map[string]string{"Origin": "http://localhost:4040"})
	if r.Status != http.StatusUnauthorized || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:4040" {
		t.Errorf("401 to an allowed origin: %d, ACAO %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestGraphQLTransports: GET serves queries (not mutations), POST needs
// JSON, and bodies gqlgen would echo back are refused first.
func TestGraphQLTransports(t *testing.T) {
	ts := startServer(t, nil)
	tok := bearer(ts.Issuer.Token(t, tokenScope("read:messages", "write:messages")...))

	r := do(t, http.MethodGet, ts.URL+"graphql?query="+url.QueryEscape(`{ scopedMessage { text } }`), "", map[string]string{"Authorization": tok})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), "read:messages to see this") {
		t.Errorf("GET query: %s", r.Body)
	}
	r = do(t, http.MethodGet, ts.URL+"graphql?query="+url.QueryEscape(`mutation { sendMessage(text: "x") { id } }`), "", map[string]string{"Authorization": tok})
	if r.Status == http.StatusOK && !strings.Contains(string(r.Body), `"errors"`) {
		t.Errorf("GET ran a mutation: %d %s", r.Status, r.Body)
	}
	r = do(t, http.MethodPost, ts.URL+"graphql", `{"query":"subscription { messageSent { text } }"}`, map[string]string{"Authorization": tok})
	if r.Status != statusRequestError || !strings.Contains(string(r.Body), "SUBSCRIPTION_NEEDS_WEBSOCKET") {
		t.Errorf("subscription over POST: %d %s", r.Status, r.Body)
	}
	r = do(t, http.MethodPost, ts.URL+"graphql", `{"query": <script>`, nil)
	wantStatus(t, r, http.StatusBadRequest)
	if strings.Contains(string(r.Body), "script") || !strings.Contains(string(r.Body), `"BAD_REQUEST"`) {
		t.Errorf("invalid JSON answered %s", r.Body)
	}
	r = do(t, http.MethodPost, ts.URL+"graphql", `{"query":"{ publicMessage { text } }"}`, map[string]string{"Content-Type": "text/plain"})
	if r.Status == http.StatusOK {
		t.Errorf("a text/plain POST (a cross-site form can send one) was executed: %s", r.Body)
	}
}

// TestServerTimeouts: READ_HEADER_TIMEOUT, READ_TIMEOUT and IDLE_TIMEOUT
// each close a connection that holds the server up, so a slow or idle
// client cannot keep sockets forever.
func TestServerTimeouts(t *testing.T) {
	ts := startServer(t, map[string]string{"READ_HEADER_TIMEOUT": "300ms", "READ_TIMEOUT": "600ms", "IDLE_TIMEOUT": "300ms"})
	addr := strings.TrimSuffix(strings.TrimPrefix(ts.URL, "http://"), "/")

	// closedWithin sends req and reports what the server answered before
	// closing the connection, failing if it is still open after limit.
	closedWithin := func(t *testing.T, req string, limit time.Duration) string {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(limit))
		got, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %s; read so far: %q", limit, got)
		}
		return string(got)
	}

	t.Run("headers never finished", func(t *testing.T) {
		closedWithin(t, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 3*time.Second)
	})
	t.Run("body never sent", func(t *testing.T) {
		got := closedWithin(t, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", 3*time.Second)
		if strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Errorf("a request whose body never came was served: %q", got)
		}
	})
	t.Run("idle keep-alive connection", func(t *testing.T) {
		got := closedWithin(t, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Errorf("the request itself was not served: %q", got)
		}
	})
}

// TestComplexityLimit: GRAPHQL_MAX_COMPLEXITY refuses a costly operation
// before it runs, with its own code.
func TestComplexityLimit(t *testing.T) {
	ts := startServer(t, map[string]string{"GRAPHQL_MAX_COMPLEXITY": "4"})
	wantStatus(t, ts.graphQL(t, `{ publicMessage { text } }`, ""), http.StatusOK)
	r := ts.graphQL(t, `{ a: publicMessage { text id } b: publicMessage { text id } }`, "")
	wantStatus(t, r, statusRequestError)
	if !strings.Contains(string(r.Body), `"COMPLEXITY_LIMIT_EXCEEDED"`) || strings.Contains(string(r.Body), `"data":{`) {
		t.Errorf("complexity refusal: %s", r.Body)
	}
}
