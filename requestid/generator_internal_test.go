package requestid

import (
	"net/textproto"
	"strings"
	"testing"
)

// TestGenerator: IDs are 32 lowercase hex digits, never repeat within a
// generator, and two generators (two processes) start from different
// prefixes; the header key is net/http's canonical form of Header.
func TestGenerator(t *testing.T) {
	if got := textproto.CanonicalMIMEHeaderKey(Header); got != canonicalHeader {
		t.Fatalf("canonical header %q; want %q", canonicalHeader, got)
	}
	g, h := NewGenerator(), NewGenerator()
	seen := map[string]bool{}
	for range 10000 {
		id := g.New()
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" || !Valid(id) {
			t.Fatalf("ID %q is not 32 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("ID %q repeated", id)
		}
		seen[id] = true
	}
	if a, b := g.New(), h.New(); a[:16] == b[:16] {
		t.Errorf("two generators share the prefix %q", a[:16])
	}
}
