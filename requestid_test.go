package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/requestid"
)

// generatedID is an ID the server made: 16 random bytes in hex.
var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestRequestID: every response carries X-Request-ID, whatever answered
// it (a route, a refusal, a 404 or 405, a preflight, a WebSocket upgrade):
// the client's when it is sane, else a fresh one. Every line logged about
// a request carries it as request_id.
func TestRequestID(t *testing.T) {
	ts := startServer(t, map[string]string{"LOG_LEVEL": "debug", "CLIENT_ORIGIN_URL": "https://app.example"})
	for _, tt := range []struct {
		name, method, path string
		header             map[string]string
		status             int
	}{
		{"public route", http.MethodGet, "api/public", nil, http.StatusOK},
		{"refused", http.MethodGet, "api/private", nil, http.StatusUnauthorized},
		{"invalid token on GraphQL", http.MethodPost, "graphql", map[string]string{"Authorization": "Bearer x.y.z"}, http.StatusUnauthorized},
		{"not found", http.MethodGet, "no/such/path", nil, http.StatusNotFound},
		{"method not allowed", http.MethodPost, "api/public", nil, http.StatusMethodNotAllowed},
		{"readiness", http.MethodGet, "readyz", nil, http.StatusOK},
		{"preflight", http.MethodOptions, "graphql", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-request-id, authorization"}, http.StatusNoContent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for sent, want := range map[string]string{
				"":                                     "",
				"client-id-1":                          "client-id-1",
				"550e8400-e29b-41d4-a716-446655440000": "550e8400-e29b-41d4-a716-446655440000",
				"two words":                            "",
				strings.Repeat("a", 129):               "",
				"a,b":                                  "",
			} {
				h := map[string]string{requestid.Header: sent}
				for k, v := range tt.header {
					h[k] = v
				}
				r := do(t, tt.method, ts.URL+tt.path, "", h)
				if r.Status != tt.status {
					t.Fatalf("status %d; want %d", r.Status, tt.status)
				}
				got := r.Header.Get(requestid.Header)
				switch {
				case want == "" && !generatedID.MatchString(got):
					t.Errorf("sent %.20q: %s = %q; want a generated ID", sent, requestid.Header, got)
				case want != "" && got != want:
					t.Errorf("sent %.20q: %s = %q; want %q", sent, requestid.Header, got, want)
				}
			}
		})
	}

	t.Run("websocket upgrade", func(t *testing.T) {
		_, resp, err := dialWS(t, ts, false, http.Header{requestid.Header: {"upgrade-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get(requestid.Header); got != "upgrade-1" {
			t.Errorf("101 Switching Protocols: %s = %q", requestid.Header, got)
		}
	})

	t.Run("CORS", func(t *testing.T) {
		r := do(t, http.MethodOptions, ts.URL+"graphql", "", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-request-id"})
		if !strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "x-request-id") {
			t.Errorf("preflight allows %q; want X-Request-ID among them", r.Header.Get("Access-Control-Allow-Headers"))
		}
		r = do(t, http.MethodGet, ts.URL+"api/private", "", map[string]string{"Origin": "https://app.example"})
		exposed := strings.ToLower(r.Header.Get("Access-Control-Expose-Headers"))
		for _, h := range []string{"x-request-id", "www-authenticate", "retry-after"} {
			if !strings.Contains(exposed, h) {
				t.Errorf("Access-Control-Expose-Headers = %q; want %s among them", exposed, h)
			}
		}
	})

	t.Run("log lines", func(t *testing.T) {
		// Every line logged while these requests are served is about a
		// request (the server is otherwise idle at debug level: a line may
		// still come late from an earlier subtest's connection), so every
		// one must carry a request ID; and each of these requests logs at
		// least one line with its own (a refusal, a refused
		// connection_init, a close).
		before := len(ts.Stderr.String())
		do(t, http.MethodGet, ts.URL+"api/private", "", map[string]string{requestid.Header: "trace-rest", "Authorization": "Bearer not.a.token"})
		do(t, http.MethodPost, ts.URL+"graphql", `{"query":"{ privateMessage { text } }"}`, map[string]string{requestid.Header: "trace-graphql", "Authorization": "Bearer not.a.token", "Content-Type": "application/json"})
		c, _, err := dialWS(t, ts, false, http.Header{requestid.Header: {"trace-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.init(t, map[string]any{"authorization": "Bearer not.a.token"}); closeStatus(err) != 4403 {
			t.Fatalf("connection_init with a bad token: %v; want close 4403", err)
		}
		ids := map[string]int{"trace-rest": 0, "trace-graphql": 0, "trace-ws": 0}
		var lines []string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			lines = slices.Collect(strings.Lines(ts.Stderr.String()[before:]))
			if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "websocket closed") }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no \"websocket closed\" line; stderr since the requests:\n%s", strings.Join(lines, ""))
			}
		}
		for _, line := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			id, _ := rec[requestid.LogKey].(string)
			if id == "" {
				t.Errorf("a line logged while serving the requests has no %s: %s", requestid.LogKey, line)
			}
			if _, ok := ids[id]; ok {
				ids[id]++
			}
		}
		for id, n := range ids {
			if n == 0 {
				t.Errorf("no log line carries %s; stderr since the requests:\n%s", id, strings.Join(lines, ""))
			}
		}
	})
}
