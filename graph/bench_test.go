package graph

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/auth"
)

// BenchmarkHandler measures a repeated query in process through the real
// GraphQL handler (NewHandler: parsing cache, validation, limits, the
// operation pass, directives, resolvers, presenter), with the claims
// auth.Middleware would put in the context, so that token validation
// (benchmarked in package auth) is left out. "allowed" reads guarded
// fields of every kind with a token granting them all: the operation pass
// then decides from its cached plan and installs nothing per field;
// "denied" is the same query without scopes.
func BenchmarkHandler(b *testing.B) {
	h, err := NewHandler(Options{Validator: testValidator(b)})
	if err != nil {
		b.Fatal(err)
	}
	const guarded = `{"query":"{ publicMessage { text sender { id } } privateMessage { text } scopedMessage { text } me { id name email } users { id name email } node(id: \"audit-1\") { id ... on AuditEntry { action } } search(text: \"a\") { ... on User { name } ... on AuditEntry { action } } auditLog { id action } }"}`
	every := &auth.Claims{Subject: "bench", Scopes: []string{"read:messages", "read:users", "read:audit", "admin"}, ValidUntil: time.Now().Add(time.Hour)}
	none := &auth.Claims{Subject: "bench", ValidUntil: time.Now().Add(time.Hour)}
	for _, bb := range []struct {
		name   string
		body   string
		claims *auth.Claims
	}{
		{"public anonymous", `{"query":"{ publicMessage { text } }"}`, nil},
		{"allowed", guarded, every},
		{"denied", guarded, none},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(bb.body))
				req.Header.Set("Content-Type", "application/json")
				if bb.claims != nil {
					req = req.WithContext(auth.NewContext(req.Context(), bb.claims))
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
