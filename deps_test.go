package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode: the server binary links neither
// net/http/httptest nor auth/authtest, whose helpers forge tokens.
// Development mode's issuer is package issuer, which links neither.
func TestBinaryLinksNoTestCode(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binary's packages: %v", err)
	}
	out, err := exec.Command(gocmd, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps .: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "net/http/httptest" || pkg == "testing" || strings.HasSuffix(pkg, "/authtest") {
			t.Errorf("the server binary links %s", pkg)
		}
	}
}
