package authtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/jwks"
)

// Example tests a GraphQL schema's directives the way this project's own
// tests do: a fake issuer with a real key and a real JWKS over HTTP, the
// real validator and middleware, and tokens minted with just the scopes a
// case needs. In a test, authtest.NewServer(t) replaces the first lines and
// is.Token(t, ...) replaces Mint.
func Example() {
	srv := httptest.NewUnstartedServer(nil)
	is, err := authtest.NewIssuer(authtest.IssuerOptions{URL: "http://" + srv.Listener.Addr().String() + "/", Audience: "https://my-api.example"})
	if err != nil {
		panic(err)
	}
	srv.Config.Handler = is.Handler()
	srv.Start()
	defer srv.Close()

	// The key cache fetches the issuer's JWKS over HTTP, as in production.
	keys, _ := jwks.New(jwks.Options{URL: is.JWKSURL()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go keys.Run(ctx)
	for !keys.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	v, _ := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience}, keys)

	gql, err := graph.NewHandler(graph.Options{Validator: v})
	if err != nil {
		panic(err)
	}
	api := httptest.NewServer(auth.Middleware(v, auth.MiddlewareOptions{OnError: graph.WriteError})(gql))
	defer api.Close()

	query := func(token string) {
		req, _ := http.NewRequest(http.MethodPost, api.URL, strings.NewReader(`{"query":"{ scopedMessage { text } }"}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}

	withScope, _ := is.Mint(authtest.Scope("read:messages"))
	withoutScope, _ := is.Mint(authtest.Permissions("read:other"))
	expired, _ := is.Mint(authtest.ExpiresIn(-time.Hour))
	query(withScope)
	query(withoutScope)
	query(expired)
	// Output:
	// 200 {"data":{"scopedMessage":{"text":"Hello from a private endpoint! You need to be authenticated and have a scope of read:messages to see this."}}}
	// 200 {"errors":[{"message":"You don't have access to this resource: it requires the scope \"read:messages\"","path":["scopedMessage"],"locations":[{"line":1,"column":3}],"extensions":{"code":"FORBIDDEN","reason":"insufficient_scope","requiredScopes":[["read:messages"]]}}],"data":{"scopedMessage":null}}
	// 401 {"errors":[{"message":"token is expired","extensions":{"code":"UNAUTHENTICATED","reason":"token_expired"}}]}
}
