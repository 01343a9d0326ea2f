package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// DefaultMaxHeaderBytes caps the Authorization header. Auth0 access tokens
// with many permissions stay well under it; anything larger is refused
// before any parsing.
const DefaultMaxHeaderBytes = 8 << 10

// BearerToken extracts the token from r's Authorization header, as the Flask
// quickstart does: the header must be exactly "Bearer <token>" (scheme
// case-insensitive, one token). It returns "", nil when the request carries
// no Authorization header at all. Tokens in query parameters are never read:
// they end up in access logs.
func BearerToken(r *http.Request, maxBytes int) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Only one Authorization header is allowed",
			Err: errors.New("several Authorization headers")}
	}
	return ParseAuthorization(values[0], maxBytes)
}

// ParseAuthorization parses one Authorization header value. An empty (or
// blank) value means no token, as if the header were absent: Apollo's own
// auth-link recipe sends `authorization: ""` when the user is signed out, and
// such a client must still read public fields. maxBytes <= 0 means
// DefaultMaxHeaderBytes.
func ParseAuthorization(header string, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxHeaderBytes
	}
	if len(header) > maxBytes {
		return "", &Error{Reason: ReasonInvalidHeader,
			Detail: fmt.Sprintf("Authorization header is larger than %d bytes", maxBytes),
			Err:    fmt.Errorf("Authorization header of %d bytes", len(header))}
	}
	parts := strings.Fields(header)
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
