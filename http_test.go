package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "SUBSCRIPTION_NEEDS_WEBSOCKET") {
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
