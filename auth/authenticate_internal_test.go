package auth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBearerToken: what Authenticate accepts as credentials before any
// token is validated. Over the cap, a bearer token is an invalid token
// (invalid_token) and anything else a malformed header (invalid_header),
// however long.
func TestBearerToken(t *testing.T) {
	tok := "aaa.bbb.ccc"
	long := "Bearer " + strings.Repeat("x", DefaultMaxCredentialsBytes-len("Bearer "))
	huge := strings.Repeat("x", 2*DefaultMaxCredentialsBytes)
	for _, tt := range []struct {
		name, header string
		max          int
		want         string
		reason       Reason // "" means no error
	}{
		{"empty: anonymous", "", 0, "", ""},
		{"blank: anonymous", "  \t ", 0, "", ""},
		{"Bearer", "Bearer " + tok, 0, tok, ""},
		{"lower-case scheme", "bearer " + tok, 0, tok, ""},
		{"upper-case scheme", "BEARER " + tok, 0, tok, ""},
		{"extra spaces", "  Bearer   " + tok + "  ", 0, tok, ""},
		{"tab", "Bearer\t" + tok, 0, tok, ""},
		{"no-break space (Unicode white space, as strings.Fields)", "Bearer\u00a0" + tok, 0, tok, ""},
		{"exactly at the cap", long, 0, strings.TrimPrefix(long, "Bearer "), ""},
		{"one byte over the cap: an invalid token", long + "x", 0, "", ReasonInvalidToken},
		{"custom cap: an invalid token", "Bearer " + tok, 10, "", ReasonInvalidToken},
		{"a huge token: an invalid token", "Bearer " + huge, 0, "", ReasonInvalidToken},
		{"white space over the cap around a token", "Bearer " + tok + strings.Repeat(" ", DefaultMaxCredentialsBytes), 0, "", ReasonInvalidToken},
		{"blank over the cap", strings.Repeat(" ", DefaultMaxCredentialsBytes+1), 0, "", ReasonInvalidHeader},
		{"huge Basic", "Basic " + huge, 0, "", ReasonInvalidHeader},
		{"huge without a scheme", huge, 0, "", ReasonInvalidHeader},
		{"huge with two tokens", "Bearer " + huge + " " + huge, 0, "", ReasonInvalidHeader},
		{"huge scheme only", "Bearer" + strings.Repeat(" ", DefaultMaxCredentialsBytes), 0, "", ReasonInvalidHeader},
		{"scheme only", "Bearer", 0, "", ReasonInvalidHeader},
		{"scheme and spaces", "Bearer   ", 0, "", ReasonInvalidHeader},
		{"two tokens", "Bearer a b", 0, "", ReasonInvalidHeader},
		{"Basic", "Basic dXNlcjpwYXNz", 0, "", ReasonInvalidHeader},
		{"token without scheme", tok, 0, "", ReasonInvalidHeader},
		{"scheme glued to the token", "Bearer" + tok, 0, "", ReasonInvalidHeader},
		{"scheme with a colon", "Bearer: " + tok, 0, "", ReasonInvalidHeader},
		{"comma-joined headers", "Bearer a, Bearer b", 0, "", ReasonInvalidHeader},
		{"Token scheme", "Token " + tok, 0, "", ReasonInvalidHeader},
		{"DPoP scheme", "DPoP " + tok, 0, "", ReasonInvalidHeader},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bearerToken(tt.header, tt.max)
			if got != tt.want {
				t.Errorf("token = %q; want %q", got, tt.want)
			}
			if tt.reason == "" {
				if err != nil {
					t.Errorf("err = %v; want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("err = %v; want reason %s", err, tt.reason)
			}
			if got := errors.Is(err, ErrInvalidToken); got != (tt.reason == ReasonInvalidToken) {
				t.Errorf("errors.Is(err, ErrInvalidToken) = %v for reason %s", got, tt.reason)
			}
			if Describe(err).Status != http.StatusUnauthorized {
				t.Errorf("status = %d; want 401", Describe(err).Status)
			}
		})
	}

	t.Run("over the cap names the limit", func(t *testing.T) {
		for _, h := range []string{long + "x", strings.Repeat(" ", DefaultMaxCredentialsBytes+1)} {
			_, err := bearerToken(h, 0)
			if d := Describe(err).Description; !strings.Contains(d, fmt.Sprint(DefaultMaxCredentialsBytes)) {
				t.Errorf("description %q does not name the limit %d", d, DefaultMaxCredentialsBytes)
			}
		}
	})

	t.Run("reading credentials allocates nothing", func(t *testing.T) {
		h := "Bearer " + tok
		if n := testing.AllocsPerRun(100, func() { _, _ = bearerToken(h, 0) }); n != 0 {
			t.Errorf("bearerToken allocates %v times; want 0", n)
		}
	})
}

// TestAuthorizationHeader: the middleware reads one Authorization header,
// never the query string.
func TestAuthorizationHeader(t *testing.T) {
	for _, tt := range []struct {
		name    string
		values  []string
		query   string
		want    string
		wantErr bool
	}{
		{"no header", nil, "", "", false},
		{"one header", []string{"Bearer t"}, "", "t", false},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", "", true},
		{"two identical headers", []string{"Bearer a", "Bearer a"}, "", "", true},
		{"empty and a token", []string{"", "Bearer a"}, "", "", true},
		{"access_token in the query is ignored", nil, "access_token=aaa.bbb.ccc", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/graphql?"+tt.query, nil)
			for _, v := range tt.values {
				r.Header.Add("Authorization", v)
			}
			got, err := authorizationHeader(r)
			if err == nil {
				got, err = bearerToken(got, 0)
			}
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("token = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			var e *Error
			if tt.wantErr && (!errors.As(err, &e) || e.Reason != ReasonInvalidHeader) {
				t.Errorf("err = %v; want reason %s", err, ReasonInvalidHeader)
			}
		})
	}
}

// TestGraphic: the eight-bytes-at-a-time check agrees with the bytewise one
// on every byte at every position, and on random strings.
func TestGraphic(t *testing.T) {
	slow := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] >= 0x80 {
				return false
			}
		}
		return true
	}
	for n := range 20 {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				if got, want := graphic(string(b)), slow(string(b)); got != want {
					t.Fatalf("graphic(%q) = %v; want %v", b, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(0x1c + r.IntN(0x68)) // around both edges
		}
		if got, want := graphic(string(b)), slow(string(b)); got != want {
			t.Fatalf("graphic(%q) = %v; want %v", b, got, want)
		}
	}
}
