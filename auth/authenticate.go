package auth

import (
	"context"
	"fmt"
	"strings"
)

// DefaultMaxCredentialsBytes caps credentials (MAX_AUTH_HEADER_BYTES) when
// Config.MaxCredentialsBytes is zero: 64 KiB. An Auth0 access token of a
// user holding 1,000 RBAC permissions ("read:resource-0001" ...) is 28,755
// bytes with them in "permissions", and 54,088 when "scope" lists them all
// too; a longer token is refused before any JSON or
// base64 is decoded. It stays far below net/http's 1 MiB for all headers
// (MAX_HEADER_BYTES), so that a longer token still gets this server's 401.
const DefaultMaxCredentialsBytes = 64 << 10

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
// ReasonInvalidHeader for credentials that are not a bearer token,
// however long; ReasonInvalidToken for a bearer token whose credentials
// are over the cap (RFC 6750 section 3.1: a malformed or otherwise invalid
// token is invalid_token, a malformed request invalid_request); else
// whatever Validate refuses the token with. The claims are shared and must
// not be modified (see Claims).
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

// bearerToken returns the token of credentials, "" for blank credentials.
// It reads their shape first, in one pass without allocating whatever
// their length (the transport bounds it: MAX_HEADER_BYTES, the WebSocket
// message limit), then their size: over maxBytes, a bearer token is an
// invalid token and anything else a malformed header. maxBytes <= 0 means
// DefaultMaxCredentialsBytes. Tokens in query parameters or bodies are
// never read: they end up in access logs.
func bearerToken(credentials string, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCredentialsBytes
	}
	token, err := splitBearer(credentials)
	switch {
	case err != nil:
		return "", err
	case len(credentials) <= maxBytes:
		return token, nil
	case token == "":
		return "", &Error{Reason: ReasonInvalidHeader,
			Detail: fmt.Sprintf("Authorization header is larger than %d bytes", maxBytes),
			Err:    fmt.Errorf("blank Authorization header of %d bytes", len(credentials))}
	}
	return "", &Error{Reason: ReasonInvalidToken,
		Detail: fmt.Sprintf("Authorization header is larger than %d bytes", maxBytes),
		Err:    fmt.Errorf("bearer token in an Authorization header of %d bytes", len(credentials))}
}

// splitBearer returns the token of "Bearer <token>", as the Flask
// quickstart reads it (strings.Fields: white space is Unicode's), or "" for
// blank credentials. It stops at the third field.
func splitBearer(credentials string) (string, error) {
	// Every real client sends "Bearer " and a token of printable ASCII:
	// eight bytes at a time tell that there is no white space in it, at a
	// fraction of the cost of reading it rune by rune (this runs on every
	// request).
	if len(credentials) > len("Bearer ") && credentials[len("Bearer")] == ' ' &&
		strings.EqualFold(credentials[:len("Bearer")], "Bearer") && graphic(credentials[len("Bearer "):]) {
		return credentials[len("Bearer "):], nil
	}
	var parts [3]string
	n := 0
	for f := range strings.FieldsSeq(credentials) {
		parts[n] = f
		if n++; n == len(parts) {
			break
		}
	}
	switch {
	case n == 0:
		return "", nil
	case !strings.EqualFold(parts[0], "Bearer"):
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Authorization header must start with Bearer"}
	case n == 1:
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Token not found"}
	case n > 2:
		return "", &Error{Reason: ReasonInvalidHeader, Detail: "Authorization header must be Bearer token"}
	}
	return parts[1], nil
}

// graphic reports whether s is all printable ASCII other than the space
// (0x21 to 0x7f), and so holds no white space, ASCII or Unicode.
func graphic(s string) bool {
	const highs, low = 0x8080808080808080, 0x2121212121212121
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte below 0x21 borrows into its high bit (w-low &^ w), a byte
		// from 0x80 has it set (w).
		if ((w-low)&^w|w)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x21 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}
