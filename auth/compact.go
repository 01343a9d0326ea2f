package auth

import (
	"errors"
	"fmt"
	"strings"
)

var errNotCompact = errors.New("not a compact JWS")

// checkCompact accepts only the compact serialization, three base64url
// parts with a non-empty signature, before any JSON is parsed. It keeps the
// JSON serialization (several signatures, unprotected headers) and stripped
// signatures out early and cheaply, in one pass without allocating. The
// caller has capped raw's length.
func checkCompact(raw string) error {
	if strings.Count(raw, ".") != 2 {
		return errNotCompact
	}
	rest := raw
	for i := range 3 {
		part, after, _ := strings.Cut(rest, ".")
		rest = after
		if part == "" {
			return fmt.Errorf("empty part %d", i)
		}
		for j := 0; j < len(part); j++ {
			if base64URLValue(part[j]) < 0 {
				return fmt.Errorf("part %d is not base64url", i)
			}
		}
		// jwx decodes leniently and verifies the re-encoded bytes, so a last
		// character with non-zero unused bits would verify like the
		// canonical one: one token, several spellings (which defeats deny
		// lists and the token cache). Accept only the canonical spelling:
		// a length of 1 mod 4 is never valid, and with 2 or 3 the last
		// character's low 4 or 2 bits are unused and must be zero. Checking
		// the bits, rather than decoding, keeps this free of allocations on
		// every request.
		last := base64URLValue(part[len(part)-1])
		switch len(part) % 4 {
		case 1:
			return fmt.Errorf("part %d has an impossible base64url length", i)
		case 2:
			if last&0x0f != 0 {
				return fmt.Errorf("part %d is not canonical base64url", i)
			}
		case 3:
			if last&0x03 != 0 {
				return fmt.Errorf("part %d is not canonical base64url", i)
			}
		}
	}
	return nil
}

// base64URLValue is the 6-bit value of a base64url character, or -1.
func base64URLValue(c byte) int {
	if v := base64URLValues[c]; v != 0xff {
		return int(v)
	}
	return -1
}

// base64URLValues maps each byte to its value in the base64url alphabet
// (RFC 4648 section 5), 0xff for bytes outside it: a table rather than
// comparisons, as every byte of every uncached token goes through it.
const base64URLValues = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3e\xff\xff" +
	"\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\xff\xff\xff\xff\xff\xff" +
	"\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e" +
	"\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\xff\xff\xff\xff\x3f" +
	"\xff\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x24\x25\x26\x27\x28" +
	"\x29\x2a\x2b\x2c\x2d\x2e\x2f\x30\x31\x32\x33\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
