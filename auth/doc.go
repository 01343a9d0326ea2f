// Package auth validates Auth0 (or any OIDC issuer's) access tokens and
// decides, per request and per GraphQL field, who may read what.
//
// A request carries at most one token, as "Authorization: Bearer <JWT>".
// Validator.Authenticate (authenticate.go) is the one way in for it, over
// every transport: the HTTP Middleware passes the Authorization header,
// package graph the authorization entry of a WebSocket connection_init. It
// reads the credentials' shape (a malformed header is invalid_header,
// however long) and then their size (a bearer token over
// Config.MaxCredentialsBytes, 64 KiB by default, is invalid_token), then
// Validator.Validate (validator.go) accepts the token only if all of these
// hold:
//
//   - it is a compact JWS whose protected header names an allowed asymmetric
//     algorithm (RS256 unless configured), carries no "crit" or "b64"
//     extension, and has "typ" JWT or at+jwt when it has a "typ";
//   - its "kid" names a key in the issuer's JWKS (package jwks) whose type
//     and "alg" fit the token's algorithm, and the signature verifies with
//     that key (jws.Verify, given the raw public key jwks parsed when the set
//     was loaded). The token's own "jwk", "jku", "x5u" and "x5c" headers are
//     never used;
//   - the verified payload is one JSON object, read once (payload.go) with
//     claim names matched exactly (RFC 7519 section 4; the last of a
//     duplicated name counts);
//   - "iss" equals the configured issuer exactly, "aud" (string or array
//     of strings) contains the audience, "exp" is a number in the future,
//     "nbf" and "iat", when present, are numbers not in the future;
//     ClockSkew (60 s at most) is allowed on each time. These NumericDates
//     are read exactly from their text (numericdate.go): fractions to the
//     nanosecond, exponents, -0; values before the epoch or after
//     MaxNumericDate (9999-12-31T23:59:59Z) make the token invalid;
//   - each claim that grants scopes (Config.ScopeClaims, SCOPE_CLAIMS: by
//     default "scope" and Auth0 RBAC's "permissions"), when present, is a
//     space-separated string or an array of strings; Claims.Scopes is
//     their union.
//
// Claims are built only from the verified payload. A validated token is
// remembered (cache.go: by SHA-256, bounded in entries and bytes), so the
// next request with it costs a digest and a map lookup, and the expiry and
// key checks that can change; the *Claims are then shared between those
// requests and are read-only. The transports put them in the context,
// where FromContext finds them. Who may read what is not decided here but
// in package authz, from the claims (Claims.HasScope: a scope matches a
// whole element of "scope" or "permissions", never a substring), for
// GraphQL fields and REST routes alike.
//
// Every failure, of a token or of an authorization decision, is an *Error
// with a Reason; Describe (errors.go) maps each Reason to its HTTP status,
// WWW-Authenticate challenge, GraphQL error code and client-safe text, in
// one table. A library's error text is kept for logs and never shown to
// clients.
package auth
