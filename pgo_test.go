package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultPGOProfile: default.pgo, which go build applies to the
// server (scripts/pgo.sh), is a CPU profile of the server under load:
// pprof reads it, it holds seconds of samples, not an idle process's, and
// its hot paths are this server's: the GraphQL handler, the token
// validator and a signature check.
func TestDefaultPGOProfile(t *testing.T) {
	top := string(goCommand(t, "tool", "pprof", "-top", "-cum", "-nodecount=200", "default.pgo"))
	m := regexp.MustCompile(`Total samples = ([0-9.]+)(m?s)`).FindStringSubmatch(top)
	if m == nil {
		t.Fatalf("no sample total in pprof's output:\n%s", top)
	}
	total, _ := strconv.ParseFloat(m[1], 64)
	if m[2] == "ms" {
		total /= 1000
	}
	if total < 5 {
		t.Errorf("default.pgo holds %.2fs of samples; a profile under load (scripts/pgo.sh) holds tens", total)
	}
	for _, fn := range []string{
		"github.com/authgql/server/graph.(*Handler).ServeHTTP",
		"github.com/authgql/server/auth.(*Validator).Validate",
		"crypto/rsa.VerifyPKCS1v15",
	} {
		if !strings.Contains(top, fn) {
			t.Errorf("default.pgo's 200 hottest functions lack %s; regenerate it with scripts/pgo.sh", fn)
		}
	}
}
