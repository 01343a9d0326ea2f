package graph

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/demo"
	"github.com/authgql/server/graph/model"
	"github.com/authgql/server/messages"
)

// recorder notes which resolvers ran.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran = append(r.ran, name)
}

// take returns, sorted, what ran since the last call: root fields resolve
// concurrently.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ran := slices.Sorted(slices.Values(r.ran))
	r.ran = nil
	return ran
}

// recordingRoot is the real resolvers, recording each root resolver run.
type recordingRoot struct {
	*Resolver
	rec *recorder
}

func (r recordingRoot) Query() QueryResolver { return recordingQuery{r.Resolver.Query(), r.rec} }
func (r recordingRoot) Mutation() MutationResolver {
	return recordingMutation{r.Resolver.Mutation(), r.rec}
}

type recordingQuery struct {
	QueryResolver
	rec *recorder
}

func (q recordingQuery) PublicMessage(ctx context.Context) (*model.Message, error) {
	q.rec.add("publicMessage")
	return q.QueryResolver.PublicMessage(ctx)
}

func (q recordingQuery) PrivateMessage(ctx context.Context) (*model.Message, error) {
	q.rec.add("privateMessage")
	return q.QueryResolver.PrivateMessage(ctx)
}

func (q recordingQuery) ScopedMessage(ctx context.Context) (*model.Message, error) {
	q.rec.add("scopedMessage")
	return q.QueryResolver.ScopedMessage(ctx)
}

func (q recordingQuery) Me(ctx context.Context) (*model.User, error) {
	q.rec.add("me")
	return q.QueryResolver.Me(ctx)
}

func (q recordingQuery) Users(ctx context.Context) ([]*model.User, error) {
	q.rec.add("users")
	return q.QueryResolver.Users(ctx)
}

func (q recordingQuery) Node(ctx context.Context, id string) (model.Node, error) {
	q.rec.add("node")
	return q.QueryResolver.Node(ctx, id)
}

func (q recordingQuery) Search(ctx context.Context, text string) ([]model.SearchResult, error) {
	q.rec.add("search")
	return q.QueryResolver.Search(ctx, text)
}

func (q recordingQuery) AuditLog(ctx context.Context) ([]*model.AuditEntry, error) {
	q.rec.add("auditLog")
	return q.QueryResolver.AuditLog(ctx)
}

type recordingMutation struct {
	MutationResolver
	rec *recorder
}

func (m recordingMutation) SendMessage(ctx context.Context, text string) (*model.Message, error) {
	m.rec.add("sendMessage")
	return m.MutationResolver.SendMessage(ctx, text)
}

func (m recordingMutation) DeleteMessage(ctx context.Context, id string) (bool, error) {
	m.rec.add("deleteMessage")
	return m.MutationResolver.DeleteMessage(ctx, id)
}

// handlerOptions are NewHandler's defaults, for tests that call
// newHandler with a schema of their own.
func handlerOptions(t *testing.T) Options {
	return Options{
		Validator:        testValidator(t),
		MaxDepth:         DefaultMaxDepth,
		MaxComplexity:    DefaultMaxComplexity,
		MaxFields:        DefaultMaxFields,
		ParserTokenLimit: DefaultParserTokenLimit,
		QueryCacheSize:   DefaultQueryCacheSize,
		MaxBodyBytes:     DefaultMaxBodyBytes,
		WSInitTimeout:    DefaultWSInitTimeout,
		WSKeepAlive:      DefaultWSKeepAlive,
		WSConnections:    DefaultWSConnections,
	}
}

// TestDeniedResolversNeverRun serves the real handler over a real socket,
// with the real resolvers recording their runs, and claims put in the
// context as auth.Middleware does ("X-Test-Scopes": a token granting
// them; absent: anonymous). A denied field's resolver never runs; a
// mutation with a denied field runs none.
func TestDeniedResolversNeverRun(t *testing.T) {
	policy, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	hub := messages.NewHub(messages.HubOptions{})
	rec := &recorder{}
	es := NewExecutableSchema(Config{
		Resolvers:  recordingRoot{&Resolver{Hub: hub, Demo: demo.New()}, rec},
		Directives: Directives(policy),
	})
	h, err := newHandler(es, handlerOptions(t), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scopes, ok := r.Header["X-Test-Scopes"]; ok {
			claims := &auth.Claims{Subject: "u", Scopes: strings.Fields(scopes[0]), ValidUntil: time.Now().Add(time.Hour)}
			r = r.WithContext(auth.NewContext(r.Context(), claims))
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	const query = `{ publicMessage { text } privateMessage { text } me { id } auditLog { id } search(text: "") { __typename } }`
	for _, tt := range []struct {
		name, scopes, query string
		ran                 []string
		data                bool // whether "data" is not null
	}{
		{"anonymous", "-", query, []string{"publicMessage", "search"}, true},
		// auditLog itself is allowed; the ids of its entries are not.
		{"a token without scopes", "", query, []string{"auditLog", "me", "privateMessage", "publicMessage", "search"}, true},
		// users is non-null: denied, it nulls the whole data.
		{"a denied non-null root field", "", `{ publicMessage { text } users { id } }`, []string{"publicMessage"}, false},
		{"every scope", "read:users read:audit", `{ publicMessage { text } users { id } auditLog { id } }`, []string{"auditLog", "publicMessage", "users"}, true},
		{"a mutation with a denied nested field", "write:messages delete:messages",
			`mutation { deleteMessage(id: "1") sendMessage(text: "x") { sender { email } } }`, nil, false},
		{"a mutation with a denied root field", "write:messages",
			`mutation { sendMessage(text: "x") { id } deleteMessage(id: "1") }`, nil, false},
		{"an allowed mutation", "write:messages admin",
			`mutation { deleteMessage(id: "1") sendMessage(text: "x") { sender { email } } }`, []string{"deleteMessage", "sendMessage"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"query": tt.query})
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			if tt.scopes != "-" {
				req.Header.Set("X-Test-Scopes", tt.scopes)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if got := rec.take(); !slices.Equal(got, tt.ran) {
				t.Errorf("resolvers run: %v; want %v\n%s", got, tt.ran, b)
			}
			if data := !strings.Contains(string(b), `"data":null`); data != tt.data {
				t.Errorf("data present = %v; want %v: %s", data, tt.data, b)
			}
		})
	}
}

// TestNewHandlerRefusesBrokenSchemas: default deny and the directives'
// rules are checked when the handler is built, one line per problem, so
// the server does not start.
func TestNewHandlerRefusesBrokenSchemas(t *testing.T) {
	real := NewExecutableSchema(Config{Resolvers: &Resolver{}})
	for _, tt := range []struct {
		name, sdl string
		want      []string
	}{
		{"a root field without a directive", `extend type Query { leak: String }`,
			[]string{"schema: Query.leak has no access directive: add exactly one of @public, @auth, @authenticated, @hasScope(scope:), @requiresScopes(scopes:)"}},
		{"a root field with two", `extend type Mutation { m: String @public @auth }`,
			[]string{"schema: Mutation.m has 2 access directives (@public, @auth): keep exactly one"}},
		{"a directive on a root type", `extend type Subscription @authenticated`,
			[]string{"schema: type Subscription has @authenticated: access directives on a root operation type are refused; put one on each of its fields"}},
		{"an empty @requiresScopes", `extend type Query { x: String @requiresScopes(scopes: []) }`,
			[]string{"schema: Query.x has @requiresScopes(scopes:) whose outer list is empty (no token could ever be granted)"}},
		{"an empty AND set", `extend type Query { x: String @requiresScopes(scopes: [["a"], []]) }`,
			[]string{"schema: Query.x has @requiresScopes(scopes:) whose inner list 2 is empty"}},
		{"an invalid scope, nested, and a second problem", `extend type User { x: String @hasScope(scope: "read users") } extend type Query { y: String }`,
			[]string{
				"schema: Query.y has no access directive: add exactly one of @public, @auth, @authenticated, @hasScope(scope:), @requiresScopes(scopes:)",
				`schema: User.x has @hasScope(scope:) whose value "read users" is not an RFC 6749 scope-token (printable ASCII, no space, '"' or '\')`,
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := gqlparser.LoadSchema(append(slices.Clone(sources), &ast.Source{Name: "broken.graphqls", Input: tt.sdl})...)
			if err != nil {
				t.Fatalf("LoadSchema: %v", err)
			}
			_, herr := newHandler(leakySchema{real, s}, handlerOptions(t), false, nil)
			if herr == nil {
				t.Fatalf("newHandler accepted the schema; want %q", tt.want)
			}
			if got := strings.Split(herr.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("newHandler error lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
