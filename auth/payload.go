package auth

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// The claims of a verified payload are read here, in one pass over its
// JSON, by exact name. encoding/json cannot do it into a struct: it matches
// member names case-insensitively (and with Unicode folding), so a later
// "SCOPE" or "ſcope" would stand in for "scope", or an "EXP" number hide a
// string "exp" from the type checks; claim names are case-sensitive (RFC
// 7519 section 4). Decoding into a map first and then into jwx's token, as
// this package once did, parsed every payload twice.

// maxPayloadDepth is how deeply arrays and objects may nest in a payload:
// encoding/json's own limit, so that what it accepted still validates.
const maxPayloadDepth = 10000

// errNotJSONObject is the cause for a payload that is not one JSON object.
var errNotJSONObject = errors.New("payload is not a JSON object")

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
// strings, numbers, literals, nesting up to maxPayloadDepth, nothing
// after it) and returns the claims the validator reads, scopeClaims (at
// most MaxScopeClaims names) among them. A payload of JSON null is an
// object without claims, as encoding/json reads it.
func scanClaims(payload []byte, scopeClaims []string) (rawClaims, error) {
	var c rawClaims
	s := scanner{b: payload}
	s.skipSpace()
	if s.literal("null") {
		if s.skipSpace(); s.i != len(s.b) {
			return c, errNotJSONObject
		}
		return c, nil
	}
	if !s.consume('{') {
		return c, errNotJSONObject
	}
	s.skipSpace()
	if !s.consume('}') {
		for {
			s.skipSpace()
			name, ok := s.name()
			if !ok {
				return c, errNotJSONObject
			}
			s.skipSpace()
			if !s.consume(':') {
				return c, errNotJSONObject
			}
			s.skipSpace()
			start := s.i
			if !s.value(2) { // the object itself is depth 1
				return c, errNotJSONObject
			}
			if dst := c.field(name, scopeClaims); dst != nil {
				*dst = s.b[start:s.i]
			}
			s.skipSpace()
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return c, errNotJSONObject
			}
		}
	}
	if s.skipSpace(); s.i != len(s.b) {
		return c, errNotJSONObject
	}
	return c, nil
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

// scanner reads JSON text (RFC 8259) from b at i. Its methods report
// whether the text at i is what they read, and leave i after it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// name reads a member name and returns what it means. Names without
// escapes (all of the ones the validator reads, as issuers write them) come
// back without a copy; escaped ones ("\u0065xp" is "exp") are decoded.
func (s *scanner) name() ([]byte, bool) {
	start := s.i
	if !s.string() {
		return nil, false
	}
	raw := s.b[start:s.i]
	if plain(raw) {
		return raw[1 : len(raw)-1], true
	}
	str, err := decodeString(raw)
	return []byte(str), err == nil
}

// value reads one JSON value; if it is an object or an array, it is the
// depth-th one it is nested in (the payload itself is the first).
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.string()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == '{' || c == '[':
		return depth <= maxPayloadDepth && s.container(depth)
	}
	return s.literal("true") || s.literal("false") || s.literal("null")
}

// container reads an object or an array.
func (s *scanner) container(depth int) bool {
	object := s.b[s.i] == '{'
	closing := byte(']')
	if object {
		closing = '}'
	}
	s.i++
	s.skipSpace()
	if s.consume(closing) {
		return true
	}
	for {
		s.skipSpace()
		if object {
			if !s.string() {
				return false
			}
			s.skipSpace()
			if !s.consume(':') {
				return false
			}
			s.skipSpace()
		}
		if !s.value(depth + 1) {
			return false
		}
		s.skipSpace()
		if s.consume(closing) {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// string reads a string: no control characters, only the escapes of RFC
// 8259 section 7. Like encoding/json, it lets invalid UTF-8 through
// (decoding turns it into U+FFFD).
func (s *scanner) string() bool {
	if !s.consume('"') {
		return false
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i >= len(s.b) {
				return false
			}
			e := s.b[s.i]
			s.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 4 {
					return false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// (no leading zeros, no NaN or Infinity).
func (s *scanner) number() bool {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.consume('.') && !s.digits() {
		return false
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// plain reports whether raw, a scanned JSON string with its quotes, means
// exactly the bytes between them: no escapes, valid UTF-8.
func plain(raw []byte) bool {
	inner := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range inner {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(inner)
}

// decodeString decodes a scanned JSON string with escapes or invalid UTF-8
// exactly as encoding/json does (surrogate pairs; U+FFFD for invalid UTF-8
// and lone surrogates). Rare in access tokens, so it may allocate.
func decodeString(raw []byte) (string, error) {
	var str string
	err := json.Unmarshal(raw, &str)
	return str, err
}

// isJSONString and isJSONNumber tell the type of a scanned value from its
// first byte.
func isJSONString(v []byte) bool { return len(v) > 0 && v[0] == '"' }

func isJSONNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') }

// appendString appends what v, a scanned JSON value, means to b, and
// reports whether v is a string.
func appendString(b *strings.Builder, v []byte) bool {
	if !isJSONString(v) {
		return false
	}
	if plain(v) {
		b.Write(v[1 : len(v)-1])
		return true
	}
	str, err := decodeString(v)
	b.WriteString(str)
	return err == nil
}

// eachElement calls f with each element of v, a scanned JSON value, and
// reports whether v is an array. It stops, returning false, at the first
// false from f.
func eachElement(v []byte, f func(elem []byte) bool) bool {
	s := scanner{b: v}
	if !s.consume('[') {
		return false
	}
	s.skipSpace()
	if s.consume(']') {
		return true
	}
	for {
		s.skipSpace()
		start := s.i
		if !s.value(2) || !f(v[start:s.i]) {
			return false
		}
		s.skipSpace()
		if s.consume(']') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}
