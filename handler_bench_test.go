package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/rs/cors"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/graph"
	"github.com/authgql/server/jwks"
	"github.com/authgql/server/messages"
)

// The perf harness's scenarios (../shared/perf, load.go) that a handler
// benchmark can run without minting a token per request.
var benchScenarios = []struct {
	name, body string
	token      bool
}{
	{"S1 public, no token", `{"query":"{ publicMessage { text } }"}`, false},
	{"S2 private, token reused", `{"query":"{ privateMessage { text } }"}`, true},
	{"S3 scoped, token reused", `{"query":"{ scopedMessage { text } }"}`, true},
}

// BenchmarkHandler measures whole requests in process, through every layer
// the real server puts in front of GraphQL (CORS, routes, authentication,
// the GraphQL handler, directives), without a socket: a socket's cost is
// the same for any server and would only flatten the ratios. Each
// scenario runs against this server ("ours") and against the perf
// harness's "noauth" baseline, gqlgen's handler.New on the same executable
// schema with no-op directives behind rs/cors, in alternating slices of
// the same run, and reports:
//
//	ns/op             ours, per request
//	ns/req-noauth     the baseline, per request
//	ratio-vs-noauth   requests per second, ours / the baseline (the harness's ratio)
//
// The sub-benchmarks ours/ and noauth/ run one server alone, for -benchmem.
func BenchmarkHandler(b *testing.B) {
	ours, token := benchServer(b)
	base := noauthServer(b)
	for _, sc := range benchScenarios {
		authz := ""
		if sc.token {
			authz = "Bearer " + token
		}
		ourReq := newBenchRequest(sc.body, authz)
		baseReq := newBenchRequest(sc.body, "")
		// Both answer the scenario before anything is measured.
		for _, rr := range []struct {
			h   http.Handler
			req *benchRequest
		}{{ours, ourReq}, {base, baseReq}} {
			rr.req.serve(rr.h)
			if body := string(rr.req.w.out); rr.req.w.status != http.StatusOK || strings.Contains(body, `"errors"`) {
				b.Fatalf("%s: %d %s", sc.name, rr.req.w.status, body)
			}
		}
		b.Run(sc.name+"/ratio", func(b *testing.B) {
			const slice = 64 // requests per slice; slices alternate between the servers
			var oursTime, baseTime time.Duration
			n := 0
			for b.Loop() {
				if n%(2*slice) < slice {
					start := time.Now()
					ourReq.serve(ours)
					oursTime += time.Since(start)
				} else {
					start := time.Now()
					baseReq.serve(base)
					baseTime += time.Since(start)
				}
				n++
			}
			oursN, baseN := (n+1)/2, n/2
			if oursN == 0 || baseN == 0 {
				return
			}
			oursPer := float64(oursTime) / float64(oursN)
			basePer := float64(baseTime) / float64(baseN)
			b.ReportMetric(oursPer, "ns/op")
			b.ReportMetric(basePer, "ns/req-noauth")
			b.ReportMetric(basePer/oursPer, "ratio-vs-noauth")
		})
		b.Run(sc.name+"/ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ourReq.serve(ours)
			}
		})
		b.Run(sc.name+"/noauth", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				baseReq.serve(base)
			}
		})
	}
}

// benchServer assembles the server's handler as run does, in production
// mode against a fake issuer whose keys are loaded, and returns it with a
// token granting read:messages (cached after its first use, as in S2/S3).
func benchServer(b *testing.B) (http.Handler, string) {
	b.Helper()
	is := authtest.NewServer(b)
	cfg, err := loadConfig(mapEnv(map[string]string{
		"AUTH0_ISSUER_URL": is.URL,
		"AUTH0_AUDIENCE":   is.Audience,
		"HOST":             "127.0.0.1",
	}))
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	cfg.JWKS.Logger = logger
	keys, err := jwks.New(cfg.JWKS)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go keys.Run(ctx)
	v, err := auth.NewValidator(cfg.Auth, keys)
	if err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !v.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the fake issuer's keys did not load")
		}
	}
	cfg.Graph.Logger, cfg.Graph.Validator, cfg.Graph.Hub = logger, v, messages.NewHub(cfg.Messages)
	gql, err := graph.NewHandler(cfg.Graph)
	if err != nil {
		b.Fatal(err)
	}
	return newServer(logger, cfg, v, gql, nil, nil, &health{keys: v}), is.Token(b, authtest.Scope("read:messages"))
}

// noauthServer is ../shared/perf/reference's cmd/noauth: the `gqlgen init`
// wiring (Options, GET and POST transports, an LRU query cache,
// introspection, APQ) on the same executable schema, with directives that
// do nothing, behind rs/cors and a mux.
func noauthServer(b *testing.B) http.Handler {
	b.Helper()
	pass := func(ctx context.Context, _ any, next graphql.Resolver) (any, error) { return next(ctx) }
	srv := handler.New(graph.NewExecutableSchema(graph.Config{
		Resolvers: &graph.Resolver{Hub: messages.NewHub(messages.HubOptions{}), Logger: slog.New(slog.DiscardHandler)},
		Directives: graph.DirectiveRoot{
			Public: pass,
			Auth:   pass,
			HasScope: func(ctx context.Context, _ any, next graphql.Resolver, _ string) (any, error) {
				return next(ctx)
			},
		},
	}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	mux := http.NewServeMux()
	mux.Handle("/graphql", srv)
	return cors.New(cors.Options{
		AllowedOrigins:   []string{"http://localhost:4040"},
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders:   []string{"Authorization", "Content-Type"},
		AllowCredentials: true,
		MaxAge:           86400,
	}).Handler(mux)
}

// benchRequest is one POST /graphql replayed without allocating a new
// request or recorder each time, so that the figures are the handler's.
type benchRequest struct {
	req  *http.Request
	body *bytes.Reader
	raw  []byte
	w    benchWriter
}

func newBenchRequest(body, authz string) *benchRequest {
	br := &benchRequest{raw: []byte(body), body: bytes.NewReader(nil)}
	br.req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1/graphql", nil)
	br.req.Header.Set("Accept", "application/json")
	br.req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		br.req.Header.Set("Authorization", authz)
	}
	br.req.ContentLength = int64(len(body))
	br.w.header = http.Header{}
	return br
}

// serve runs one request; the status and body are then in br.w.
func (br *benchRequest) serve(h http.Handler) {
	br.body.Reset(br.raw)
	br.req.Body = io.NopCloser(br.body)
	clear(br.w.header)
	br.w.status, br.w.out = 0, br.w.out[:0]
	h.ServeHTTP(&br.w, br.req)
	if br.w.status == 0 {
		br.w.status = http.StatusOK
	}
}

// benchWriter is an http.ResponseWriter that keeps the body in a reused
// buffer.
type benchWriter struct {
	header http.Header
	status int
	out    []byte
}

func (w *benchWriter) Header() http.Header { return w.header }
func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.out = append(w.out, p...)
	return len(p), nil
}
