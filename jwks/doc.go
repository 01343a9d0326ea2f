// Package jwks keeps an issuer's JSON Web Key Set in memory for token
// verification.
//
// Keys are fetched once at start and then refreshed in the background, never
// per request: the refresh interval follows the response's
// Cache-Control max-age, clamped to [Options.MinRefresh, Options.MaxRefresh].
// A token that names an unknown key ID triggers an early refetch so that key
// rotation at the issuer is picked up within seconds; such refetches are
// shared by concurrent callers and rate-limited to one per
// Options.MissInterval, so a flood of tokens with random key IDs costs the
// issuer a bounded number of requests.
//
// Once a key set has been loaded it is kept through later failures: an
// outage of the JWKS endpoint, or a response that is too large, malformed or
// holds no usable key, leaves the last good keys in place. Until the first
// fetch succeeds the cache reports not ready and retries with exponential
// backoff.
//
// Keys that cannot be used to verify a signature safely (wrong key type,
// use "enc", no key ID, an RSA modulus shorter than 2048 bits, an algorithm
// outside the allowed list) are skipped with a log line instead of failing
// the whole set. The others are converted from their JWK form once, when
// the set is loaded: Lookup returns a Key holding the raw public key, which
// a verifier uses as it is on every request.
package jwks
