package authz_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// describe prints an error of the engine as the tests expect it:
// the reason, and the requirement with a FORBIDDEN one.
func describe(t *testing.T, err error) string {
	t.Helper()
	var e *auth.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	if e.Reason == auth.ReasonInsufficientScope {
		return fmt.Sprintf("%s (%s)", e.Reason, authz.RequiresScopes(e.RequiredScopes))
	}
	return string(e.Reason)
}

// deniedFields asks res about every field instance the operation can
// execute with vars (the reference enumeration) and lists those it denies.
func deniedFields(t *testing.T, s *ast.Schema, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, res authz.Result) []string {
	t.Helper()
	var out []string
	for p := range executedPairs(s, doc, op, vars) {
		if err := res.Field(p.typ, p.field); err != nil {
			out = append(out, p.typ+"."+p.field+": "+describe(t, err))
		}
	}
	slices.Sort(out)
	return out
}

const (
	missing = "authorization_header_missing"
	expired = "token_expired"
)

func forbidden(requirement string) string {
	return "insufficient_scope (" + requirement + ")"
}

func TestQueryFields(t *testing.T) {
	expiredToken := &auth.Claims{Subject: "user-1", Scopes: []string{"read:users"}, ValidUntil: testNow}
	everything := token("admin", "read:audit", "read:users", "read:messages", "secret", "level2", "guard")
	tests := []struct {
		name      string
		files     []string
		query     string
		vars      map[string]any
		claims    *auth.Claims
		allowsAll bool
		want      []string // "Type.field: reason", sorted
	}{
		{name: "public only, anonymous",
			query:     `{ publicMessage { text sender { __typename } } }`,
			allowsAll: true},
		{name: "root field denied, anonymous",
			query: `{ publicMessage { text } privateMessage { text } }`,
			want:  []string{"Query.privateMessage: " + missing}},
		{name: "type directive through an interface",
			query: `{ node(id: "user-1") { id ... on User { name } } }`,
			want: []string{
				"AuditEntry.id: " + missing,
				"User.id: " + missing,
				"User.name: " + missing,
			}},
		{name: "type directive through a union",
			query: `{ search(text: "a") { ... on User { name } } }`,
			want:  []string{"User.name: " + missing}},
		{name: "type directive through a named fragment",
			query:  `query { search(text: "a") { ...U } } fragment U on User { name email }`,
			claims: token(),
			want:   []string{"User.email: " + forbidden("scopes: read:users OR admin")}},
		{name: "type directive through a field returning the type",
			query:  `{ publicMessage { sender { id } } }`,
			claims: nil,
			want:   []string{"User.id: " + missing}},
		{name: "same response key under two type conditions, one denied",
			query:  `{ search(text: "") { ... on User { x: name } ... on AuditEntry { x: action } } }`,
			claims: token("read:users"),
			want:   []string{"AuditEntry.action: " + forbidden("scopes: read:audit AND read:users")}},
		{name: "same field under two fragments, one denied",
			query:  `query { search(text: "") { ...U ...A } } fragment U on User { id } fragment A on AuditEntry { id }`,
			claims: token("read:users"),
			want:   []string{"AuditEntry.id: " + forbidden("scopes: read:audit AND read:users")}},
		{name: "list of union items, some types denied",
			query:  `{ search(text: "") { __typename ... on User { name } ... on AuditEntry { action } } }`,
			claims: token("read:users"),
			want:   []string{"AuditEntry.action: " + forbidden("scopes: read:audit AND read:users")}},
		{name: "denied non-null fields",
			query:  `{ auditLog { id action } }`,
			claims: token(),
			want: []string{
				"AuditEntry.action: " + forbidden("scopes: read:audit AND read:users"),
				"AuditEntry.id: " + forbidden("scopes: read:audit AND read:users"),
			}},
		{name: "aliases",
			query: `{ a: me { n: name } b: publicMessage { t: text } }`,
			want:  []string{"Query.me: " + missing, "User.name: " + missing}},
		{name: "__typename is always readable",
			query:     `{ node(id: "x") { __typename } search(text: "") { __typename } }`,
			allowsAll: true},
		{name: "introspection is always readable",
			query:     `{ __schema { types { name } } __type(name: "User") { fields { name } } }`,
			allowsAll: true},
		{name: "expired token",
			query:  `{ publicMessage { text } privateMessage { text } }`,
			claims: expiredToken,
			want:   []string{"Query.privateMessage: " + expired}},
		{name: "literal @include(if: false) is not read",
			query:     `{ publicMessage { text } me @include(if: false) { id } }`,
			allowsAll: true},
		{name: "literal @skip(if: true) on a fragment is not read",
			query:     `query { publicMessage { text } ...M @skip(if: true) } fragment M on Query { me { id } }`,
			allowsAll: true},
		{name: "variable @skip: reachable, so decided per field, but never executed",
			query: `query($s: Boolean!) { publicMessage { text } me @skip(if: $s) { id } }`,
			vars:  map[string]any{"s": true}},
		{name: "variable @skip: executed",
			query: `query($s: Boolean!) { publicMessage { text } me @skip(if: $s) { id } }`,
			vars:  map[string]any{"s": false},
			want:  []string{"Query.me: " + missing, "User.id: " + missing}},
		{name: "everything granted",
			files:     trapFiles,
			query:     `{ me { id email } users { name } node(id: "x") { id ... on Vault { level label } } search(text: "") { ... on AuditEntry { action } } auditLog { id } secrets { code level } guarded(id: "x") }`,
			claims:    everything,
			allowsAll: true},
		{name: "interface type directive on every implementing type",
			files:  trapFiles,
			query:  `{ secrets { code level } vault { label } }`,
			claims: token(),
			want: []string{
				"Vault.code: " + forbidden("scopes: secret"),
				"Vault.label: " + forbidden("scopes: secret"),
				"Vault.level: " + forbidden("scopes: secret AND level2"),
			}},
		{name: "interface field directive on the implementation",
			files:  trapFiles,
			query:  `{ secrets { code ... on Vault { level } } }`,
			claims: token("secret"),
			want:   []string{"Vault.level: " + forbidden("scopes: secret AND level2")}},
	}
	engines := map[string]*authz.Engine{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if files == nil {
				files = demoFiles
			}
			s := loadSchema(t, files)
			key := strings.Join(files, ",")
			if engines[key] == nil {
				engines[key] = mustEngine(t, mustPolicy(t, s), authz.Options{})
			}
			doc, op := mustQuery(t, s, tt.query, "")
			res := engines[key].Authorize(doc, op, tt.vars, tt.claims, testNow)
			if got := res.AllowsAll(); got != tt.allowsAll {
				t.Errorf("AllowsAll() = %v; want %v", got, tt.allowsAll)
			}
			if res.Denials() != nil {
				t.Errorf("Denials() = %v; a query has none", res.Denials())
			}
			if diff := cmp.Diff(tt.want, deniedFields(t, s, doc, op, tt.vars, res)); diff != "" {
				t.Errorf("denied fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMutationAndSubscriptionDenials(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		vars   map[string]any
		claims *auth.Claims
		want   []string // "path: reason", in document order
	}{
		{name: "allowed root, denied nested field",
			query:  `mutation { sendMessage(text: "hi") { id sender { name email } } }`,
			claims: token("write:messages"),
			want:   []string{"sendMessage.sender.email: " + forbidden("scopes: read:users OR admin")}},
		{name: "everything allowed",
			query:  `mutation { sendMessage(text: "hi") { id sender { name email } } }`,
			claims: token("write:messages", "admin")},
		{name: "anonymous: one error per denied path",
			query: `mutation { sendMessage(text: "hi") { id sender { id name } } }`,
			want: []string{
				"sendMessage: " + missing,
				"sendMessage.sender.id: " + missing,
				"sendMessage.sender.name: " + missing,
			}},
		{name: "aliases in the path",
			query:  `mutation { m: sendMessage(text: "hi") { s: sender { e: email } } }`,
			claims: token("write:messages"),
			want:   []string{"m.s.e: " + forbidden("scopes: read:users OR admin")}},
		{name: "through fragments",
			query:  `mutation { sendMessage(text: "hi") { ...M } } fragment M on Message { sender { ...U } } fragment U on User { email }`,
			claims: token("write:messages"),
			want:   []string{"sendMessage.sender.email: " + forbidden("scopes: read:users OR admin")}},
		{name: "variable used only in a denied field",
			query:  `mutation($id: ID!) { deleteMessage(id: $id) }`,
			vars:   map[string]any{"id": "m-1"},
			claims: token(),
			want:   []string{"deleteMessage: " + forbidden("scopes: delete:messages OR admin")}},
		{name: "abstract result: every possible type, one path",
			query:  `mutation { pick(id: "x") { id } }`,
			claims: token("read:users"),
			want:   []string{"pick.id: " + forbidden("scopes: read:audit AND read:users AND secret")}},
		{name: "abstract result, anonymous: still one error per path",
			query: `mutation { pick(id: "x") { id } }`,
			want:  []string{"pick.id: " + missing}},
		{name: "same response key under two type conditions: the scopes granting both",
			query:  `mutation { pick(id: "x") { ... on User { x: email } ... on Vault { x: code } } }`,
			claims: token(),
			want:   []string{"pick.x: " + forbidden("scopes: (read:users AND secret) OR (admin AND secret)")}},
		{name: "same response key under two type conditions, one allowed",
			query:  `mutation { pick(id: "x") { ... on User { x: email } ... on Vault { x: code } } }`,
			claims: token("admin"),
			want:   []string{"pick.x: " + forbidden("scopes: secret")}},
		{name: "same response key in a list of union items, one denied",
			query:  `mutation { find(text: "") { ... on User { x: name } ... on AuditEntry { x: action } } }`,
			claims: token(),
			want:   []string{"find.x: " + forbidden("scopes: read:audit AND read:users")}},
		{name: "a type condition that cannot apply",
			query:  `mutation { find(text: "") { ... on User { name } } }`,
			claims: token()},
		{name: "__typename",
			query: `mutation { __typename }`},
		{name: "expired token",
			query:  `mutation { stash { id } }`,
			claims: &auth.Claims{Subject: "u", Scopes: []string{"secret"}, ValidUntil: testNow.Add(-time.Second)},
			want:   []string{"stash: " + expired, "stash.id: " + expired}},
		{name: "variable @skip true",
			query:  `mutation($s: Boolean!) { sendMessage(text: "hi") { id sender @skip(if: $s) { email } } }`,
			vars:   map[string]any{"s": true},
			claims: token("write:messages")},
		{name: "variable @skip false",
			query:  `mutation($s: Boolean!) { sendMessage(text: "hi") { id sender @skip(if: $s) { email } } }`,
			vars:   map[string]any{"s": false},
			claims: token("write:messages"),
			want:   []string{"sendMessage.sender.email: " + forbidden("scopes: read:users OR admin")}},
		{name: "variable @include with its default",
			query:  `mutation($i: Boolean = false) { sendMessage(text: "hi") { id ... @include(if: $i) { sender { email } } } }`,
			claims: token("write:messages")},
		{name: "subscription: refused at start for a nested field",
			query:  `subscription { messageSent { text sender { email } } }`,
			claims: token("read:messages"),
			want:   []string{"messageSent.sender.email: " + forbidden("scopes: read:users OR admin")}},
		{name: "subscription: anonymous",
			query: `subscription { messageSent { text } }`,
			want:  []string{"messageSent: " + missing}},
	}
	s := loadSchema(t, trapFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, op := mustQuery(t, s, tt.query, "")
			res := e.Authorize(doc, op, tt.vars, tt.claims, testNow)
			var got []string
			for _, d := range res.Denials() {
				got = append(got, d.Path.String()+": "+describe(t, d.Err))
				if d.Position == nil {
					t.Errorf("denial at %s has no position", d.Path)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Denials() (-want +got):\n%s", diff)
			}
			if res.AllowsAll() != (len(tt.want) == 0) {
				t.Errorf("AllowsAll() = %v with %d denials", res.AllowsAll(), len(tt.want))
			}
		})
	}
}

func TestDenialPosition(t *testing.T) {
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{})
	doc, op := mustQuery(t, s, "mutation {\n  sendMessage(text: \"hi\") {\n    sender { email }\n  }\n}", "")
	d := e.Authorize(doc, op, nil, token("write:messages"), testNow).Denials()
	if len(d) != 1 {
		t.Fatalf("Denials() = %v; want one", d)
	}
	if got := fmt.Sprintf("%d:%d", d[0].Position.Line, d[0].Position.Column); got != "3:14" {
		t.Errorf("position = %s; want 3:14 (email)", got)
	}
}

// TestDocumentUntouched checks that nothing is rewritten: a variable used
// only inside a denied field stays used, and the document prints and
// validates the same after the pass.
func TestDocumentUntouched(t *testing.T) {
	s := loadSchema(t, trapFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{})
	for _, q := range []string{
		`query($id: ID!) { publicMessage { text } guarded(id: $id) }`,
		`mutation($id: ID!) { deleteMessage(id: $id) }`,
	} {
		doc, op := mustQuery(t, s, q, "")
		var before, after bytes.Buffer
		formatter.NewFormatter(&before).FormatQueryDocument(doc)
		res := e.Authorize(doc, op, map[string]any{"id": "x"}, token(), testNow)
		if res.AllowsAll() {
			t.Fatalf("%s: nothing denied", q)
		}
		formatter.NewFormatter(&after).FormatQueryDocument(doc)
		if before.String() != after.String() {
			t.Errorf("the document changed:\n%s\nbecame\n%s", before.String(), after.String())
		}
		if errs := validator.Validate(s, doc); len(errs) > 0 {
			t.Errorf("the document no longer validates: %v", errs)
		}
	}
}

// TestVariablesDecidedPerRequest runs one cached plan with variables that
// include and skip the denied field, in both orders.
func TestVariablesDecidedPerRequest(t *testing.T) {
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{})
	doc, op := mustQuery(t, s, `mutation($s: Boolean!, $i: Boolean!) { sendMessage(text: "hi") { id sender @skip(if: $s) { name ... @include(if: $i) { email } } } }`, "")
	if !e.Plan(doc, op).VariableConditions() {
		t.Error("VariableConditions() = false")
	}
	for _, tt := range []struct {
		s, i    bool
		refused bool
	}{{true, true, false}, {false, true, true}, {false, false, false}, {true, false, false}, {false, true, true}} {
		res := e.Authorize(doc, op, map[string]any{"s": tt.s, "i": tt.i}, token("write:messages"), testNow)
		if got := len(res.Denials()) > 0; got != tt.refused {
			t.Errorf("skip %v include %v: refused = %v; want %v", tt.s, tt.i, got, tt.refused)
		}
	}
	if e.Plan(doc, op) != e.Plan(doc, op) {
		t.Error("the plan is not cached")
	}
}

// TestFragmentReuseStaysLinear spreads each fragment of a chain of 40 twice:
// expanded, that is 2^40 fields. With a walk budget of 100 field visits, a
// walk that expanded it would run out and decide conservatively (every
// requirement reached, the mutation refused without a path).
func TestFragmentReuseStaysLinear(t *testing.T) {
	const depth = 40
	var frags strings.Builder
	for i := range depth {
		fmt.Fprintf(&frags, "fragment F%d on Message { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&frags, "fragment F%d on Message { text sender { name email } }\n", depth)
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{MaxFieldVisits: 100})

	doc, op := mustQuery(t, s, "query { publicMessage { ...F0 } }\n"+frags.String(), "")
	if !e.Authorize(doc, op, nil, token("read:users"), testNow).AllowsAll() {
		t.Error("query: not AllowsAll; the walk ran out of budget")
	}

	doc, op = mustQuery(t, s, `mutation { sendMessage(text: "x") { ...F0 } }`+"\n"+frags.String(), "")
	var got []string
	for _, d := range e.Authorize(doc, op, nil, token("write:messages"), testNow).Denials() {
		got = append(got, d.Path.String())
	}
	if diff := cmp.Diff([]string{"sendMessage.sender.email"}, got); diff != "" {
		t.Errorf("mutation denials (-want +got):\n%s", diff)
	}
}

// TestWalkBudget checks the conservative decision when an operation is too
// large to walk.
func TestWalkBudget(t *testing.T) {
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{MaxFieldVisits: 1})

	doc, op := mustQuery(t, s, `{ publicMessage { id text } }`, "")
	res := e.Authorize(doc, op, nil, token(), testNow)
	if res.AllowsAll() {
		t.Error("query over budget: AllowsAll() = true; want every requirement counted as reached")
	}
	if err := res.Field("Message", "text"); err != nil {
		t.Errorf("Field(Message.text) = %v; a public field stays readable", err)
	}

	doc, op = mustQuery(t, s, `mutation { sendMessage(text: "x") { id text } }`, "")
	d := e.Authorize(doc, op, nil, token("write:messages"), testNow).Denials()
	if len(d) != 1 || d[0].Path != nil {
		t.Fatalf("mutation over budget: Denials() = %v; want one without a path", d)
	}
	if _, ok := errors.AsType[*auth.Error](d[0].Err); !ok {
		t.Errorf("the denial's error is %T", d[0].Err)
	}
}

func TestNewEngine(t *testing.T) {
	p := mustPolicy(t, loadSchema(t, demoFiles))
	for _, opts := range []authz.Options{{PlanCacheSize: -1}, {MaxFieldVisits: -1}} {
		if _, err := authz.NewEngine(p, opts); err == nil {
			t.Errorf("NewEngine(%+v) accepted negative settings", opts)
		}
	}
	if _, err := authz.NewEngine(nil, authz.Options{}); err == nil {
		t.Error("NewEngine(nil) accepted no policy")
	}
}

func TestPlanCacheBounded(t *testing.T) {
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{PlanCacheSize: 2})
	type op struct {
		doc *ast.QueryDocument
		op  *ast.OperationDefinition
	}
	var ops []op
	for i := range 5 {
		doc, o := mustQuery(t, s, fmt.Sprintf(`{ a%d: publicMessage { text } }`, i), "")
		ops = append(ops, op{doc, o})
	}
	first := e.Plan(ops[0].doc, ops[0].op)
	if e.Plan(ops[0].doc, ops[0].op) != first {
		t.Fatal("a repeated operation is planned again")
	}
	for _, o := range ops[1:] {
		e.Plan(o.doc, o.op)
	}
	if e.Plan(ops[0].doc, ops[0].op) == first {
		t.Error("5 operations in a cache of 2: the first one is still cached")
	}
	last := e.Plan(ops[4].doc, ops[4].op)
	if e.Plan(ops[4].doc, ops[4].op) != last {
		t.Error("the last operation is not cached")
	}
}

func TestNamedOperations(t *testing.T) {
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{})
	const q = `query Pub { publicMessage { text } } query Priv { privateMessage { text } }`
	doc, pub := mustQuery(t, s, q, "Pub")
	_, priv := mustQuery(t, s, q, "Priv")
	priv = doc.Operations.ForName(priv.Name)
	if !e.Authorize(doc, pub, nil, nil, testNow).AllowsAll() {
		t.Error("Pub: not AllowsAll")
	}
	if e.Authorize(doc, priv, nil, nil, testNow).AllowsAll() {
		t.Error("Priv: AllowsAll; the plan of Pub was reused")
	}
}

// TestConcurrentAuthorize runs the engine from many goroutines (go test
// -race checks the cache).
func TestConcurrentAuthorize(t *testing.T) {
	s := loadSchema(t, demoFiles)
	e := mustEngine(t, mustPolicy(t, s), authz.Options{PlanCacheSize: 3})
	var docs []*ast.QueryDocument
	for i := range 8 {
		doc, _ := mustQuery(t, s, fmt.Sprintf(`{ a%d: me { name } }`, i), "")
		docs = append(docs, doc)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				doc := docs[(g+i)%len(docs)]
				res := e.Authorize(doc, doc.Operations[0], nil, nil, testNow)
				if err := res.Field("User", "name"); err == nil {
					t.Error("User.name allowed to an anonymous caller")
					return
				}
			}
		})
	}
	wg.Wait()
}
