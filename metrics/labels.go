package metrics

import (
	"slices"
	"strconv"
)

// Other is the label value that stands for any value outside a label's
// fixed set, so that no caller can create an unbounded number of series
// (Prometheus, "Instrumentation: Use labels", and "Do not overuse labels").
const Other = "other"

// Surface is where a request came in: the value of the "surface" label.
type Surface string

// The surfaces of the server.
const (
	SurfaceGraphQL   Surface = "graphql"   // GraphQL over HTTP at /graphql
	SurfaceREST      Surface = "rest"      // the REST routes under /api/
	SurfaceWebSocket Surface = "websocket" // GraphQL over WebSocket at /graphql
)

// refusalSurfaces are the surfaces a request can be refused on.
var refusalSurfaces = []string{string(SurfaceGraphQL), string(SurfaceREST), string(SurfaceWebSocket)}

// fieldSurfaces are the surfaces that serve GraphQL fields.
var fieldSurfaces = []string{string(SurfaceGraphQL), string(SurfaceWebSocket)}

// refusalReasons are the auth package's reason codes (SPEC.md, section
// "Responses"; RFC 6750 section 3.1 for the last one). The metrics package
// keeps its own copy so that it imports nothing of the server; a test checks
// that every auth.Reason is in it.
var refusalReasons = []string{
	"temporarily_unavailable",
	"authorization_header_missing",
	"invalid_header",
	"token_expired",
	"invalid_claims",
	"invalid_token",
	"insufficient_scope",
}

// fieldReasons are the reasons a GraphQL field is denied: no token, a token
// that expired during a subscription, or a token without the scopes.
var fieldReasons = []string{
	"authorization_header_missing",
	"token_expired",
	"insufficient_scope",
}

// JWKS fetch outcomes, the values of the "outcome" label.
const (
	outcomeSuccess = "success"
	outcomeError   = "error"
)

var jwksOutcomes = []string{outcomeSuccess, outcomeError}

// Token cache lookup results, the values of the "result" label.
const (
	resultHit  = "hit"
	resultMiss = "miss"
)

var cacheResults = []string{resultHit, resultMiss}

// RedisOperation is what the server was doing when Redis failed: the value
// of the "operation" label.
type RedisOperation string

// The Redis operations of the message bus.
const (
	RedisPublish RedisOperation = "publish" // appending a sent message (XADD)
	RedisRead    RedisOperation = "read"    // reading or replaying the stream (XREAD, XRANGE)
	RedisPing    RedisOperation = "ping"    // a health check or (re)connection
)

var redisOperations = []string{string(RedisPublish), string(RedisRead), string(RedisPing)}

// methods are the HTTP methods given their own "method" label value
// (RFC 9110 section 9); any other method is Other.
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// pick returns v when it is in allowed, else Other.
func pick(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return Other
}

// statusCode returns the "code" label of an HTTP status: its three digits,
// or Other outside 100-599 (RFC 9110 section 15).
func statusCode(code int) string {
	if code < 100 || code > 599 {
		return Other
	}
	return strconv.Itoa(code)
}
