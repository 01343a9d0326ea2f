package auth

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reason says why a request was refused. The values are the error codes of
// Auth0's API quickstarts, which existing clients already match on.
type Reason string

// Reasons, in the order a request can meet them.
const (
	ReasonUnavailable       Reason = "temporarily_unavailable"      // no signing key could be loaded yet
	ReasonMissing           Reason = "authorization_header_missing" // a guarded resource, no token
	ReasonInvalidHeader     Reason = "invalid_header"               // Authorization is not "Bearer <token>"
	ReasonTokenExpired      Reason = "token_expired"                // exp has passed
	ReasonInvalidClaims     Reason = "invalid_claims"               // iss, aud, nbf, iat or a claim's type is wrong
	ReasonInvalidToken      Reason = "invalid_token"                // malformed, too long, bad signature, unknown key, bad alg
	ReasonInsufficientScope Reason = "insufficient_scope"           // valid token without the required scope
)

// Sentinel errors for errors.Is; every *Error matches ErrUnauthorized, and
// token failures also match ErrInvalidToken.
var (
	ErrUnauthorized = errors.New("auth: unauthorized")
	ErrInvalidToken = errors.New("auth: invalid token")
)

// Error is an authentication or authorization failure, the one error type
// of both: token validation returns it, and so does package authz's
// decision (authz.Decide) for a field or a route. Its Reason decides
// everything a client sees; Err is the underlying cause, for logs only.
type Error struct {
	Reason Reason
	// RequiredScopes, with ReasonInsufficientScope, is what would have
	// granted access, as Apollo Router's @requiresScopes states it: an OR
	// of ANDs, granted when every scope of one inner list is. GraphQL
	// errors carry it as extensions.requiredScopes; a single inner list is
	// also RFC 6750's scope attribute (Scope). Treat it as read-only: one
	// error value may be shared by many fields.
	RequiredScopes [][]string
	Detail         string // client-safe description overriding the table's, or ""
	Err            error  // the cause; never shown to clients

	RetryAfter time.Duration // with ReasonUnavailable: when to try again
}

func (e *Error) Error() string {
	msg := "auth: " + string(e.Reason)
	if len(e.RequiredScopes) > 0 {
		sets := make([]string, len(e.RequiredScopes))
		for i, all := range e.RequiredScopes {
			sets[i] = strings.Join(all, " AND ")
		}
		msg += " (needs " + strings.Join(sets, " OR ") + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Scope returns the value of RFC 6750's scope attribute (section 3) for a
// refusal with ReasonInsufficientScope: the scopes the resource needs,
// space-separated. Only a single AND set can be said that way, so it is ""
// when RequiredScopes offers alternatives, or nothing.
func (e *Error) Scope() string {
	if e.Reason != ReasonInsufficientScope || len(e.RequiredScopes) != 1 {
		return ""
	}
	return strings.Join(e.RequiredScopes[0], " ")
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnauthorized) and, for token failures,
// errors.Is(err, ErrInvalidToken) work without comparing strings.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return true
	case ErrInvalidToken:
		return e.Reason == ReasonTokenExpired || e.Reason == ReasonInvalidClaims || e.Reason == ReasonInvalidToken
	}
	return false
}

// Response is how a Reason looks to a client, over HTTP and GraphQL.
type Response struct {
	Status      int    // HTTP status when the whole request is refused
	GraphQLCode string // extensions.code, for whole-request and field errors alike
	Challenge   string // WWW-Authenticate error= value (RFC 6750), "" for none
	Description string // client-safe text ("description" in REST bodies, "message" in GraphQL)
	Message     string // the hello-world sample's "message" on /api/messages/*
}

// responses is the one table from Reason to what a client sees.
var responses = map[Reason]Response{
	ReasonUnavailable:       {http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "", "The authorization server's signing keys are not available yet; try again shortly.", "Service Unavailable"},
	ReasonMissing:           {http.StatusUnauthorized, "UNAUTHENTICATED", "", "Authorization header is expected", "Requires authentication"},
	ReasonInvalidHeader:     {http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_request", "Authorization header must be Bearer token", "Bad credentials"},
	ReasonTokenExpired:      {http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_token", "token is expired", "Bad credentials"},
	ReasonInvalidClaims:     {http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_token", "incorrect claims, please check the audience and issuer", "Bad credentials"},
	ReasonInvalidToken:      {http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_token", "Unable to parse authentication token.", "Bad credentials"},
	ReasonInsufficientScope: {http.StatusForbidden, "FORBIDDEN", "insufficient_scope", "You don't have access to this resource", "Permission denied"},
}

// Describe returns what a client sees for err. An error that is not an
// *Error is internal: 500 and a generic text, whatever err says.
func Describe(err error) Response {
	var e *Error
	if !errors.As(err, &e) {
		return Response{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "", "internal server error", "Internal Server Error"}
	}
	r, ok := responses[e.Reason]
	if !ok {
		r = responses[ReasonInvalidToken]
	}
	if e.Detail != "" {
		r.Description = e.Detail
	} else if e.Reason == ReasonInsufficientScope && len(e.RequiredScopes) > 0 {
		r.Description = "You don't have access to this resource: it requires " + describeScopes(e.RequiredScopes)
	}
	return r
}

// describeScopes says an OR of ANDs of scopes in words: the scope "a"; the
// scopes "a" and "b"; the scopes "a" and "b", or "c".
func describeScopes(anyOf [][]string) string {
	sets := make([]string, len(anyOf))
	for i, all := range anyOf {
		quoted := make([]string, len(all))
		for j, s := range all {
			quoted[j] = strconv.Quote(s)
		}
		sets[i] = strings.Join(quoted, " and ")
	}
	noun := "the scope "
	if len(anyOf) > 1 || len(anyOf[0]) > 1 {
		noun = "the scopes "
	}
	return noun + strings.Join(sets, ", or ")
}

// SetHeaders sets the headers that go with refusing a whole request for err:
// the RFC 6750 WWW-Authenticate challenge on 401 and 403, Retry-After on 503.
func SetHeaders(h http.Header, err error) {
	var e *Error
	if !errors.As(err, &e) {
		return
	}
	r := Describe(err)
	switch r.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		v := "Bearer"
		if r.Challenge != "" {
			v += ` error="` + r.Challenge + `"`
		}
		if scope := e.Scope(); scope != "" {
			// Scopes are RFC 6749 scope-tokens (authz.CheckSchema refuses
			// others), which never need escaping in a quoted-string.
			v += `, scope="` + scope + `"`
		}
		h.Set("WWW-Authenticate", v)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(int(max(e.RetryAfter, time.Second).Round(time.Second)/time.Second)))
	}
}
