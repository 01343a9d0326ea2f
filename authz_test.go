package main

// Tests of SPEC.md's "Authorization rules" over a real socket, with the
// traps public bug reports of GraphQL servers and gateways describe. The
// schema-driven test (schema_test.go) covers every field; these pin down
// exact responses.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/messages"
)

// wantErr is one expected GraphQL error: its path with list indexes
// ("search.2.x"), extensions.code, and extensions.requiredScopes for
// FORBIDDEN.
type wantErr struct {
	path   string
	code   string
	scopes [][]string
}

func forbidden(path string, scopes ...[]string) wantErr {
	return wantErr{path: path, code: "FORBIDDEN", scopes: scopes}
}

func unauthenticated(path string) wantErr { return wantErr{path: path, code: "UNAUTHENTICATED"} }

// fullPath is an error's path with list indexes.
func (e gqlError) fullPath() string {
	parts := make([]string, len(e.Path))
	for i, p := range e.Path {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".")
}

// wantResponse checks a 200 response: data equal to wantData (JSON) and
// exactly the errors wanted, in any order, each with a message.
func wantResponse(t *testing.T, res gqlResponse, wantData string, want ...wantErr) {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("status %d; want 200: %s", res.Status, res.Raw)
	}
	var data any
	if err := json.Unmarshal([]byte(wantData), &data); err != nil {
		t.Fatalf("bad wantData %s: %v", wantData, err)
	}
	if diff := cmp.Diff(data, res.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s\nresponse: %s", diff, res.Raw)
	}
	var got []wantErr
	for _, e := range res.Errors {
		if e.Message == "" {
			t.Errorf("error without a message: %s", res.Raw)
		}
		got = append(got, wantErr{path: e.fullPath(), code: e.Extensions.Code, scopes: e.Extensions.RequiredScopes})
	}
	byPath := func(a, b wantErr) int { return strings.Compare(a.path, b.path) }
	slices.SortFunc(got, byPath)
	want = slices.Clone(want)
	slices.SortFunc(want, byPath)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(wantErr{})); diff != "" {
		t.Errorf("errors (-want +got):\n%s\nresponse: %s", diff, res.Raw)
	}
}

// gql posts an operation with variables.
func (ts *testServer) gql(t *testing.T, query string, vars map[string]any, authorization string) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return decodeGraphQL(do(t, http.MethodPost, ts.URL+"graphql", string(body), map[string]string{"Authorization": authorization}))
}

// TestAuthorizationTraps: each case is a way an authorization layer has
// been seen to let a field through or break the response.
func TestAuthorizationTraps(t *testing.T) {
	ts := startServer(t, nil)
	tok := func(scopes ...string) string { return bearer(ts.Issuer.Token(t, authtest.Scope(scopes...))) }
	anonymous := ""
	audit := []string{"read:audit", "read:users"}
	email := [][]string{{"read:users"}, {"admin"}}
	public := fmt.Sprintf(`{"text":%q}`, "Hello from a public endpoint! You don't need to be authenticated to see this.")

	for _, tt := range []struct {
		name          string
		query         string
		vars          map[string]any
		authorization string
		data          string
		errors        []wantErr
	}{
		// A type's directive guards its fields however they are reached.
		{name: "type directive through an interface, anonymous",
			query: `{ node(id: "audit-1") { id } }`, authorization: anonymous,
			data: `{"node":null}`, errors: []wantErr{unauthenticated("node.id")}},
		{name: "type directive through an interface, a token without the scopes",
			query: `{ node(id: "audit-1") { id } }`, authorization: tok("read:users"),
			data: `{"node":null}`, errors: []wantErr{forbidden("node.id", audit)}},
		{name: "type directive through a union",
			query: `{ search(text: "login") { ... on AuditEntry { id } } }`, authorization: tok(),
			data: `{"search":[null]}`, errors: []wantErr{forbidden("search.0.id", audit)}},
		{name: "type directive through a named fragment",
			query: `query { node(id: "user-1") { ...Who } } fragment Who on User { name }`, authorization: anonymous,
			data: `{"node":null}`, errors: []wantErr{unauthenticated("node.name")}},
		{name: "type directive through a list",
			query: `{ auditLog { action } }`, authorization: tok("read:audit"),
			data:   `{"auditLog":null}`,
			errors: []wantErr{forbidden("auditLog.0.action", audit), forbidden("auditLog.1.action", audit)}},
		{name: "the type's directive holds, the field's own does not",
			query: `{ node(id: "user-1") { ... on User { name email } } }`, authorization: tok(),
			data: `{"node":{"name":"Ada Lovelace","email":null}}`, errors: []wantErr{forbidden("node.email", email...)}},
		{name: "a field is not guarded by the directive of the type it returns",
			query: `{ publicMessage { sender { __typename } } }`, authorization: anonymous,
			data: `{"publicMessage":{"sender":null}}`},

		// Response keys.
		{name: "two fragments, one response key, two type conditions: one allowed, one denied",
			query:         `query { search(text: "") { ...U ...A } } fragment U on User { x: name } fragment A on AuditEntry { x: action }`,
			authorization: tok("read:users"),
			data:          `{"search":[{"x":"Ada Lovelace"},{"x":"Grace Hopper"},null,null]}`,
			errors:        []wantErr{forbidden("search.2.x", audit), forbidden("search.3.x", audit)}},
		{name: "aliases",
			query: `{ who: me { n: name } b: publicMessage { text } }`, authorization: anonymous,
			data: `{"who":null,"b":` + public + `}`, errors: []wantErr{unauthenticated("who")}},
		{name: "an alias on a denied nested field",
			query: `{ me { id mail: email } }`, authorization: tok(),
			data: `{"me":{"id":"auth0|authtest-user","mail":null}}`, errors: []wantErr{forbidden("me.mail", email...)}},

		// Variables.
		{name: "a variable used only inside a denied field",
			query: `query($full: Boolean!) { publicMessage { text } me { name @include(if: $full) } }`,
			vars:  map[string]any{"full": true}, authorization: anonymous,
			data: `{"publicMessage":` + public + `,"me":null}`, errors: []wantErr{unauthenticated("me")}},
		{name: "@skip with a variable leaves a denied field out",
			query: `query($hide: Boolean!) { me { id email @skip(if: $hide) } }`,
			vars:  map[string]any{"hide": true}, authorization: tok(),
			data: `{"me":{"id":"auth0|authtest-user"}}`},

		// Null propagation.
		{name: "a denied non-null field nulls its parent",
			query: `{ node(id: "audit-2") { ... on AuditEntry { action } } }`, authorization: tok("read:audit"),
			data: `{"node":null}`, errors: []wantErr{forbidden("node.action", audit)}},
		{name: "a list of union items, some denied",
			query:         `{ search(text: "") { __typename ... on User { name } ... on AuditEntry { action } } }`,
			authorization: tok("read:users"),
			data:          `{"search":[{"__typename":"User","name":"Ada Lovelace"},{"__typename":"User","name":"Grace Hopper"},null,null]}`,
			errors:        []wantErr{forbidden("search.2.action", audit), forbidden("search.3.action", audit)}},
		{name: "a denied non-null item of a non-null list nulls the data",
			query: `{ users { name } }`, authorization: tok(),
			data: `null`, errors: []wantErr{forbidden("users", []string{"read:users"})}},

		// Always readable.
		{name: "__typename on guarded types",
			query: `{ node(id: "audit-1") { __typename } search(text: "") { __typename } }`, authorization: anonymous,
			data: `{"node":{"__typename":"AuditEntry"},"search":[{"__typename":"User"},{"__typename":"User"},{"__typename":"AuditEntry"},{"__typename":"AuditEntry"}]}`},

		// OR of ANDs.
		{name: "one scope of an AND set is not enough",
			query: `{ auditLog { id } }`, authorization: tok("read:audit"),
			data:   `{"auditLog":null}`,
			errors: []wantErr{forbidden("auditLog.0.id", audit), forbidden("auditLog.1.id", audit)}},
		{name: "the whole AND set",
			query: `{ auditLog { id } }`, authorization: tok("read:audit", "read:users"),
			data: `{"auditLog":[{"id":"audit-1"},{"id":"audit-2"}]}`},
		{name: "the first of two OR'd sets",
			query: `{ users { email } }`, authorization: tok("read:users"),
			data: `{"users":[{"email":"ada@example.test"},{"email":"grace@example.test"}]}`},
		{name: "the second of two OR'd sets",
			query: `{ node(id: "user-2") { ... on User { email } } }`, authorization: tok("admin"),
			data: `{"node":{"email":"grace@example.test"}}`},
		{name: "@hasScope is a single set",
			query: `{ scopedMessage { id } }`, authorization: tok("read:users"),
			data: `{"scopedMessage":null}`, errors: []wantErr{forbidden("scopedMessage", []string{"read:messages"})}},

		// Scopes are matched exactly, from scope and permissions together.
		{name: "a longer scope is not the scope",
			query: `{ users { id } }`, authorization: tok("read:users_all"),
			data: `null`, errors: []wantErr{forbidden("users", []string{"read:users"})}},
		{name: "permissions grant scopes",
			query:         `{ users { id } }`,
			authorization: bearer(ts.Issuer.Token(t, authtest.Permissions("read:users"))),
			data:          `{"users":[{"id":"user-1"},{"id":"user-2"}]}`},
		{name: "scope and permissions together make an AND set",
			query:         `{ auditLog { id } }`,
			authorization: bearer(ts.Issuer.Token(t, authtest.Scope("read:audit"), authtest.Permissions("read:users"))),
			data:          `{"auditLog":[{"id":"audit-1"},{"id":"audit-2"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantResponse(t, ts.gql(t, tt.query, tt.vars, tt.authorization), tt.data, tt.errors...)
		})
	}
}

// TestAuthorizationDemoData: the demo's resolvers answer SPEC.md's data.
func TestAuthorizationDemoData(t *testing.T) {
	ts := startServer(t, nil)
	all := bearer(ts.Issuer.Token(t, authtest.Scope("read:users", "read:audit"), authtest.Subject("auth0|someone")))
	res := ts.gql(t, `{
		me { id name email }
		users { id name email }
		a: node(id: "audit-2") { id ... on AuditEntry { action } }
		u: node(id: "user-1") { id ... on User { name } }
		none: node(id: "nobody") { id }
		search(text: "O") { ... on User { id } ... on AuditEntry { id } }
		auditLog { id action }
	}`, nil, all)
	wantResponse(t, res, `{
		"me": {"id": "auth0|someone", "name": "auth0|someone", "email": null},
		"users": [
			{"id": "user-1", "name": "Ada Lovelace", "email": "ada@example.test"},
			{"id": "user-2", "name": "Grace Hopper", "email": "grace@example.test"}],
		"a": {"id": "audit-2", "action": "delete-message"},
		"u": {"id": "user-1", "name": "Ada Lovelace"},
		"none": null,
		"search": [{"id": "user-1"}, {"id": "user-2"}, {"id": "audit-1"}],
		"auditLog": [{"id": "audit-1", "action": "login"}, {"id": "audit-2", "action": "delete-message"}]
	}`)
}

// TestDeleteMessage: deleteMessage is true once for a message sent through
// this server, false otherwise; a sent message's sender is its author.
func TestDeleteMessage(t *testing.T) {
	ts := startServer(t, nil)
	writer := bearer(ts.Issuer.Token(t, authtest.Scope("write:messages"), authtest.Subject("auth0|writer")))
	sent := ts.gql(t, `mutation { sendMessage(text: "to delete") { id sender { id name } } }`, nil, writer)
	var m struct {
		SendMessage struct {
			ID     string
			Sender struct{ ID, Name string }
		}
	}
	b, _ := json.Marshal(sent.Data)
	if err := json.Unmarshal(b, &m); err != nil || m.SendMessage.ID == "" {
		t.Fatalf("sendMessage: %s", sent.Raw)
	}
	if s := m.SendMessage.Sender; s.ID != "auth0|writer" || s.Name != "auth0|writer" {
		t.Errorf("sender = %+v; want id and name auth0|writer", s)
	}
	const del = `mutation($id: ID!) { deleteMessage(id: $id) }`
	for _, tt := range []struct {
		name, authorization, id, data string
	}{
		{"with delete:messages", bearer(ts.Issuer.Token(t, authtest.Scope("delete:messages"))), m.SendMessage.ID, `{"deleteMessage":true}`},
		{"again, with admin", bearer(ts.Issuer.Token(t, authtest.Scope("admin"))), m.SendMessage.ID, `{"deleteMessage":false}`},
		{"an unknown id", bearer(ts.Issuer.Token(t, authtest.Scope("admin"))), "no-such-message", `{"deleteMessage":false}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantResponse(t, ts.gql(t, del, map[string]any{"id": tt.id}, tt.authorization), tt.data)
		})
	}
}

// TestMutationNeverHalfRuns: a mutation selecting a field the caller may
// not read, directly or through fragments, is refused before any resolver
// runs, over HTTP and WebSocket:
// a live subscriber receives nothing, and an allowed root field beside the
// denied one did not run either.
func TestMutationNeverHalfRuns(t *testing.T) {
	ts := startServer(t, nil)
	sub := liveSubscriber(t, ts, "s", `subscription { messageSent { text } }`)
	writer := bearer(ts.Issuer.Token(t, authtest.Scope("write:messages", "delete:messages")))
	emailScopes := [][]string{{"read:users"}, {"admin"}}

	// An earlier message, so deleteMessage has something it could delete.
	first := sendMessage(t, ts, "first")
	firstID := first["data"].(map[string]any)["sendMessage"].(map[string]any)["id"].(string)
	wantEvent(t, sub, "s", "first")

	for _, tt := range []struct{ name, mutation string }{
		{"selected directly", `mutation($id: ID!) { deleteMessage(id: $id) sendMessage(text: "must not be sent") { id sender { email } } }`},
		{"selected through fragments", `mutation($id: ID!) { ...M }
			fragment M on Mutation { deleteMessage(id: $id) sendMessage(text: "must not be sent") { id ...S } }
			fragment S on Message { ... on Message { sender { email } } }`},
	} {
		name, mutation := tt.name, tt.mutation
		t.Run(name+", over HTTP", func(t *testing.T) {
			res := ts.gql(t, mutation, map[string]any{"id": firstID}, writer)
			wantResponse(t, res, `null`, forbidden("sendMessage.sender.email", emailScopes...))
		})
		t.Run(name+", over WebSocket", func(t *testing.T) {
			c := connect(t, ts, writer)
			b, _ := json.Marshal(map[string]any{"query": mutation, "variables": map[string]any{"id": firstID}})
			c.send(t, wsMessage{Type: "subscribe", ID: "m", Payload: b})
			m, err := c.next(t, 5*time.Second)
			if err != nil || m.Type != "error" || m.ID != "m" {
				t.Fatalf("got %s, %v; want the error message for m", wsString(m), err)
			}
			wantResponse(t, decodeGraphQL(response{Status: http.StatusOK, Body: []byte(`{"data":null,"errors":` + string(m.Payload) + `}`)}),
				`null`, forbidden("sendMessage.sender.email", emailScopes...))
		})
	}

	// Nothing was sent: the subscriber's next event is the next allowed
	// message. And deleteMessage did not run: the first message is still
	// there to delete.
	sendMessage(t, ts, "second")
	wantEvent(t, sub, "s", "second")
	res := ts.gql(t, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": firstID}, writer)
	wantResponse(t, res, `{"deleteMessage":true}`)
}

// TestSubscriptionRefusedAtStart: a subscription selecting a field the
// caller may not read, directly or through fragments, ends at once with the protocol's error message, on
// both subprotocols, and never delivers an event; the connection stays
// usable.
func TestSubscriptionRefusedAtStart(t *testing.T) {
	ts := startServer(t, nil)
	reader := bearer(ts.Issuer.Token(t, authtest.Scope("read:messages")))
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			c, _, err := dialWS(t, ts, legacy, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ack, err := c.init(t, map[string]any{"authorization": reader}); err != nil || ack.Type != "connection_ack" {
				t.Fatalf("init: %+v %v", ack, err)
			}
			c.subscribe(t, "1", `subscription { messageSent { text sender { email } } }`)
			m, err := c.next(t, 5*time.Second)
			if err != nil || m.Type != "error" || m.ID != "1" {
				t.Fatalf("got %s, %v; want the error message for 1", wsString(m), err)
			}
			wantResponse(t, decodeGraphQL(response{Status: http.StatusOK, Body: []byte(`{"data":null,"errors":` + string(m.Payload) + `}`)}),
				`null`, forbidden("messageSent.sender.email", []string{"read:users"}, []string{"admin"}))

			// The same field reached through fragments.
			c.subscribe(t, "2", `subscription { ...S } fragment S on Subscription { messageSent { text ... on Message { sender { email } } } }`)
			m, err = c.next(t, 5*time.Second)
			if err != nil || m.Type != "error" || m.ID != "2" {
				t.Fatalf("got %s, %v; want the error message for 2", wsString(m), err)
			}
			wantResponse(t, decodeGraphQL(response{Status: http.StatusOK, Body: []byte(`{"data":null,"errors":` + string(m.Payload) + `}`)}),
				`null`, forbidden("messageSent.sender.email", []string{"read:users"}, []string{"admin"}))

			// The same id again, allowed this time: the refused one is
			// gone, and only the allowed one receives the message.
			c.subscribe(t, "1", `subscription { messageSent { text } }`)
			waitLive(t, ts, subscriber{c, "the allowed subscription"})
			sendMessage(t, ts, "after the refusal")
			m, err = c.next(t, 5*time.Second)
			if err != nil || m.ID != "1" || !strings.Contains(string(m.Payload), "after the refusal") {
				t.Fatalf("got %s, %v; want the message on the allowed subscription", wsString(m), err)
			}
			if m, err := c.next(t, 300*time.Millisecond); err != errNoMessage {
				t.Errorf("then %s, %v; want nothing more", wsString(m), err)
			}
		})
	}
}

// TestAuthorizationSameOverWebSocket: a denied field reads the same over
// WebSocket as over HTTP.
func TestAuthorizationSameOverWebSocket(t *testing.T) {
	ts := startServer(t, nil)
	tok := bearer(ts.Issuer.Token(t))
	const query = `{ me { id email } auditLog { id } }`
	overHTTP := ts.graphQL(t, query, tok)
	c := connect(t, ts, tok)
	c.subscribe(t, "q", query)
	m, err := c.next(t, 5*time.Second)
	if err != nil || m.Type != "next" {
		t.Fatalf("got %s, %v; want next", wsString(m), err)
	}
	normalize := func(b []byte) string {
		var r struct {
			Data   any               `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		slices.SortFunc(r.Errors, func(a, b json.RawMessage) int { return strings.Compare(string(a), string(b)) })
		out, _ := json.Marshal(r)
		return string(out)
	}
	if h, w := normalize(overHTTP.Body), normalize(m.Payload); h != w {
		t.Errorf("over HTTP:\n%s\nover WebSocket:\n%s", h, w)
	}
	wantResponse(t, decodeGraphQL(overHTTP), `{"me":{"id":"auth0|authtest-user","email":null},"auditLog":null}`,
		forbidden("me.email", []string{"read:users"}, []string{"admin"}),
		forbidden("auditLog.0.id", []string{"read:audit", "read:users"}),
		forbidden("auditLog.1.id", []string{"read:audit", "read:users"}))
}

// TestPrintAuthz: -print-authz prints the matrix, as committed in
// AUTHZ.md, and returns without serving and with no environment at all.
func TestPrintAuthz(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	err := run(ctx, []string{"server", "-print-authz"}, mapLookup(nil), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run -print-authz = %v; stderr: %s", err, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatal("run -print-authz returned only when its context ended: it served")
	}
	committed, err := os.ReadFile("AUTHZ.md")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(committed), stdout.String()); diff != "" {
		t.Errorf("AUTHZ.md is stale; run 'go run . -print-authz > AUTHZ.md' (-committed +printed):\n%s", diff)
	}
	for _, want := range []string{"## User", "| `email` | scopes: read:users OR admin |", "## Node", "| `deleteMessage` | scopes: delete:messages OR admin |"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the matrix lacks %q", want)
		}
	}
	if strings.Contains(stdout.String(), "listening") || stderr.Len() > 0 {
		t.Errorf("run -print-authz served or logged: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

// liveSubscriber starts subscription id (a messageSent subscription that
// selects text) on a new graphql-transport-ws connection with a token
// granting read:messages, and returns once it is live (waitLive).
func liveSubscriber(t *testing.T, ts *testServer, id, query string) *wsClient {
	t.Helper()
	c := connect(t, ts, bearer(ts.Issuer.Token(t, authtest.Scope("read:messages"))))
	c.subscribe(t, id, query)
	waitLive(t, ts, subscriber{c, "subscription " + id})
	return c
}

// connect opens a graphql-transport-ws connection authenticated with
// authorization.
func connect(t *testing.T, ts *testServer, authorization string) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, ts, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(t, map[string]any{"authorization": authorization}); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("init: %+v %v", ack, err)
	}
	return c
}

// wantEvent reads c's next message: an event on id carrying text.
func wantEvent(t *testing.T, c *wsClient, id, text string) {
	t.Helper()
	m, err := c.next(t, 5*time.Second)
	if err != nil || m.Type != "next" || m.ID != id || !strings.Contains(string(m.Payload), fmt.Sprintf("%q", text)) {
		t.Fatalf("got %s, %v; want an event on %s with %q", wsString(m), err, id, text)
	}
}

func wsString(m wsMessage) string { return fmt.Sprintf("%s %q %s", m.Type, m.ID, m.Payload) }

// TestScopeClaimsSetting: with SCOPE_CLAIMS naming a namespaced claim,
// that claim grants scopes, as an array or a space-separated string, on
// GraphQL fields and REST routes alike; the default claims no longer do;
// and a named claim of another type makes the token invalid (401).
func TestScopeClaimsSetting(t *testing.T) {
	const roles = "https://example.com/roles"
	ts := startServer(t, map[string]string{"SCOPE_CLAIMS": roles})
	scoped := `{ scopedMessage { text } }`
	for _, tt := range []struct {
		name  string
		opts  []authtest.Option
		allow bool
	}{
		{"an array", []authtest.Option{authtest.Claim(roles, []string{"read:messages"})}, true},
		{"a space-separated string", []authtest.Option{authtest.Claim(roles, "openid read:messages")}, true},
		{"scope is not named", []authtest.Option{authtest.Scope("read:messages"), authtest.Permissions("read:messages")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			authorization := bearer(ts.Issuer.Token(t, tt.opts...))
			res := ts.gql(t, scoped, nil, authorization)
			rest := do(t, http.MethodGet, ts.URL+"api/private-scoped", "", map[string]string{"Authorization": authorization})
			if tt.allow {
				wantResponse(t, res, `{"scopedMessage":{"text":"`+messages.Scoped+`"}}`)
				wantStatus(t, rest, http.StatusOK)
				return
			}
			wantResponse(t, res, `{"scopedMessage":null}`, forbidden("scopedMessage", []string{"read:messages"}))
			wantStatus(t, rest, http.StatusForbidden)
		})
	}
	bad := bearer(ts.Issuer.Token(t, authtest.Claim(roles, 7)))
	wantRefusal(t, ts.graphQL(t, scoped, bad), http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_claims", `Bearer error="invalid_token"`)
}

// TestTokenWithoutSubject: "sub" is optional (RFC 7519); a token without
// one stands for no user, so me and a message's sender are null rather
// than a User whose non-null ID is empty, and author is null.
func TestTokenWithoutSubject(t *testing.T) {
	ts := startServer(t, nil)
	anon := bearer(ts.Issuer.Token(t, authtest.Claim("sub", nil), authtest.Scope("write:messages")))
	wantResponse(t, ts.gql(t, `{ me { id name } }`, nil, anon), `{"me":null}`)
	wantResponse(t, ts.gql(t, `mutation { sendMessage(text: "hi") { text author sender { id } } }`, nil, anon),
		`{"sendMessage":{"text":"hi","author":null,"sender":null}}`)
}
