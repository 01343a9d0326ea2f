package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
)

// TestAuthenticate: the one entry point turns credentials into claims,
// nothing (anonymous), or a refusal, with one cap for the credentials and
// the token inside them.
func TestAuthenticate(t *testing.T) {
	is := authtest.NewServer(t)
	const maxBytes = 1024
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience, MaxCredentialsBytes: maxBytes,
		Now: func() time.Time { return testNow }}, runKeys(t, is))
	if err != nil {
		t.Fatal(err)
	}
	good := authtest.Forge(t, is.SigningKey(), authtest.WithClaims(is.Claims(testNow), "sub", "u1"), nil)
	if len("Bearer "+good) > maxBytes {
		t.Fatalf("test token of %d bytes does not fit the cap", len(good))
	}
	padded := "Bearer " + good + strings.Repeat(" ", maxBytes-len(good)-len("Bearer ")+1)

	for _, tt := range []struct {
		name, credentials string
		reason            auth.Reason // "" means accepted
		anonymous         bool
	}{
		{"empty: anonymous", "", "", true},
		{"blank: anonymous", " \t ", "", true},
		{"Bearer", "Bearer " + good, "", false},
		{"scheme in any case, spaces around", "  bEaReR  " + good + " ", "", false},
		{"Basic", "Basic dXNlcjpwYXNz", auth.ReasonInvalidHeader, false},
		{"bare token", good, auth.ReasonInvalidHeader, false},
		{"two tokens", "Bearer " + good + " " + good, auth.ReasonInvalidHeader, false},
		// Over the cap, a bearer token is an invalid token, however the
		// length comes about; a malformed header stays a malformed header.
		{"over the cap by white space", padded, auth.ReasonInvalidToken, false},
		{"a token over the cap", "Bearer " + good + strings.Repeat("A", maxBytes), auth.ReasonInvalidToken, false},
		{"Basic over the cap", "Basic " + strings.Repeat("A", 4*maxBytes), auth.ReasonInvalidHeader, false},
		{"two tokens over the cap", "Bearer " + good + " " + strings.Repeat("A", maxBytes), auth.ReasonInvalidHeader, false},
		{"invalid token", "Bearer not.a.jwt", auth.ReasonInvalidToken, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Authenticate(context.Background(), tt.credentials)
			switch {
			case tt.reason != "":
				if c != nil || !isReason(err, tt.reason) {
					t.Fatalf("Authenticate = %+v, %v; want %s", c, err, tt.reason)
				}
			case tt.anonymous:
				if c != nil || err != nil {
					t.Fatalf("Authenticate = %+v, %v; want nil, nil (anonymous)", c, err)
				}
			case err != nil || c == nil || c.Subject != "u1":
				t.Fatalf("Authenticate = %+v, %v; want the claims of u1", c, err)
			}
		})
	}

	t.Run("the same cap bounds a token given to Validate", func(t *testing.T) {
		long := authtest.Forge(t, is.SigningKey(), authtest.WithClaims(is.Claims(testNow), "pad", strings.Repeat("p", maxBytes)), nil)
		_, err := v.Validate(context.Background(), long)
		wantReason(t, err, auth.ReasonInvalidToken)
	})
}

func TestSameToken(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"Bearer a.b.c", "Bearer a.b.c", true},
		{"Bearer a.b.c", " bearer\ta.b.c ", true},
		{"Bearer a.b.c", "Bearer a.b.d", false},
		{"Bearer a.b.c", "a.b.c", false}, // not credentials: no token
		{"Bearer a.b.c", "Bearer a.b.c x", false},
		{"", "", false},
		{"Bearer", "Bearer", false},
	} {
		if got := auth.SameToken(tt.a, tt.b); got != tt.want {
			t.Errorf("SameToken(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
