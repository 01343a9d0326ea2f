package auth

import (
	"errors"
	"fmt"
	"strings"
)

// checkCompact accepts only the compact serialization, three base64url
// parts with a non-empty signature, before any JSON is parsed. It keeps the
// JSON serialization (several signatures, unprotected headers) and stripped
// signatures out early and cheaply, in one pass without allocating. The
// caller has capped raw's length.
func checkCompact(raw string) error {
	if strings.Count(raw, ".") != 2 {
		return errors.New("not a compact JWS")
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
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}
