package authz_test

import (
	"testing"

	"github.com/authgql/server/authz"
)

// benchQuery reads most of the demo schema: interfaces, a union, fragments,
// aliases and nested lists.
const benchQuery = `query Dashboard($text: String!) {
  publicMessage { id text sender { id name } }
  me { id name email }
  users { ...UserFields }
  node(id: "user-1") { id ... on User { name } ... on AuditEntry { action } }
  results: search(text: $text) { __typename ...UserFields ... on AuditEntry { id action } }
  auditLog { id action }
}
fragment UserFields on User { id name email }`

// BenchmarkAuthorize measures the per-request cost of the operation pass
// for a repeated query (its plan cached): a cache lookup and one Decide per
// distinct requirement; then, when something is denied, what a denial
// costs.
func BenchmarkAuthorize(b *testing.B) {
	s := loadSchema(b, demoFiles)
	e := mustEngine(b, mustPolicy(b, s), authz.Options{})
	doc, op := mustQuery(b, s, benchQuery, "")
	vars := map[string]any{"text": "a"}
	publicDoc, publicOp := mustQuery(b, s, `{ publicMessage { id text } search(text: "a") { __typename } }`, "")
	mutDoc, mutOp := mustQuery(b, s, `mutation { sendMessage(text: "hi") { id sender { name email } } }`, "")

	granted, lacking, writer := token("admin", "read:audit", "read:users"), token("read:users"), token("write:messages")
	cases := []struct {
		name  string
		run   func() authz.Result
		allow bool
	}{
		{"allowed", func() authz.Result {
			return e.Authorize(doc, op, vars, granted, testNow)
		}, true},
		{"public_anonymous", func() authz.Result { return e.Authorize(publicDoc, publicOp, nil, nil, testNow) }, true},
		{"denied_query", func() authz.Result { return e.Authorize(doc, op, vars, lacking, testNow) }, false},
		{"refused_mutation", func() authz.Result { return e.Authorize(mutDoc, mutOp, nil, writer, testNow) }, false},
	}
	for _, c := range cases {
		if got := c.run().AllowsAll(); got != c.allow {
			b.Fatalf("%s: AllowsAll() = %v", c.name, got)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.run()
			}
		})
	}
	b.Run("allowed_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Authorize(doc, op, vars, granted, testNow)
			}
		})
	})
}

// BenchmarkField measures the per-field decision a field middleware makes
// when an operation has denials.
func BenchmarkField(b *testing.B) {
	s := loadSchema(b, demoFiles)
	e := mustEngine(b, mustPolicy(b, s), authz.Options{})
	doc, op := mustQuery(b, s, benchQuery, "")
	res := e.Authorize(doc, op, map[string]any{"text": "a"}, token("read:users"), testNow)
	if res.Field("AuditEntry", "action") == nil || res.Field("User", "name") != nil {
		b.Fatal("unexpected decisions")
	}
	b.ReportAllocs()
	for b.Loop() {
		res.Field("User", "email")
	}
}

// BenchmarkPlan measures the walk that a cache hit saves: once per
// document.
func BenchmarkPlan(b *testing.B) {
	s := loadSchema(b, demoFiles)
	p := mustPolicy(b, s)
	doc, op := mustQuery(b, s, benchQuery, "")
	b.ReportAllocs()
	for b.Loop() {
		mustEngine(b, p, authz.Options{}).Plan(doc, op)
	}
}
