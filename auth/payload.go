package auth

import (
	"github.com/authgql/server/internal/jsonscan"
)

// The claims of a verified payload are read here, in one pass over its
// JSON, by exact name. encoding/json cannot do it into a struct: it matches
// member names case-insensitively (and with Unicode folding), so a later
// "SCOPE" or "ſcope" would stand in for "scope", or an "EXP" number hide a
// string "exp" from the type checks; claim names are case-sensitive (RFC
// 7519 section 4). Decoding into a map first and then into jwx's token, as
// this package once did, parsed every payload twice.

// rawClaims holds the JSON text of the claims the validator reads, nil when
// absent: the registered ones it checks, and the claims that grant scopes
// (Config.ScopeClaims), by their index in that list. When a name occurs
// more than once the last occurrence counts (RFC 7519 section 4 allows
// either that or refusing the token; jwx and encoding/json keep the last
// one too).
type rawClaims struct {
	exp, nbf, iat, iss, sub, aud []byte
	scopes                       [MaxScopeClaims][]byte
}

// scanClaims checks that payload is exactly one JSON object (RFC 8259:
// strings, numbers, literals, nesting up to jsonscan.MaxDepth, nothing
// after it) and returns the claims the validator reads, scopeClaims (at
// most MaxScopeClaims names) among them. A payload of JSON null is an
// object without claims, as encoding/json reads it.
func scanClaims(payload []byte, scopeClaims []string) (rawClaims, error) {
	var c rawClaims
	err := jsonscan.Object(payload, func(name, value []byte) {
		if dst := c.field(name, scopeClaims); dst != nil {
			*dst = value
		}
	})
	return c, err
}

// field returns where the claim called name goes, nil for claims the
// validator does not read.
func (c *rawClaims) field(name []byte, scopeClaims []string) *[]byte {
	for i, sc := range scopeClaims {
		if string(name) == sc { // compared, not converted: no allocation
			return &c.scopes[i]
		}
	}
	switch string(name) {
	case "exp":
		return &c.exp
	case "nbf":
		return &c.nbf
	case "iat":
		return &c.iat
	case "iss":
		return &c.iss
	case "sub":
		return &c.sub
	case "aud":
		return &c.aud
	}
	return nil
}
