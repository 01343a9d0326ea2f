package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/auth/authtest"
)

// TestGraphQLResponses covers every row of SPEC.md's GraphQL responses table.
func TestGraphQLResponses(t *testing.T) {
	ts := startServer(t, nil)
	is := ts.Issuer

	t.Run("no Authorization header", func(t *testing.T) {
		r := ts.graphQL(t, allFields, "")
		wantStatus(t, r, http.StatusOK)
		got := r.json(t)
		want := map[string]any{
			"publicMessage":  map[string]any{"text": "Hello from a public endpoint! You don't need to be authenticated to see this."},
			"privateMessage": nil,
			"scopedMessage":  nil,
		}
		if diff := cmp.Diff(want, got["data"]); diff != "" {
			t.Errorf("data (-want +got):\n%s", diff)
		}
		wantFieldErrors(t, got, map[string]string{"privateMessage": "UNAUTHENTICATED", "scopedMessage": "UNAUTHENTICATED"})
	})

	t.Run("blank Authorization header is anonymous", func(t *testing.T) {
		r := ts.graphQL(t, `{ publicMessage { text } }`, "   ")
		wantStatus(t, r, http.StatusOK)
	})

	t.Run("valid token lacking the scope", func(t *testing.T) {
		r := ts.graphQL(t, allFields, bearer(is.Token(t, authtest.Scope("read:messages_all", "read"))))
		wantStatus(t, r, http.StatusOK)
		got := r.json(t)
		data := got["data"].(map[string]any)
		if data["privateMessage"] == nil || data["scopedMessage"] != nil {
			t.Errorf("data = %v; want privateMessage set, scopedMessage null", data)
		}
		wantFieldErrors(t, got, map[string]string{"scopedMessage": "FORBIDDEN"})
	})

	for name, opt := range map[string]authtest.Option{
		"scope claim":       authtest.Scope("openid", "read:messages"),
		"permissions claim": authtest.Permissions("read:messages"),
	} {
		t.Run("valid token with the scope in its "+name, func(t *testing.T) {
			r := ts.graphQL(t, allFields, bearer(is.Token(t, opt)))
			wantStatus(t, r, http.StatusOK)
			got := r.json(t)
			if _, ok := got["errors"]; ok {
				t.Errorf("errors = %v; want none", got["errors"])
			}
			data := got["data"].(map[string]any)
			for _, f := range []string{"publicMessage", "privateMessage", "scopedMessage"} {
				if data[f] == nil {
					t.Errorf("%s is null", f)
				}
			}
		})
	}

	for _, header := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc", "bearer x y z"} {
		t.Run("malformed header "+header, func(t *testing.T) {
			r := ts.graphQL(t, allFields, header)
			wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_header", `Bearer error="invalid_request"`)
		})
	}

	now := time.Now()
	other, err := authtest.NewKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		token  string
		reason string
	}{
		{"expired", is.Token(t, authtest.ExpiresAt(now.Add(-2*time.Minute))), "token_expired"},
		{"wrong audience", is.Token(t, authtest.Audience("https://other.example")), "invalid_claims"},
		{"wrong issuer", is.Token(t, authtest.IssuedBy("https://evil.example/")), "invalid_claims"},
		{"not yet valid", is.Token(t, authtest.NotBefore(now.Add(5*time.Minute))), "invalid_claims"},
		{"issued in the future", is.Token(t, authtest.IssuedAt(now.Add(5*time.Minute))), "invalid_claims"},
		{"no exp", is.Token(t, authtest.Claim("exp", nil)), "invalid_claims"},
		{"signed by another key", is.Token(t, authtest.SignedWith(other), authtest.KeyID(is.SigningKey().KeyID())), "invalid_token"},
		{"unknown kid", is.Token(t, authtest.SignedWith(other)), "invalid_token"},
		{"not a JWT", "not-a-jwt", "invalid_token"},
		{"tampered payload", tamper(is.Token(t)), "invalid_token"},
	} {
		t.Run("invalid token "+tt.name, func(t *testing.T) {
			r := ts.graphQL(t, `{ publicMessage { text } }`, bearer(tt.token))
			wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", tt.reason, `Bearer error="invalid_token"`)
		})
	}

	t.Run("skew of 60 s is tolerated", func(t *testing.T) {
		r := ts.graphQL(t, `{ privateMessage { text } }`, bearer(is.Token(t, authtest.ExpiresAt(now.Add(-30*time.Second)))))
		wantStatus(t, r, http.StatusOK)
	})
}

// TestNoKeysYet covers the 503 row: the issuer's JWKS unreachable since
// start. Requests with a token get 503 and Retry-After; without one, the
// public field is served as usual.
func TestNoKeysYet(t *testing.T) {
	is := authtest.NewServer(t)
	is.SetDown(true)
	ts := startServer(t, map[string]string{"AUTH0_ISSUER_URL": is.URL, "AUTH0_AUDIENCE": is.Audience})

	r := ts.graphQL(t, `{ publicMessage { text } }`, "")
	wantStatus(t, r, http.StatusOK)

	r = ts.graphQL(t, `{ publicMessage { text } }`, bearer(is.Token(t)))
	wantRefusal(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "temporarily_unavailable", "")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	r = do(t, http.MethodGet, ts.URL+"api/private", "", map[string]string{"Authorization": bearer(is.Token(t))})
	wantStatus(t, r, http.StatusServiceUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("REST 503 without Retry-After")
	}
	if r := do(t, http.MethodGet, ts.URL+"readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d while no keys; want 503", r.Status)
	}

	// Over WebSocket the same refusal is close code 1013, "try again later".
	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.init(t, map[string]any{"authorization": bearer(is.Token(t))}); closeStatus(err) != 1013 || !strings.Contains(err.Error(), "Try Again Later") {
		t.Errorf("connection_init while no keys: %v; want close 1013, Try Again Later", err)
	}

	// The issuer comes back: the background retry picks the keys up.
	is.SetDown(false)
	ts.waitReady(t)
	r = ts.graphQL(t, `{ privateMessage { text } }`, bearer(is.Token(t)))
	wantStatus(t, r, http.StatusOK)
}

// TestKeysKeptThroughOutage: once loaded, keys survive the JWKS endpoint
// going down, even when an unknown kid makes the server refetch.
func TestKeysKeptThroughOutage(t *testing.T) {
	ts := startServer(t, map[string]string{"JWKS_REFETCH_INTERVAL": "100ms"})
	is := ts.Issuer
	is.SetDown(true)
	other, _ := authtest.NewKey("RS256")
	before := is.JWKSRequests()
	r := ts.graphQL(t, `{ privateMessage { text } }`, bearer(is.Token(t, authtest.SignedWith(other))))
	wantStatus(t, r, http.StatusUnauthorized)
	if is.JWKSRequests() == before {
		t.Errorf("an unknown kid did not trigger a refetch")
	}
	r = ts.graphQL(t, `{ privateMessage { text } }`, bearer(is.Token(t)))
	wantStatus(t, r, http.StatusOK)
}

var b64 = base64.RawURLEncoding

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	var claims map[string]any
	b, _ := b64.DecodeString(parts[1])
	_ = json.Unmarshal(b, &claims)
	claims["scope"] = "read:messages read:admin-messages"
	b, _ = json.Marshal(claims)
	parts[1] = b64.EncodeToString(b)
	return strings.Join(parts, ".")
}
