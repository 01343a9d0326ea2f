package main

import (
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode: the server binary links neither
// net/http/httptest nor auth/authtest, whose helpers forge tokens.
// Development mode's issuer is package issuer, which links neither.
func TestBinaryLinksNoTestCode(t *testing.T) {
	for _, pkg := range strings.Fields(string(goCommand(t, "list", "-deps", "."))) {
		if pkg == "net/http/httptest" || pkg == "testing" || strings.HasSuffix(pkg, "/authtest") {
			t.Errorf("the server binary links %s", pkg)
		}
	}
}
