package auth

import (
	"context"
	"fmt"
	"strings"
)

// DefaultMaxCredentialsBytes caps credentials (MAX_AUTH_HEADER_BYTES) when
// Config.MaxCredentialsBytes is zero. Auth0 access tokens with many
// permissions stay well under it; anything larger is refused before any
// parsing.
const DefaultMaxCredentialsBytes = 8 << 10

// Authenticate is the one way in for a credential, whatever the transport:
// the HTTP middleware passes the request's Authorization header, the
// WebSocket transport the authorization entry of connection_init.
//
// credentials are an Authorization value (RFC 7235 section 2.1) that must
// be exactly "Bearer <token>" (RFC 6750 section 2.1; the scheme is
// case-insensitive, one token, white space around it ignored), at most
// Config.MaxCredentialsBytes long. Blank credentials are no credential:
// Authenticate returns nil, nil and the caller goes on anonymously (Apollo's
// own auth-link recipe sends `authorization: ""` when the user is signed
// out, and such a client must still read public fields).
//
// Otherwise it returns the token's verified claims, or an *Error:
// ReasonInvalidHeader for credentials that are not a bearer token or are
// too long, else whatever Validate refuses the token with.
func (v *Validator) Authenticate(ctx context.Context, credentials string) (*Claims, error) {
	if credentials == "" {
		return nil, nil
	}
	token, err := bearerToken(credentials, v.cfg.MaxCredentialsBytes)
	if err != nil || token == "" {
		return nil, err
	}
	return v.Validate(ctx, token)
}

// SameToken reports whether credentials a and b carry the same bearer
// token, however each spells the scheme and the white space around it.
// Credentials that are not a bearer token carry none and match nothing.
func SameToken(a, b string) bool {
	ta, errA := splitBearer(a)
	tb, errB := splitBearer(b)
	return errA == nil && errB == nil && ta != "" && ta == tb
}

// bearerToken checks the size of credentials, then returns their token: ""
// for blank credentials. maxBytes <= 0 means DefaultMaxCredentialsBytes.
// Tokens in query parameters or bodies are never read: they end up in
// access logs.
func bearerToken(credentials string, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCredentialsBytes
	}
	if len(credentials) > maxBytes {
		return "", &Error{Reason: ReasonInvalidHeader,
			Detail: fmt.Sprintf("Authorization header is larger than %d bytes", maxBytes),
			Err:    fmt.Errorf("Authorization header of %d bytes", len(credentials))}
	}
	return splitBearer(credentials)
}

// splitBearer returns the token of "Bearer <token>", as the Flask
// quickstart reads it, or "" for blank credentials.
func splitBearer(credentials string) (string, error) {
	parts := strings.Fields(credentials)
	switch {
	case len(parts) == 0:
		return "", nil
	case !strings.EqualFold(parts[0], "Bearer"):
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Authorization header must start with Bearer"}
	case len(parts) == 1:
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Token not found"}
	case len(parts) > 2:
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Authorization header must be Bearer token"}
	}
	return parts[1], nil
}
