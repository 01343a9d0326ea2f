package auth

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestCheckCompactMatchesStrictDecoding: the bit check accepts exactly what
// strict base64url decoding accepts.
func TestCheckCompactMatchesStrictDecoding(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, 1+r.IntN(7))
		for i := range b {
			b[i] = alphabet[r.IntN(64)]
		}
		part := string(b)
		_, decErr := base64.RawURLEncoding.Strict().DecodeString(part)
		err := checkCompact(part + ".e30.c2ln")
		if (decErr == nil) != (err == nil) {
			t.Fatalf("%q: strict decoding %v, checkCompact %v", part, decErr, err)
		}
	}
}
