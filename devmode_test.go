package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDevelopmentMode starts the server with nothing configured, as `go run .`
// does, and uses what it prints: the token, and the curl line as printed.
func TestDevelopmentMode(t *testing.T) {
	ts := runServer(t, map[string]string{"PORT": "0"})
	ts.waitReady(t)
	// The banner is printed once the server listens, which may be after
	// it is ready: wait for its last line.
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out = ts.Stdout.String()
		done := strings.Contains(out, "DEVELOPMENT MODE") && strings.HasSuffix(strings.TrimRight(out, "\n"), "=====")
		if done || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(out, "DEVELOPMENT MODE") || !strings.Contains(out, "(development mode)") {
		t.Errorf("start-up does not say development mode loudly:\n%s", out)
	}
	if !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Errorf("development mode listens on %s; want loopback", ts.URL)
	}
	var token, curlLine string
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Access token") && i+2 < len(lines) {
			token = strings.TrimSpace(lines[i+2])
		}
		if strings.HasPrefix(l, "curl -s http") {
			curlLine = l
		}
	}
	if strings.Count(token, ".") != 2 {
		t.Fatalf("no token in the banner:\n%s", out)
	}

	r := ts.graphQL(t, allFields, bearer(token))
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(string(r.Body), `"errors"`) || !strings.Contains(string(r.Body), "You need to be authenticated and have a scope") {
		t.Errorf("the printed token does not read every field: %s", r.Body)
	}

	t.Run("curl line works as printed", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl on this machine")
		}
		got, err := exec.Command("sh", "-c", curlLine).CombinedOutput()
		if err != nil || !strings.Contains(string(got), `"privateMessage":{"text":"Hello from a private endpoint!`) {
			t.Errorf("%s\n=> %v %s", curlLine, err, got)
		}
	})

	t.Run("fresh token with chosen scopes", func(t *testing.T) {
		r := do(t, http.MethodGet, ts.URL+"dev/token?scope=read:messages&expires_in=600", "", nil)
		wantStatus(t, r, http.StatusOK)
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
			Scope       string `json:"scope"`
		}
		if err := json.Unmarshal(r.Body, &tok); err != nil || tok.TokenType != "Bearer" || tok.ExpiresIn != 600 || tok.Scope != "read:messages" {
			t.Fatalf("token response %s (%v)", r.Body, err)
		}
		scoped := do(t, http.MethodGet, ts.URL+"api/private-scoped", "", map[string]string{"Authorization": bearer(tok.AccessToken)})
		wantStatus(t, scoped, http.StatusOK)
		admin := do(t, http.MethodGet, ts.URL+"api/messages/admin", "", map[string]string{"Authorization": bearer(tok.AccessToken)})
		wantStatus(t, admin, http.StatusForbidden)

		r = do(t, http.MethodGet, ts.URL+"dev/token", "", nil)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"scope":"admin delete:messages read:admin-messages read:audit read:messages read:users write:messages"`) {
			t.Errorf("a token asked for with no scope parameter lacks the API's scopes: %s", r.Body)
		}
		r = do(t, http.MethodGet, ts.URL+"dev/token?scope=", "", nil)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"scope":""`) {
			t.Errorf("empty scope request: %s", r.Body)
		}
		r = do(t, http.MethodGet, ts.URL+"dev/token?expires_in=99999999", "", nil)
		wantStatus(t, r, http.StatusBadRequest)
		// Scopes are scope-tokens, and few enough for a token the server
		// accepts.
		for _, bad := range []string{`a%22b`, `a%5Cb`, strings.Repeat("s%20", 101), strings.Repeat("x", 201)} {
			r = do(t, http.MethodGet, ts.URL+"dev/token?scope="+bad, "", nil)
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"invalid_scope"`) {
				t.Errorf("scope=%.40s: %d %.120s; want 400 invalid_scope", bad, r.Status, r.Body)
			}
		}
	})

	t.Run("tokens only for a loopback Host", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"dev/token", nil)
		req.Host = "attacker.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("dev token served to Host attacker.example: %d", resp.StatusCode)
		}
	})

	t.Run("playground gets the dev token URL", func(t *testing.T) {
		r := do(t, http.MethodGet, ts.URL, "", nil)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), "/dev/token") || !strings.Contains(string(r.Body), "/dev/authz") {
			t.Errorf("playground page does not know the dev token and authz URLs")
		}
	})

	t.Run("the matrix with the token's decisions", func(t *testing.T) {
		type report struct {
			Token *struct {
				Sub       string
				Scopes    []string
				ExpiresAt time.Time
			}
			Types []struct {
				Name   string
				Fields []struct {
					Name        string
					Requirement struct{ Text string }
					Allowed     bool
					Code        string
				}
			}
		}
		get := func(t *testing.T, authorization string) (report, response) {
			r := do(t, http.MethodGet, ts.URL+"dev/authz", "", map[string]string{"Authorization": authorization})
			var rep report
			if r.Status == http.StatusOK {
				if err := json.Unmarshal(r.Body, &rep); err != nil {
					t.Fatalf("%v: %s", err, r.Body)
				}
			}
			return rep, r
		}
		decision := func(rep report, typ, field string) string {
			for _, ty := range rep.Types {
				for _, f := range ty.Fields {
					if ty.Name == typ && f.Name == field {
						if f.Allowed {
							return f.Requirement.Text + ": readable"
						}
						return f.Requirement.Text + ": " + f.Code
					}
				}
			}
			return "missing"
		}
		rep, r := get(t, "")
		wantStatus(t, r, http.StatusOK)
		if rep.Token != nil || decision(rep, "Query", "me") != "authenticated: UNAUTHENTICATED" || decision(rep, "Query", "node") != "public: readable" {
			t.Errorf("anonymous: %s", r.Body)
		}
		tok := do(t, http.MethodGet, ts.URL+"dev/token?scope=read:audit", "", nil)
		var minted struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(tok.Body, &minted)
		rep, r = get(t, bearer(minted.AccessToken))
		wantStatus(t, r, http.StatusOK)
		if rep.Token == nil || rep.Token.Sub != "dev|developer" || strings.Join(rep.Token.Scopes, " ") != "read:audit" || time.Until(rep.Token.ExpiresAt) < 50*time.Minute {
			t.Errorf("token = %+v", rep.Token)
		}
		for _, want := range [][3]string{
			{"User", "email", "scopes: read:users OR admin: FORBIDDEN"},
			{"AuditEntry", "id", "scopes: read:audit AND read:users: FORBIDDEN"},
			{"User", "name", "authenticated: readable"},
		} {
			if got := decision(rep, want[0], want[1]); got != want[2] {
				t.Errorf("%s.%s: %q; want %q", want[0], want[1], got, want[2])
			}
		}
		_, r = get(t, bearer("not.a.token"))
		wantStatus(t, r, http.StatusUnauthorized)
	})
}

// TestProductionHasNoDevRoutes: nothing of development mode is reachable
// with an issuer configured.
func TestProductionHasNoDevRoutes(t *testing.T) {
	ts := startServer(t, nil)
	for _, path := range []string{"dev/token", "dev/authz", ".well-known/jwks.json"} {
		if r := do(t, http.MethodGet, ts.URL+path, "", nil); r.Status != http.StatusNotFound {
			t.Errorf("GET /%s = %d in production mode; want 404", path, r.Status)
		}
	}
	if strings.Contains(ts.Stdout.String(), "DEVELOPMENT") {
		t.Errorf("production start-up mentions development mode")
	}
	r := do(t, http.MethodGet, ts.URL, "", nil)
	if strings.Contains(string(r.Body), "/dev/token") {
		t.Errorf("production playground references the dev token URL")
	}
}
