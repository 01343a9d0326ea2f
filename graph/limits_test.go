package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/jwks"

	"github.com/authgql/server/graphqlws"
)

// These tests run the handler NewHandler returns in process, with no token
// (limits come before authorization); the root package's tests check that
// each limit follows its environment variable on the real server.

// testValidator is a validator whose keys never load: enough for requests
// without a token.
func testValidator(t testing.TB) *auth.Validator {
	t.Helper()
	keys, err := jwks.New(jwks.Options{URL: "http://127.0.0.1:1/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewValidator(auth.Config{Issuer: "http://127.0.0.1:1/", Audience: "a"}, keys)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newTestHandler(t *testing.T, opts Options) http.Handler {
	t.Helper()
	opts.Validator = testValidator(t)
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// post sends body to h as JSON, accepting
// application/graphql-response+json, under which a request refused as a
// whole is a 4xx (GraphQL over HTTP), and returns the response.
func post(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func postQuery(h http.Handler, query string) *httptest.ResponseRecorder {
	b, _ := json.Marshal(map[string]string{"query": query})
	return post(h, string(b))
}

// wantRefused checks an operation refused as a whole: status, no data,
// and code as the first error's extensions.code.
func wantRefused(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	type extensions struct{ Code string }
	var body struct {
		Data   map[string]any
		Errors []struct{ Extensions extensions }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body: %v\n%.300s", err, rec.Body)
	}
	if rec.Code != status || len(body.Data) != 0 || len(body.Errors) == 0 || body.Errors[0].Extensions.Code != code {
		t.Fatalf("got %d %.300s; want %d, no data, %s", rec.Code, rec.Body, status, code)
	}
}

func wantServed(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) {
		t.Fatalf("got %d %.300s; want 200 without errors", rec.Code, rec.Body)
	}
}

// TestOperationLimits: each limit of Options refuses an operation over it
// with its code before anything runs (400 under
// application/graphql-response+json, as a validation error), and lets one
// at it through.
func TestOperationLimits(t *testing.T) {
	defaults := newTestHandler(t, Options{Introspection: true})
	// { __type { fields { type { ofType ... } } } }: depth n+4.
	ofTypes := func(n int) string {
		return `{ __type(name: "Query") { fields { type { ` + strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n) + " } } } }"
	}
	aliases := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: __typename ", i)
		}
		return "{ " + b.String() + "}"
	}

	t.Run("depth", func(t *testing.T) {
		wantServed(t, postQuery(defaults, ofTypes(DefaultMaxDepth-4)))
		wantRefused(t, postQuery(defaults, ofTypes(DefaultMaxDepth-3)), http.StatusBadRequest, CodeDepthLimit)
		one := newTestHandler(t, Options{MaxDepth: 1})
		wantServed(t, postQuery(one, `{ __typename }`))
		wantRefused(t, postQuery(one, `{ publicMessage { text } }`), http.StatusBadRequest, CodeDepthLimit)
	})
	t.Run("fields, aliases and fragments counted", func(t *testing.T) {
		wantServed(t, postQuery(defaults, aliases(DefaultMaxFields)))
		wantRefused(t, postQuery(defaults, aliases(DefaultMaxFields+1)), http.StatusBadRequest, CodeFieldLimit)
		// 16 fragments, each spreading the next twice: 65536 fields.
		bomb := "query { ...F0 }\n"
		for i := range 16 {
			bomb += fmt.Sprintf("fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
		}
		bomb += "fragment F16 on Query { __typename }"
		wantRefused(t, postQuery(defaults, bomb), http.StatusBadRequest, CodeFieldLimit)
		three := newTestHandler(t, Options{MaxFields: 3})
		wantServed(t, postQuery(three, `{ ...on Query { a: __typename b: __typename } c: __typename }`))
		wantRefused(t, postQuery(three, `{ ...on Query { a: __typename b: __typename } c: __typename d: __typename }`), http.StatusBadRequest, CodeFieldLimit)
	})
	t.Run("introspection lists", func(t *testing.T) {
		wantServed(t, postQuery(defaults, `{ __schema { types { fields { type { fields { name } } } } } }`))
		wantRefused(t, postQuery(defaults, `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`),
			http.StatusBadRequest, CodeIntrospectionDepth)
	})
	t.Run("complexity", func(t *testing.T) {
		four := newTestHandler(t, Options{MaxComplexity: 4})
		wantServed(t, postQuery(four, `{ publicMessage { text } }`))
		wantRefused(t, postQuery(four, `{ a: publicMessage { text id } b: publicMessage { text id } }`), http.StatusBadRequest, CodeComplexityLimit)
	})
	t.Run("parser tokens", func(t *testing.T) {
		hundred := newTestHandler(t, Options{ParserTokenLimit: 100})
		wantServed(t, postQuery(hundred, "{"+strings.Repeat(" __typename", 90)+" }"))
		wantRefused(t, postQuery(hundred, "{"+strings.Repeat(" __typename", 100)+" }"), http.StatusBadRequest, "GRAPHQL_PARSE_FAILED")
	})
	t.Run("introspection off", func(t *testing.T) {
		off := newTestHandler(t, Options{})
		rec := postQuery(off, `{ __schema { types { name } } }`)
		wantRefused(t, rec, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED")
		if !strings.Contains(rec.Body.String(), "introspection is disabled") {
			t.Errorf("refusal does not say why: %s", rec.Body)
		}
		wantServed(t, postQuery(off, `{ __typename }`))
	})
	t.Run("subscription over HTTP", func(t *testing.T) {
		wantRefused(t, postQuery(defaults, `subscription { messageSent { text } }`), http.StatusBadRequest, CodeSubscriptionTransport)
	})
}

// TestBodyLimits: Options.MaxBodyBytes, batches and bodies that are not
// JSON are refused before gqlgen reads them.
func TestBodyLimits(t *testing.T) {
	h := newTestHandler(t, Options{MaxBodyBytes: 1024})
	body := func(n int) string {
		b := `{"query":"{ __typename }","variables":{"p":"`
		return b + strings.Repeat("p", n-len(b)-3) + `"}}`
	}
	wantServed(t, post(h, body(1024)))
	rec := post(h, body(1025))
	wantRefused(t, rec, http.StatusRequestEntityTooLarge, CodeBodyTooLarge)
	if rec.Header().Get("Connection") != "close" {
		t.Errorf("413 without Connection: close")
	}

	t.Run("without Content-Length", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", io.MultiReader(strings.NewReader(body(4096))))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		wantRefused(t, rec, http.StatusRequestEntityTooLarge, CodeBodyTooLarge)
	})
	t.Run("batch", func(t *testing.T) {
		wantRefused(t, post(h, ` [{"query":"{ __typename }"}]`), http.StatusBadRequest, CodeBatchingForbidden)
	})
	t.Run("not JSON, not echoed", func(t *testing.T) {
		rec := post(h, `{"query": <script>`)
		wantRefused(t, rec, http.StatusBadRequest, "BAD_REQUEST")
		if strings.Contains(rec.Body.String(), "script") {
			t.Errorf("the body was echoed: %s", rec.Body)
		}
	})
}

// TestUpgradeRefusals: a WebSocket upgrade from a foreign origin gets 403,
// one over the connection limit 503 with Retry-After, both as GraphQL
// errors.
func TestUpgradeRefusals(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	h := (&Handler{}).guardUpgrades([]string{"https://app.example"}, 1, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release // the connection stays open
	}))
	upgrade := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://api.example/graphql", nil)
		req.Header.Set("Upgrade", "websocket")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	wantRefused(t, upgrade("https://evil.example"), http.StatusForbidden, "FORBIDDEN")

	var wg sync.WaitGroup
	wg.Go(func() { upgrade("https://app.example") })
	<-entered
	rec := upgrade("http://api.example")
	wantRefused(t, rec, http.StatusServiceUnavailable, "TOO_MANY_CONNECTIONS")
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	close(release)
	wg.Wait()
	go func() { <-entered }()
	if rec := upgrade(""); rec.Code != http.StatusOK {
		t.Errorf("a closed connection did not free its place: %d %s", rec.Code, rec.Body)
	}
}

// TestShutdownRefusesUpgrades: once Shutdown has begun (its transport
// closes live connections with 1001: see graphqlws' and the root
// package's drain tests), later upgrades are refused with 503 and
// Retry-After.
func TestShutdownRefusesUpgrades(t *testing.T) {
	ws, err := graphqlws.New(graphqlws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{ws: ws}
	guard := h.guardUpgrades(nil, 10, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("an upgrade reached the transport after Shutdown")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://api.example/graphql", nil)
	req.Header.Set("Upgrade", "websocket")
	rec := httptest.NewRecorder()
	guard.ServeHTTP(rec, req)
	wantRefused(t, rec, http.StatusServiceUnavailable, CodeShuttingDown)
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
}
