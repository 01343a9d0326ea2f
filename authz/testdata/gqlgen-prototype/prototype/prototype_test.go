package prototype

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

// claimsFor stands for auth.Middleware and the WebSocket init: a token
// granting scopes, or none for "-".
func claimsFor(ctx context.Context, scopes string) context.Context {
	if scopes == "-" {
		return ctx
	}
	return auth.NewContext(ctx, &auth.Claims{Subject: "user-1", Scopes: strings.Fields(scopes), ValidUntil: time.Now().Add(time.Hour)})
}

func newServer(t *testing.T) (*Resolver, *httptest.Server) {
	t.Helper()
	r := &Resolver{}
	policy, err := authz.NewPolicy(NewExecutableSchema(Config{}).Schema())
	if err != nil {
		t.Fatal(err)
	}
	engine, err := authz.NewEngine(policy, authz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r, Directives: Directives(policy)}))
	srv.AddTransport(transport.Websocket{
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			return claimsFor(ctx, p.GetString("scopes")), nil, nil
		},
	})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
	srv.SetErrorPresenter(PresentError)
	srv.Use(Authorization{Engine: engine, Present: PresentError})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		srv.ServeHTTP(w, req.WithContext(claimsFor(req.Context(), req.Header.Get("X-Test-Scopes"))))
	}))
	t.Cleanup(ts.Close)
	return r, ts
}

func TestOverHTTP(t *testing.T) {
	r, ts := newServer(t)
	tests := []struct {
		name, scopes, query string
		body                string
		ran                 []string // sorted: root fields resolve concurrently
	}{
		{
			name:   "anonymous: denied fields null, resolvers not run, non-null propagates",
			scopes: "-",
			query:  `{ publicMessage { text sender { name } } me { name } }`,
			body:   `{"errors":[{"message":"Authorization header is expected","path":["me"],"locations":[{"line":1,"column":42}],"extensions":{"code":"UNAUTHENTICATED"}},{"message":"Authorization header is expected","path":["publicMessage","sender","name"],"locations":[{"line":1,"column":33}],"extensions":{"code":"UNAUTHENTICATED"}}],"data":{"publicMessage":{"text":"public","sender":null},"me":null}}`,
			ran:    []string{"publicMessage"},
		},
		{
			name:   "list of union items, some denied; a denied non-null field nulls its list",
			scopes: "read:users",
			query:  `{ search(text: "") { ... on User { name } ... on AuditEntry { action } } auditLog { id } }`,
			body:   `{"errors":[{"message":"You don't have access to this resource: it requires the scope \"read:audit read:users\"","path":["auditLog",0,"id"],"locations":[{"line":1,"column":85}],"extensions":{"code":"FORBIDDEN","requiredScopes":[["read:audit","read:users"]]}},{"message":"You don't have access to this resource: it requires the scope \"read:audit read:users\"","path":["search",1,"action"],"locations":[{"line":1,"column":63}],"extensions":{"code":"FORBIDDEN","requiredScopes":[["read:audit","read:users"]]}}],"data":{"search":[{"name":"Ada Lovelace"},null],"auditLog":null}}`,
			ran:    []string{"auditLog", "search"},
		},
		{
			name:   "a plain struct field is decided too",
			scopes: "",
			query:  `{ publicMessage { sender { id email } } }`,
			body:   `{"errors":[{"message":"You don't have access to this resource","path":["publicMessage","sender","email"],"locations":[{"line":1,"column":31}],"extensions":{"code":"FORBIDDEN","requiredScopes":[["admin"],["read:users"]]}}],"data":{"publicMessage":{"sender":{"id":"user-1","email":null}}}}`,
			ran:    []string{"publicMessage"},
		},
		{
			name:   "a mutation with a denied nested field is refused before it runs",
			scopes: "write:messages",
			query:  `mutation { sendMessage(text: "x") { id sender { email } } }`,
			body:   `{"errors":[{"message":"You don't have access to this resource","path":["sendMessage","sender","email"],"locations":[{"line":1,"column":49}],"extensions":{"code":"FORBIDDEN","requiredScopes":[["admin"],["read:users"]]}}],"data":null}`,
		},
		{
			name:   "an allowed mutation runs",
			scopes: "write:messages",
			query:  `mutation { sendMessage(text: "x") { id sender { name } } }`,
			body:   `{"data":{"sendMessage":{"id":"m-1","sender":{"name":"Ada Lovelace"}}}}`,
			ran:    []string{"sendMessage"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"query": tt.query})
			req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Test-Scopes", tt.scopes)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d; want 200", resp.StatusCode)
			}
			if normalize(t, string(got)) != normalize(t, tt.body) {
				t.Errorf("body\n%s\nwant\n%s", got, tt.body)
			}
			if ran := r.Ran(); !slices.Equal(ran, tt.ran) {
				t.Errorf("resolvers run: %v; want %v", ran, tt.ran)
			}
		})
	}
}

// normalize orders a response's errors by path: root fields resolve
// concurrently, so errors come in any order.
func normalize(t *testing.T, body string) string {
	t.Helper()
	var resp struct {
		Errors []json.RawMessage `json:"errors,omitempty"`
		Data   json.RawMessage   `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	slices.SortFunc(resp.Errors, func(a, b json.RawMessage) int {
		var pa, pb struct{ Path []any }
		json.Unmarshal(a, &pa)
		json.Unmarshal(b, &pb)
		return strings.Compare(fmt.Sprint(pa.Path), fmt.Sprint(pb.Path))
	})
	out, _ := json.Marshal(resp)
	return string(out)
}

func TestOverWebSocket(t *testing.T) {
	r, ts := newServer(t)
	tests := []struct {
		name, scopes, query string
		messages            []string
		ran                 []string
	}{
		{
			name:     "a subscription is refused at start",
			scopes:   "read:messages",
			query:    `subscription { messageSent { text sender { email } } }`,
			messages: []string{`{"payload":[{"message":"You don't have access to this resource","path":["messageSent","sender","email"],"locations":[{"line":1,"column":44}],"extensions":{"code":"FORBIDDEN","requiredScopes":[["admin"],["read:users"]]}}],"id":"1","type":"error"}`},
		},
		{
			name:     "a mutation over WebSocket is refused before it runs",
			scopes:   "write:messages",
			query:    `mutation { sendMessage(text: "x") { sender { email } } }`,
			messages: []string{`{"payload":[{"message":"You don't have access to this resource","path":["sendMessage","sender","email"],"locations":[{"line":1,"column":46}],"extensions":{"code":"FORBIDDEN","requiredScopes":[["admin"],["read:users"]]}}],"id":"1","type":"error"}`},
		},
		{
			name:     "an allowed subscription runs",
			scopes:   "read:messages admin",
			query:    `subscription { messageSent { text sender { email } } }`,
			messages: []string{`{"payload":{"data":{"messageSent":{"text":"t","sender":{"email":"ada@example.test"}}}},"id":"1","type":"next"}`},
			ran:      []string{"messageSent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			send := func(v any) {
				b, _ := json.Marshal(v)
				if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
					t.Fatal(err)
				}
			}
			read := func() string {
				_, b, err := conn.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			send(map[string]any{"type": "connection_init", "payload": map[string]any{"scopes": tt.scopes}})
			if got := read(); got != `{"type":"connection_ack"}` {
				t.Fatalf("got %s; want connection_ack", got)
			}
			send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": tt.query}})
			for _, want := range tt.messages {
				if got := read(); got != want {
					t.Errorf("message\n%s\nwant\n%s", got, want)
				}
			}
			if ran := r.Ran(); !slices.Equal(ran, tt.ran) {
				t.Errorf("resolvers run: %v; want %v", ran, tt.ran)
			}
		})
	}
}
