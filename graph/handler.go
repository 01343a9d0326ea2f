package graph

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/demo"
	"github.com/authgql/server/messages"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxDepth         = 15   // the playground's introspection query needs 13
	DefaultMaxComplexity    = 1000 // gqlgen complexity: about one per field here
	DefaultMaxFields        = 500  // the introspection query selects about 200
	DefaultParserTokenLimit = 5000 // the introspection query has about 400 tokens
	DefaultQueryCacheSize   = 1000
)

// Options configures the GraphQL handler. Zero values mean the defaults.
type Options struct {
	Logger *slog.Logger // nil means discard
	// Introspection enables __schema and __type. The playground needs it;
	// production deployments may turn it off.
	Introspection bool

	MaxDepth         int // deepest field nesting
	MaxComplexity    int // gqlgen complexity (one per field unless the schema says more)
	MaxFields        int // fields per operation, aliases and fragment expansions included
	ParserTokenLimit int // lexer tokens per query document
	QueryCacheSize   int // parsed documents kept in an LRU cache
	// MaxBodyBytes caps a request body and a WebSocket message; 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Validator authenticates the credentials a WebSocket client sends in
	// connection_init (auth.Validator.Authenticate); required.
	Validator *auth.Validator
	// Hub carries sendMessage to messageSent subscribers; nil means a new
	// one with messages' defaults.
	Hub *messages.Hub
	// AllowedOrigins may open WebSocket connections besides the server's
	// own origin (CLIENT_ORIGIN_URL).
	AllowedOrigins []string
	WSInitTimeout  time.Duration // connection_init must arrive within it; 0 means DefaultWSInitTimeout
	WSKeepAlive    time.Duration // keep-alive/ping interval; 0 means DefaultWSKeepAlive
	WSConnections  int           // open WebSocket connections at most; 0 means DefaultWSConnections

	// Authz configures the operation pass (plan cache size, walk bound);
	// zero values mean authz's defaults.
	Authz authz.Options
}

// NewHandler returns the GraphQL endpoint, its body limits included. It
// refuses a schema that breaks default deny (see authz.CheckSchema). HTTP
// requests are authenticated outside it: wrap it in auth.Middleware, with
// WriteError as OnError, which puts the claims the directives read in the
// request context. WebSocket connections authenticate inside it, at
// connection_init, with Options.Validator (see initConnection).
func NewHandler(opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.MaxDepth, DefaultMaxDepth)
	setDefault(&opts.MaxComplexity, DefaultMaxComplexity)
	setDefault(&opts.MaxFields, DefaultMaxFields)
	setDefault(&opts.ParserTokenLimit, DefaultParserTokenLimit)
	setDefault(&opts.QueryCacheSize, DefaultQueryCacheSize)
	setDefault(&opts.WSInitTimeout, DefaultWSInitTimeout)
	setDefault(&opts.WSKeepAlive, DefaultWSKeepAlive)
	setDefault(&opts.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&opts.WSConnections, DefaultWSConnections)
	if opts.Hub == nil {
		opts.Hub = messages.NewHub(messages.HubOptions{})
	}
	if opts.Validator == nil {
		return nil, errors.New("graph: a validator is required")
	}
	if opts.MaxDepth < 0 || opts.MaxComplexity < 0 || opts.MaxFields < 0 || opts.ParserTokenLimit < 0 || opts.MaxBodyBytes < 0 {
		return nil, errors.New("graph: limits must not be negative")
	}

	policy, err := Policy()
	if err != nil {
		return nil, err
	}
	return newHandler(NewExecutableSchema(Config{
		Resolvers:  &Resolver{Hub: opts.Hub, Logger: opts.Logger, Demo: demo.New()},
		Directives: Directives(policy),
	}), opts)
}

func newHandler(es graphql.ExecutableSchema, opts Options) (http.Handler, error) {
	authorization, err := newAuthorization(es, opts) // authz.go
	if err != nil {
		return nil, err
	}

	ws, err := websocketTransport(opts)
	if err != nil {
		return nil, err
	}
	srv := handler.New(es)
	srv.AddTransport(transport.Options{AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions}})
	srv.AddTransport(ws)
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](opts.QueryCacheSize))
	srv.SetParserTokenLimit(opts.ParserTokenLimit)
	srv.SetValidationRulesFn(func() *rules.Rules { return validationRules(opts.Introspection) })
	srv.SetErrorPresenter(presentError(opts.Logger))
	srv.SetRecoverFunc(recoverPanic(opts.Logger))
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(webSocketSubscriptions{})
	// Order matters: the cheap, early-exiting walk runs before gqlgen's
	// complexity calculation, which walks the whole operation.
	srv.Use(operationLimits{maxDepth: opts.MaxDepth, maxFields: opts.MaxFields})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	// After validation and the limits, before any resolver: who may read
	// what, decided once per operation (authz.go).
	srv.Use(authorization)
	return limitBody(opts.MaxBodyBytes)(guardUpgrades(opts.AllowedOrigins, opts.WSConnections, srv)), nil
}

// validationRules are gqlparser's defaults with two changes. Its
// MaxIntrospectionDepth rule walks a fragment again at every spread, so a
// fragment bomb under __type costs exponential time before any of our
// limits run (22 levels, a 1 KiB request, took seconds); operationLimits
// enforces the same bound in one linear, early-exiting walk. And with
// introspection off, __schema and __type are refused at validation (422)
// instead of failing in their resolvers as internal errors.
func validationRules(introspection bool) *rules.Rules {
	r := rules.NewDefaultRules()
	r.RemoveRule(rules.MaxIntrospectionDepth.Name)
	if !introspection {
		r.AddRule("IntrospectionDisabled", func(o *core.Events, addError core.AddErrFunc) {
			o.OnField(func(_ *core.Walker, f *ast.Field) {
				if f.Name == "__schema" || f.Name == "__type" {
					addError(core.Message("introspection is disabled on this server (GRAPHQL_INTROSPECTION)"), core.At(f.Position))
				}
			})
		})
	}
	return r
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
