// Package jsonscan reads JSON text (RFC 8259) exactly and cheaply: the
// members of one top-level object, by their exact names, with each value
// as its raw text, decoded only when a caller asks. It exists because
// encoding/json matches struct fields case-insensitively (a "SCOPE" member
// would fill a Scope field), keeps the last of duplicated names without
// saying so, and through its Decoder's token API allocates for every
// token; the validated-token path (a JWT's claims) and the GraphQL request
// body both need exact names, and both run on every request.
//
// What Object accepts is exactly what encoding/json accepts for a value
// of type map[string]json.RawMessage, nesting limit included (MaxDepth);
// a fuzz target in package auth checks the two agree.
package jsonscan

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deeply arrays and objects may nest, the top-level
// object included: encoding/json's own limit, so that what it accepts
// Object accepts too.
const MaxDepth = 10000

// ErrNotObject is Object's error for text that is not exactly one JSON
// object (or null).
var ErrNotObject = errors.New("jsonscan: not one JSON object")

// Object checks that b is exactly one JSON object (RFC 8259: strings,
// numbers, literals, nesting up to MaxDepth, white space around it,
// nothing after it) and calls member with each member's name (decoded,
// when it has escapes) and raw value text, in order; duplicated names are
// passed each time. A b of JSON null is an object without members, as
// encoding/json reads it. It allocates nothing unless a name has escapes
// or invalid UTF-8.
func Object(b []byte, member func(name, value []byte)) error {
	s := scanner{b: b}
	s.skipSpace()
	if s.literal("null") {
		if s.skipSpace(); s.i != len(s.b) {
			return ErrNotObject
		}
		return nil
	}
	if !s.consume('{') {
		return ErrNotObject
	}
	s.skipSpace()
	if !s.consume('}') {
		for {
			s.skipSpace()
			name, ok := s.name()
			if !ok {
				return ErrNotObject
			}
			s.skipSpace()
			if !s.consume(':') {
				return ErrNotObject
			}
			s.skipSpace()
			start := s.i
			if !s.value(2) { // the object itself is depth 1
				return ErrNotObject
			}
			member(name, s.b[start:s.i])
			s.skipSpace()
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return ErrNotObject
			}
		}
	}
	if s.skipSpace(); s.i != len(s.b) {
		return ErrNotObject
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
	if Plain(raw) {
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
		return depth <= MaxDepth && s.container(depth)
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

// Plain reports whether raw, a scanned JSON string with its quotes, means
// exactly the bytes between them: no escapes, valid UTF-8.
func Plain(raw []byte) bool {
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
// and lone surrogates). Rare in access tokens and requests, so it may
// allocate.
func decodeString(raw []byte) (string, error) {
	var str string
	err := json.Unmarshal(raw, &str)
	return str, err
}

// String returns what v, a scanned JSON value, means as a string, and
// whether it is a string.
func String(v []byte) (string, bool) {
	if !IsString(v) {
		return "", false
	}
	if Plain(v) {
		return string(v[1 : len(v)-1]), true
	}
	str, err := decodeString(v)
	return str, err == nil
}

// IsString, IsNumber, IsObject and IsNull tell the type of a scanned
// value from its first bytes.
func IsString(v []byte) bool { return len(v) > 0 && v[0] == '"' }

func IsNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') }

func IsObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

func IsNull(v []byte) bool { return len(v) == 4 && v[0] == 'n' }

// AppendString appends what v, a scanned JSON value, means to b, and
// reports whether v is a string.
func AppendString(b *strings.Builder, v []byte) bool {
	if !IsString(v) {
		return false
	}
	if Plain(v) {
		b.Write(v[1 : len(v)-1])
		return true
	}
	str, err := decodeString(v)
	b.WriteString(str)
	return err == nil
}

// Elements calls f with each element of v, a scanned JSON value, and
// reports whether v is an array. It stops, returning false, at the first
// false from f.
func Elements(v []byte, f func(elem []byte) bool) bool {
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
