package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBearerToken: what Authenticate accepts as credentials before any
// token is validated.
func TestBearerToken(t *testing.T) {
	tok := "aaa.bbb.ccc"
	long := "Bearer " + strings.Repeat("x", DefaultMaxCredentialsBytes-len("Bearer "))
	for _, tt := range []struct {
		name, header string
		max          int
		want         string
		wantErr      bool
	}{
		{"empty: anonymous", "", 0, "", false},
		{"blank: anonymous", "  \t ", 0, "", false},
		{"Bearer", "Bearer " + tok, 0, tok, false},
		{"lower-case scheme", "bearer " + tok, 0, tok, false},
		{"upper-case scheme", "BEARER " + tok, 0, tok, false},
		{"extra spaces", "  Bearer   " + tok + "  ", 0, tok, false},
		{"tab", "Bearer\t" + tok, 0, tok, false},
		{"exactly at the cap", long, 0, strings.TrimPrefix(long, "Bearer "), false},
		{"one byte over the cap", long + "x", 0, "", true},
		{"custom cap", "Bearer " + tok, 10, "", true},
		{"scheme only", "Bearer", 0, "", true},
		{"scheme and spaces", "Bearer   ", 0, "", true},
		{"two tokens", "Bearer a b", 0, "", true},
		{"Basic", "Basic dXNlcjpwYXNz", 0, "", true},
		{"token without scheme", tok, 0, "", true},
		{"scheme glued to the token", "Bearer" + tok, 0, "", true},
		{"scheme with a colon", "Bearer: " + tok, 0, "", true},
		{"comma-joined headers", "Bearer a, Bearer b", 0, "", true},
		{"Token scheme", "Token " + tok, 0, "", true},
		{"DPoP scheme", "DPoP " + tok, 0, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bearerToken(tt.header, tt.max)
			if got != tt.want {
				t.Errorf("token = %q; want %q", got, tt.want)
			}
			if !tt.wantErr {
				if err != nil {
					t.Errorf("err = %v; want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonInvalidHeader {
				t.Fatalf("err = %v; want reason %s", err, ReasonInvalidHeader)
			}
			if errors.Is(err, ErrInvalidToken) {
				t.Errorf("a malformed header reads as an invalid token")
			}
			if Describe(err).Status != http.StatusUnauthorized {
				t.Errorf("status = %d; want 401", Describe(err).Status)
			}
		})
	}

	t.Run("over the cap names the limit", func(t *testing.T) {
		_, err := bearerToken(long+"x", 0)
		if d := Describe(err).Description; !strings.Contains(d, fmt.Sprint(DefaultMaxCredentialsBytes)) {
			t.Errorf("description %q does not name the limit %d", d, DefaultMaxCredentialsBytes)
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
