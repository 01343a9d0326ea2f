package auth

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/authgql/server/internal/jsonscan"
)

// TestScanClaimsDepth: arrays and objects nest as deeply as encoding/json
// allows, and no deeper.
func TestScanClaimsDepth(t *testing.T) {
	for _, depth := range []int{jsonscan.MaxDepth - 1, jsonscan.MaxDepth, jsonscan.MaxDepth + 1} {
		inner := depth - 1 // the payload object is one level
		payload := `{"exp":1,"x":` + strings.Repeat("[", inner) + strings.Repeat("]", inner) + `}`
		_, err := scanClaims([]byte(payload), DefaultScopeClaims())
		var m map[string]json.RawMessage
		jsonErr := json.Unmarshal([]byte(payload), &m)
		if (err == nil) != (jsonErr == nil) {
			t.Errorf("nesting %d: scanClaims err = %v; encoding/json: %v", depth, err, jsonErr)
		}
		if (err == nil) != (depth <= jsonscan.MaxDepth) {
			t.Errorf("nesting %d: scanClaims err = %v", depth, err)
		}
	}
}

// TestScanClaimsAllocates: reading the claims of a typical payload
// allocates nothing.
func TestScanClaimsAllocates(t *testing.T) {
	payload := []byte(`{"iss":"https://tenant.auth0.com/","sub":"auth0|123","aud":["https://api","https://tenant.auth0.com/userinfo"],"iat":1931526566,"exp":1931530166,"scope":"openid profile read:messages","permissions":["read:messages"],"azp":"abc","gty":"password"}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = scanClaims(payload, DefaultScopeClaims()) }); n != 0 {
		t.Errorf("scanClaims allocates %v times; want 0", n)
	}
}
